"""The verification page a certificate's QR code opens, ``/v/{id}?m={manifest-sm3}``, and the file check
``POST /api/v1/verify?deposit={id}&m={manifest-sm3}``.

The page reveals nothing the QR code does not carry but the deposit's status and proven time: an unknown
deposit number and a wrong or missing ``m`` get one and the same "no deposit matches" page, so neither the
case, the items nor even whether the number exists can be learnt from a number alone (deposit numbers
appear in court papers; the manifest digest is only on the certificate). Only an uploaded package or file
brings more, and only about what was uploaded: the package's own verification, or the names of the
deposit's items that have exactly the uploaded file's SM3 and SHA-256.

The manifest digest and proven time come from the server's own copy of the package (the registry's
``package``), verified once with the server's trust store and remembered per worker while the file is
unchanged. A deposit whose package the server no longer has cannot be matched (the server's log says why).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..context import Context
from ..errors import EvidenceError, ServiceError
from .auth import Registries
from .formfile import Digests, digests_of, extract_file
from .pagehtml import HEADERS, View, error_page, file_section, no_match, package_section, page_url, pick_lang, render
from .problems import Problem
from .uploads import declared_length, save_stream

log = logging.getLogger("evidencectl.service")
_HEX64 = re.compile(r"[0-9a-f]{64}")
PACKAGE_NAME, FILE_NAME, BODY_NAME = "upload.evp", "upload.bin", "form.body"


@dataclass(frozen=True)
class Known:
    """A deposit the link names correctly: its registry row and what its stored package proves."""

    row: dict[str, Any]
    manifest_sm3: str
    proven_time: str | None
    stored_verdict: str
    """The verdict of the server's own copy (PASSED unless someone altered the file the server keeps)."""


class StoredCopies:
    """Manifest digest and proven time of the server's own packages, remembered while a file is unchanged.

    The digest is remembered whatever ``m`` a request brings, so that wrong links cost no more than a stat
    (a large deposit's manifest is tens of megabytes)."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._sm3: dict[tuple[str, int, int], str] = {}
        self._proven: dict[tuple[str, int, int], tuple[str | None, str]] = {}
        self._lock = threading.Lock()

    def _remember(self, table: dict[tuple[str, int, int], Any], key: tuple[str, int, int], value: Any) -> None:
        with self._lock:
            if len(table) >= self.LIMIT:
                table.clear()
            table[key] = value

    def manifest_sm3(self, path: Path) -> tuple[tuple[str, int, int], str]:
        """The cache key of the file as it is now, and the SM3 of its manifest.json."""
        from ..package.reader import PackageReader

        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        sm3 = self._sm3.get(key)
        if sm3 is None:
            with PackageReader(path) as reader:
                sm3 = hashlib.new("sm3", reader.read("manifest.json")).hexdigest()
            self._remember(self._sm3, key, sm3)
        return key, sm3

    def verified(self, ctx: Context, key: tuple[str, int, int]) -> tuple[str | None, str]:
        """Proven time and verdict of the package at ``key``, verified with the server's trust store."""
        known = self._proven.get(key)
        if known is not None:
            return known
        from ..crypto.trust import TrustStore
        from ..verify.verifier import verify_package

        report = verify_package(Path(key[0]), trust=TrustStore.for_verification(ctx))
        self._remember(self._proven, key, (report.proven_time, report.verdict.value))
        return report.proven_time, report.verdict.value


def find(registries: Registries, copies: StoredCopies, deposit_id: str, m: str | None) -> Known | None:
    """The deposit ``deposit_id`` if ``m`` is its manifest's SM3, else None (blocking: a worker thread)."""
    m = (m or "").strip().lower()
    if not _HEX64.fullmatch(m) or len(deposit_id) > 128 or not deposit_id.isprintable():
        return None  # no registry is asked about a NUL or a kilobyte-long number (PostgreSQL text holds no NUL)
    try:
        row = registries.get().deposit(deposit_id)
    except ServiceError as exc:
        raise Problem("service-unavailable", " ".join(str(exc).split())) from None
    if row is None or not row.get("package") or row.get("status") != "complete":
        return None
    path = Path(str(row["package"]))
    try:
        key, sm3 = copies.manifest_sm3(path)
    except (OSError, EvidenceError) as exc:
        log.warning("deposit %s: its package %s cannot be read (%s)", deposit_id, path, exc)
        return None
    if not hmac.compare_digest(sm3, m):
        return None
    return Known(row, sm3, *copies.verified(registries.ctx, key))


def matching_items(registries: Registries, deposit_id: str, digests: Digests) -> list[dict[str, Any]]:
    """The deposit's items whose SM3 and SHA-256 are both the file's."""
    try:
        items = registries.get().items(deposit_id)
    except ServiceError as exc:
        raise Problem("service-unavailable", " ".join(str(exc).split())) from None
    return [
        {k: i[k] for k in ("item_id", "name", "kind", "size")}
        for i in items
        if i["sm3"] == digests.sm3 and i["sha256"] == digests.sha256
    ]


def _verify_upload(ctx: Context, path: Path) -> tuple[str, str, list[dict[str, str]]]:
    # The uploaded package verified as `verify` in this data directory: verdict, manifest SM3, the checks.
    from ..config import require_independent_default
    from ..crypto.trust import TrustStore
    from ..package.reader import PackageReader
    from ..verify.verifier import verify_package

    report = verify_package(
        path, trust=TrustStore.for_verification(ctx), require_independent=require_independent_default(ctx.config)
    )
    try:
        with PackageReader(path) as reader:
            sm3 = hashlib.new("sm3", reader.read("manifest.json")).hexdigest()
    except EvidenceError:
        sm3 = ""
    checks = [{"check": c.check, "status": c.status.value, "detail": c.detail} for c in report.checks]
    return report.verdict.value, sm3, checks


async def _known(request: Request, deposit_id: str, m: str | None) -> Known | None:
    state = request.app.state
    return await run_in_threadpool(find, state.registries, state.stored_copies, deposit_id, m)


async def _spool(request: Request, name: str) -> Path:
    settings = request.app.state.settings
    await run_in_threadpool(request.app.state.verify_limit.check, request.client.host if request.client else "?")
    declared_length(request.headers.get("content-length"), settings.max_upload)
    return await save_stream(request.stream(), settings.upload_dir, name, settings.max_upload, settings.idle_timeout)


def _html(body: str, status: int = 200) -> Response:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


async def page(request: Request) -> Response:
    """``GET /v/{id}?m=…[&lang=zh|en]``: the page; ``POST`` with a form holding ``package`` or ``file``: the same
    page with the result of checking that upload."""
    lang = pick_lang(request.query_params.get("lang"), request.headers.get("accept-language"))
    deposit_id, m = request.path_params["deposit_id"], request.query_params.get("m")
    known = await _known(request, deposit_id, m)
    if known is None:
        return _html(no_match(lang), 404)
    view = View(lang, deposit_id, known.manifest_sm3, str(known.row["status"]), known.proven_time,
                known.stored_verdict)  # fmt: skip
    if request.method == "POST":
        try:
            view.sections.append(await _check_upload(request, lang, known))
        except Problem as exc:
            return _html(error_page(lang, exc.detail, page_url(deposit_id, known.manifest_sm3, lang)), exc.status)
    return _html(render(view))


async def _check_upload(request: Request, lang: str, known: Known) -> str:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise Problem("unsupported-media-type", "post the page's form (multipart/form-data)")
    body = await _spool(request, BODY_NAME)
    try:
        part = await run_in_threadpool(extract_file, body, content_type, FILE_NAME)
        if part.field == "package":
            path = part.path.rename(part.path.with_name(PACKAGE_NAME))
            try:
                verdict, sm3, checks = await run_in_threadpool(_verify_upload, request.app.state.settings.ctx, path)
            except EvidenceError as exc:
                detail = " ".join(str(exc).split()).replace(str(path), part.filename)
                raise Problem("unprocessable-package", detail) from None
            return package_section(lang, hmac.compare_digest(sm3, known.manifest_sm3), verdict, checks)
        registries = request.app.state.registries
        found = await run_in_threadpool(matching_items, registries, known.row["deposit_id"], part.digests)
        d = part.digests
        return file_section(lang, part.filename, d.size, d.sm3, d.sha256, [str(i["name"]) for i in found])
    finally:
        shutil.rmtree(body.parent, ignore_errors=True)  # the request's private spool folder, all of it


async def check_file(request: Request) -> Response:
    """``POST /api/v1/verify?deposit={id}&m={manifest-sm3}``: is the posted file (the body itself, or the file
    of a multipart form) one of the deposit's items? 404 unless ``m`` is that deposit's manifest SM3."""
    deposit_id, m = request.query_params.get("deposit", ""), request.query_params.get("m")
    if m is None:
        raise Problem("invalid-request", "give m=<manifest SM3> with deposit= (both are on the certificate's QR code)")
    known = await _known(request, deposit_id, m)
    if known is None:
        raise Problem("not-found", "no deposit matches this deposit number and manifest SM3")
    content_type = request.headers.get("content-type", "")
    multipart = content_type.lower().startswith("multipart/form-data")
    body = await _spool(request, BODY_NAME if multipart else FILE_NAME)
    try:
        if multipart:
            digests = (await run_in_threadpool(extract_file, body, content_type, FILE_NAME)).digests
        else:
            digests = await run_in_threadpool(digests_of, body)
        found = await run_in_threadpool(matching_items, request.app.state.registries, deposit_id, digests)
    finally:
        shutil.rmtree(body.parent, ignore_errors=True)
    file = {"size": digests.size, "sm3": digests.sm3, "sha256": digests.sha256}
    return JSONResponse({"deposit_id": deposit_id, "file": file, "belongs": bool(found), "matches": found})


def install(app: Any) -> None:
    """Add the page's route and what it keeps to a Starlette application (called by ``create_app``)."""
    app.router.routes.append(Route("/v/{deposit_id}", page, methods=["GET", "POST"]))
    app.state.stored_copies = StoredCopies()
