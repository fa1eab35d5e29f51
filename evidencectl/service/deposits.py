"""``POST /api/v1/deposits`` and ``GET /api/v1/deposits/{id}`` (with its package and certificate).

A deposit is made with the library's public ``deposit()`` in the server's data directory, on the services
its configuration names (``[service] tsa``, ``anchor``, ``tsa_quorum``; the embedded ones by default),
inside :func:`~evidencectl.registry.acting_as`, so that the registry records the deposit as the
authenticated user's and every custody entry it writes names them. Packages are published under
``service/deposits/`` of the data directory by the library's atomic publish: a server killed mid-way leaves
a staging file or nothing, never a half-written package under a package's name.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from ..context import Context
from ..errors import EvidenceError, ServiceError
from ..registry import Registry, User, acting_as
from .auth import Registries, authorize
from .forms import read_form
from .leftovers import DEPOSIT_CLAIM_SECONDS, holder, prefix
from .problems import Problem
from .settings import ServiceSettings
from .uploads import declared_length

PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"
TEXT_FIELDS = frozenset({"case", "depositor", "note", "hash_only"})
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _said(exc: EvidenceError) -> str:
    # One line, naming a file by its name only: the server's folders stay on the server.
    msg = " ".join(str(exc).split())
    return f"{Path(exc.path).name}: {msg}" if exc.path else msg


def deposit_urls(deposit_id: str) -> dict[str, str]:
    """Where a deposit's record, package and certificate are, relative to the service's root."""
    return {
        "package_url": f"/api/v1/deposits/{deposit_id}/package",
        "certificate_url": f"/api/v1/deposits/{deposit_id}/certificate.pdf",
    }


def _relative(ctx: Context, value: Any) -> Any:
    # The server's folders are none of the client's business: paths inside the data directory are given
    # relative to it.
    if isinstance(value, str) and Path(value).is_absolute() and Path(value).is_relative_to(ctx.base):
        return Path(value).relative_to(ctx.base).as_posix()
    return value


def _service_lists(ctx: Context) -> tuple[list[str], list[str], int]:
    section = ctx.config.section("service")
    tsas, anchors, quorum = (
        section.get("tsa", ["local"]),
        section.get("anchor", ["local"]),
        section.get("tsa_quorum", 1),
    )
    if isinstance(tsas, str):
        tsas = [tsas]
    if isinstance(anchors, str):
        anchors = [anchors]
    if not (isinstance(tsas, list) and isinstance(anchors, list) and isinstance(quorum, int)):
        raise Problem("internal", "[service] tsa and anchor must be lists of strings, tsa_quorum a number")
    return [str(t) for t in tsas], [str(a) for a in anchors], quorum


def _signing(ctx: Context, user: User) -> tuple[Any, bytes | None, tuple[bytes, ...]]:
    """The user's own signing identity, if they have one (``users key``); the passphrase comes from the
    environment variable that ``[service] key_passphrase_env`` names."""
    if user.sign_key is None:
        return None, None, ()
    from ..crypto.depositor import load_signing_chain

    env = ctx.config.section("service").get("key_passphrase_env")
    try:
        key, cert, chain = load_signing_chain(
            ctx, ctx.base / user.sign_key, env if isinstance(env, str) else None, None
        )
    except EvidenceError as exc:
        # The server's configuration, not the client's request, is wrong: said without the passphrase.
        raise Problem("internal", f"the signing key of {user.name!r} cannot be used: {_said(exc)}") from None
    return key, cert, tuple(chain)


def _make_deposit(
    settings: ServiceSettings, registry: Registry, user: User, fields: dict[str, str], files: list[Path]
) -> tuple[int, dict[str, Any]]:
    from .. import DepositOptions, deposit
    from ..registry.shared import claim, release

    ctx = settings.ctx
    flag = fields.get("hash_only", "").strip().lower()
    if flag not in _TRUE + _FALSE:
        raise Problem("invalid-request", "hash_only is true or false")
    tsas, anchors, quorum = _service_lists(ctx)
    key, cert, chain = _signing(ctx, user)
    out_dir = settings.deposits_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{secrets.token_hex(12)}.evp"  # ours, never the client's: no name to traverse with
    opts = DepositOptions(
        inputs=[str(f) for f in files],
        out=out,
        case=fields.get("case") or None,
        depositor=fields.get("depositor") or None,
        note=fields.get("note") or None,
        tsas=tsas,
        anchors=anchors,
        tsa_quorum=quorum,
        hash_only=flag in _TRUE,
        sign_key=key,
        sign_cert_der=cert,
        sign_chain_der=chain,
    )
    # The package's name is claimed while the deposit writes its staging file, so that no worker sweeping
    # leftovers (leftovers.py), here or on another machine, removes it meanwhile.
    key = f"package:{out.name}"
    try:
        claim(registry, key, holder(), DEPOSIT_CLAIM_SECONDS)
        try:
            with acting_as(f"api:{user.name}", owner=user):
                result = deposit(opts, ctx)
        finally:
            release(registry, key, holder())
    except ServiceError as exc:
        raise Problem("service-unavailable", _said(exc)) from None
    except EvidenceError as exc:
        raise Problem("invalid-request", _said(exc)) from None
    doc = {k: _relative(ctx, v) for k, v in result.to_json().items()} | deposit_urls(result.deposit_id)
    if files and isinstance(doc.get("warnings"), list):
        # A collector's warning names the file where the server spooled it: the client knows it by its name.
        spool = f"{files[0].parent}{os.sep}"
        doc["warnings"] = [w.replace(spool, "") if isinstance(w, str) else w for w in doc.get("warnings", [])]
    return (201 if result.status == "complete" else 202), doc


async def create_deposit(request: Request) -> Response:
    """``POST /api/v1/deposits``: a multipart form of ``files`` and ``case``, ``depositor``, ``note``,
    ``hash_only``; 201 with the ``deposit --json`` result, 202 while a service it needs is down."""
    settings: ServiceSettings = request.app.state.settings
    registries: Registries = request.app.state.registries
    # Who asks is settled before a byte of the body is read: a stranger cannot make the server spool.
    auth = request.headers.get("authorization")
    user = await run_in_threadpool(lambda: authorize(registries.get(), auth, ("depositor",)))
    form_type = request.headers.get("content-type", "")
    declared_length(request.headers.get("content-length"), settings.max_upload)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix("deposit"), dir=settings.upload_dir))  # named by its process
    try:
        form = await read_form(
            request.stream(),
            form_type,
            folder,
            limit=settings.max_upload,
            idle=settings.idle_timeout,
            total=settings.upload_timeout,
            text_fields=TEXT_FIELDS,
            file_field="files",
        )
        if not form.files:
            raise Problem("invalid-request", "send one or more files as 'files' parts (curl -F files=@FILE)")
        status, doc = await run_in_threadpool(
            lambda: _make_deposit(settings, registries.get(), user, form.fields, form.files)
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return JSONResponse(doc, status_code=status, headers={"Location": f"/api/v1/deposits/{doc['deposit_id']}"})


def visible_deposit(registry: Registry, auth: str | None, deposit_id: str) -> tuple[User, dict[str, Any]]:
    """The deposit row if the caller may see it (its owner, an auditor or an admin), else 404: a depositor
    cannot tell another's deposit from one that does not exist."""
    user = authorize(registry, auth, ("depositor", "auditor", "admin"))
    try:
        row = registry.deposit(deposit_id)
    except ServiceError as exc:
        raise Problem("service-unavailable", _said(exc)) from None
    # By user id, not name: a new user given a removed user's name is someone else (registry/accounts.py).
    if row is None or (user.role == "depositor" and (user.user_id is None or row.get("owner_id") != user.user_id)):
        raise Problem("not-found", f"no deposit {deposit_id[:40]!r} that this user may see")
    return user, row


def deposit_record(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    """What ``GET /api/v1/deposits/{id}`` answers: the registry's record of the deposit."""
    pending: list[dict[str, str]] = []
    if row["status"] == "pending" and row.get("pending"):
        pending = json.loads(row["pending"]).get("retry", [])
    return {
        "deposit_id": row["deposit_id"],
        "status": row["status"],
        "created": row["created"],
        "case": row["case_no"],
        "depositor": row["depositor"],
        "note": row["note"],
        "owner": row.get("owner"),
        "items": row["item_count"],
        "roots": json.loads(row["roots"]) if row.get("roots") else {},
        "pending": pending,
        "package": _relative(ctx, row["package"]) if row["status"] == "complete" else None,
    } | deposit_urls(row["deposit_id"])


async def get_deposit(request: Request) -> Response:
    """``GET /api/v1/deposits/{id}``: the deposit's record (its owner, an auditor or an admin)."""
    registries: Registries = request.app.state.registries
    auth, deposit_id = request.headers.get("authorization"), request.path_params["deposit_id"]
    _, row = await run_in_threadpool(lambda: visible_deposit(registries.get(), auth, deposit_id))
    return JSONResponse(deposit_record(request.app.state.settings.ctx, row))


def _complete_package(row: dict[str, Any]) -> Path:
    if row["status"] != "complete" or not row.get("package"):
        raise Problem("not-ready", f"deposit {row['deposit_id']} is {row['status']}; its package is not published")
    path = Path(row["package"])
    if not path.is_file():
        raise Problem("internal", f"the package of {row['deposit_id']} is missing from the server's disk")
    return path


async def get_package(request: Request) -> Response:
    """``GET /api/v1/deposits/{id}/package``: the ``.evp``, streamed from disk."""
    registries: Registries = request.app.state.registries
    auth, deposit_id = request.headers.get("authorization"), request.path_params["deposit_id"]
    _, row = await run_in_threadpool(lambda: visible_deposit(registries.get(), auth, deposit_id))
    path = _complete_package(row)
    return FileResponse(path, media_type=PACKAGE_TYPE, filename=f"{row['deposit_id']}.evp")


def _certificate(settings: ServiceSettings, row: dict[str, Any]) -> Path:
    """The deposit's certificate (存证证明), rendered from a verification of its package once and kept."""
    from ..crypto.trust import TrustStore
    from ..report import write_deposit_certificate

    package = _complete_package(row)
    cached = settings.certificates_dir / f"{row['deposit_id']}.pdf"
    if cached.is_file() and cached.stat().st_mtime >= package.stat().st_mtime:
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix(".cert"), suffix=".pdf", dir=cached.parent)
    os.close(fd)
    try:
        # force: the certificate states the verification's verdict whatever it is (a hash-only deposit
        # without its originals, a TSA root the server does not trust yet) rather than refusing.
        os.unlink(tmp)
        write_deposit_certificate(
            package, Path(tmp), lang="zh", fmt="pdf", force=True, trust=TrustStore.for_verification(settings.ctx)
        )
        os.replace(tmp, cached)  # two renderings at once: either whole file wins
    except EvidenceError as exc:
        raise Problem("internal", f"the certificate cannot be rendered: {_said(exc)}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return cached


async def get_certificate(request: Request) -> Response:
    """``GET /api/v1/deposits/{id}/certificate.pdf``: the deposit certificate, rendered once and cached."""
    registries: Registries = request.app.state.registries
    settings: ServiceSettings = request.app.state.settings
    auth, deposit_id = request.headers.get("authorization"), request.path_params["deposit_id"]
    _, row = await run_in_threadpool(lambda: visible_deposit(registries.get(), auth, deposit_id))
    path = await run_in_threadpool(_certificate, settings, row)
    return FileResponse(path, media_type="application/pdf", filename=f"{row['deposit_id']}.pdf")
