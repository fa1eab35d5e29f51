"""Replay check of a web capture inside a package: the WARC, the HAR and the environment record must agree.

The core verifier calls :func:`check_capture` when the manifest holds a ``capture/environment.json`` item.
Digests of the items themselves are the core verifier's business; this module checks that the capture's
records tell one consistent story: every HAR entry has its WARC response (same URL, status and payload
SHA-256) and no WARC response is missing from the HAR, the screenshot (or the downloaded file) is in the
package, and every artefact the environment record lists is an item with the digest it states.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..checks import CheckResult, Status
from ..errors import EvidenceError
from ..package.canonical import parse_json
from ..package.reader import PackageReader
from .model import ENVIRONMENT, FOLDER

MAX_RECORD_PAYLOAD = 1 << 30
"""Largest WARC payload hashed (a hostile WARC could announce anything)."""


def _items(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(i.get("name")): i for i in manifest.get("items", []) if isinstance(i, dict)}


def _member_json(reader: PackageReader, item: dict[str, Any] | None) -> Any:
    if item is None or not item.get("path"):
        return None
    return parse_json(reader.read(item["path"]))


def har_entries(log: Any) -> list[dict[str, Any]]:
    """The entries of a parsed HAR, each an object with object-valued ``request`` and ``response`` when
    present; ValueError naming the first entry that is not so (a HAR is the browser's, hence hostile)."""
    entries = log.get("log", {}).get("entries") if isinstance(log, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("log"), dict) or not isinstance(entries, list):
        raise ValueError("the HAR has no log.entries list")
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ValueError(f"HAR entry {n} is not an object")
        for key in ("request", "response"):
            if not isinstance(entry.get(key, {}), dict):
                raise ValueError(f"HAR entry {n}: {key} is not an object")
    return entries


def _warc_responses(reader: PackageReader, member: str) -> dict[str, tuple[str, int, str]]:
    """record id -> (target URI, HTTP status, payload SHA-256) of every response record."""
    from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]

    found: dict[str, tuple[str, int, str]] = {}
    with reader.open_member(member) as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            digest = hashlib.sha256()
            total = 0
            while chunk := record.raw_stream.read(1 << 16):
                total += len(chunk)
                if total > MAX_RECORD_PAYLOAD:
                    raise ValueError("a WARC payload exceeds the size limit")
                digest.update(chunk)
            status = int(record.http_headers.get_statuscode()) if record.http_headers else 0
            rid = record.rec_headers.get_header("WARC-Record-ID") or ""
            found[rid] = (record.rec_headers.get_header("WARC-Target-URI") or "", status, digest.hexdigest())
    return found


def _check_logs(reader: PackageReader, items: dict[str, dict[str, Any]]) -> CheckResult:
    name = "capture:warc-har"
    warc, har = items.get(f"{FOLDER}/page.warc.gz"), items.get(f"{FOLDER}/network.har")
    if warc is None or har is None:
        return CheckResult(name, Status.FAILED, "the capture lacks its WARC or its HAR", {})
    if not warc.get("path") or not har.get("path"):
        return CheckResult(
            name, Status.INDETERMINATE, "the WARC and HAR are not in the package (hash-only); cannot compare", {}
        )
    try:
        responses = _warc_responses(reader, warc["path"])
        entries = har_entries(_member_json(reader, har))
    except (EvidenceError, ValueError, KeyError, TypeError, OSError) as exc:
        return CheckResult(name, Status.FAILED, f"the WARC or the HAR cannot be read: {exc}", {})
    except Exception as exc:  # noqa: BLE001 - warcio raises assorted errors on a damaged archive
        return CheckResult(name, Status.FAILED, f"the WARC cannot be read: {type(exc).__name__}: {exc}", {})
    problems: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        rid = str(entry.get("_warcRecordId", ""))
        url = str(entry.get("request", {}).get("url", ""))
        status = entry.get("response", {}).get("status")
        rec = responses.get(rid)
        if rec is None:
            problems.append(f"HAR entry {url} has no WARC response record")
        elif rec != (url, status, entry.get("_sha256")):
            problems.append(f"{url}: WARC holds status {rec[1]} sha256 {rec[2][:16]}…, HAR says otherwise")
        seen.add(rid)
    extra = sorted(set(responses) - seen)
    if extra:
        problems.append(f"{len(extra)} WARC response(s) missing from the HAR, first {responses[extra[0]][0]}")
    facts = {"warc_responses": len(responses), "har_entries": len(entries)}
    if problems:
        return CheckResult(name, Status.FAILED, "; ".join(problems[:5]), {**facts, "problems": problems[:100]})
    return CheckResult(
        name,
        Status.PASSED,
        f"WARC and HAR hold the same {len(responses)} response(s) with the same SHA-256 payload digests",
        facts,
        reproduce="warcio check -v page.warc.gz; warcio index -f warc-target-uri,http:status,offset page.warc.gz",
    )


def _check_view(reader: PackageReader, items: dict[str, dict[str, Any]]) -> CheckResult:
    name = "capture:screenshot"
    shot = items.get(f"{FOLDER}/screenshot.png")
    downloads = [n for n in items if n.startswith(f"{FOLDER}/download/")]
    if shot is None:
        if downloads:
            return CheckResult(name, Status.PASSED, f"the URL was a download: {downloads[0]} is in the package", {})
        return CheckResult(name, Status.FAILED, "the capture holds no screenshot", {})
    if not shot.get("path"):
        return CheckResult(name, Status.INDETERMINATE, "the screenshot is not in the package (hash-only)", {})
    if shot["path"] not in reader.infos:
        return CheckResult(name, Status.FAILED, f"the screenshot member {shot['path']} is missing", {})
    with reader.open_member(shot["path"]) as f:
        head = f.read(8)
    if head != b"\x89PNG\r\n\x1a\n":
        return CheckResult(name, Status.FAILED, "the screenshot is not a PNG image", {})
    return CheckResult(name, Status.PASSED, "the full-page screenshot is in the package", {"size": shot.get("size")})


def _check_environment(env: Any, items: dict[str, dict[str, Any]]) -> CheckResult:
    name = "capture:environment"
    try:
        artefacts = env["artefacts"]
        url = env["capture"]["url"]
    except (KeyError, TypeError):
        return CheckResult(name, Status.FAILED, "the environment record lacks its artefacts or URL", {})
    wrong = [
        n
        for n, facts in artefacts.items()
        if n not in items or items[n].get("digests", {}).get("sha256") != facts.get("sha256")
    ]
    if wrong:
        return CheckResult(
            name, Status.FAILED, f"{len(wrong)} listed artefact(s) differ from the deposit: {', '.join(wrong[:5])}", {}
        )
    notes = env.get("notes") or []
    facts = {"url": url, "final_url": env["capture"].get("final_url"), "start": env["capture"].get("start")}
    detail = f"capture of {url}: the {len(artefacts)} artefact(s) the environment record lists are deposited"
    if notes:
        detail += f"; recorded as incomplete: {'; '.join(str(n) for n in notes[:3])}"
    return CheckResult(name, Status.PASSED, detail, {**facts, "notes": notes})


def check_capture(reader: PackageReader, manifest: dict[str, Any]) -> list[CheckResult]:
    """The replay checks of a web capture (``capture:environment``, ``capture:warc-har``,
    ``capture:screenshot``); never raises on hostile content, it reports FAILED instead."""
    items = _items(manifest)
    env_item = items.get(ENVIRONMENT)
    results: list[CheckResult] = []
    try:
        env = _member_json(reader, env_item)
    except (EvidenceError, ValueError, UnicodeDecodeError) as exc:
        env, error = None, str(exc)
    else:
        error = "the environment record is not in the package (hash-only)"
    if env is None:
        results.append(
            CheckResult(
                "capture:environment",
                Status.INDETERMINATE if env_item and not env_item.get("path") else Status.FAILED,
                error,
                {},
            )
        )
    else:
        results.append(_check_environment(env, items))
    results.append(_check_logs(reader, items))
    results.append(_check_view(reader, items))
    return results
