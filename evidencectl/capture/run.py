"""``capture``: record a web page with a real browser and deposit the record as one evidence package."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import progress as progress_hooks
from ..context import Context
from ..deposit import DepositOptions, DepositResult, SourceOptions, deposit
from ..errors import BadInputError, UsageError
from ..i18n import _
from ..package.writer import check_output
from .archive import build_har, headers_record, write_warc
from .browser import run_browser
from .environment import clock_check, environment_record, iso_now
from .model import FOLDER, CaptureOptions
from .network import dns_answers, tls_record

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class CaptureResult:
    """What a capture produced."""

    deposit: DepositResult
    """The deposit of the capture folder (package, roots, timestamps, anchors)."""
    artefacts: list[str]
    """Item names of the artefacts, e.g. ``capture/screenshot.png``."""
    notes: list[str] = field(default_factory=list)
    """Why the capture is not complete (timeout, pending requests, TLS error ignored)."""
    final_url: str = ""
    """The page's URL after redirects."""

    def to_json(self) -> dict[str, Any]:
        """JSON form (the deposit result plus the capture's own facts)."""
        return {
            **self.deposit.to_json(),
            "capture": {"artefacts": self.artefacts, "notes": self.notes, "final_url": self.final_url},
        }


def _dump(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(_("capture needs an http:// or https:// URL, not {url!r}").format(url=url))


def capture(
    opts: CaptureOptions, context: Context | Path, progress: progress_hooks.ByteCallback | None = None
) -> CaptureResult:
    """Capture ``opts.url`` and deposit every artefact as items ``capture/…`` of one package, in the data
    directory ``context`` (a :class:`~evidencectl.context.Context` or its path).

    Raises UsageError (exit 2) for a bad URL or an existing output, BadInputError (exit 4) for an unreachable
    host, a refused TLS certificate (without ``insecure``) or a page that yields nothing, ServiceError (exit 5)
    when the browser, the TSA or an anchor fails. Nothing reaches ``opts.out`` unless the whole capture was
    recorded; a deposit left pending by a service keeps everything in its staging file. ``progress`` hears
    each of :data:`~evidencectl.capture.model.STAGES` as a phase, and the deposit's bytes.
    """
    ctx = Context.of(context)
    _check_url(opts.url)
    opts.services.check()
    check_output(opts.out, opts.force)
    with tempfile.TemporaryDirectory(prefix="evidencectl-capture-") as tmp:
        work = Path(tmp)
        folder = work / FOLDER
        folder.mkdir()
        progress_hooks.phase(progress, "launching")
        start = iso_now()
        clock, clock_tsr = clock_check(opts.services.tsas[0] if opts.services.tsas else "local", ctx, opts.url, start)
        tls = tls_record(opts.url, timeout=min(opts.timeout, 10.0)) if opts.url.startswith("https:") else None
        bc = run_browser(opts, work / "browser", progress)
        end = iso_now()
        if tls is not None and not tls.verified and tls.chain_pem:
            bc.notes.append(f"TLS certificate not trusted ({tls.error}); captured because of --insecure")
        if not bc.exchanges and bc.download is None and bc.screenshot is None:
            raise BadInputError(
                _("nothing could be captured from {url}: {join}").format(url=opts.url, join="; ".join(bc.notes))
            )
        files: dict[str, bytes] = {"clock.tsr": clock_tsr}
        if bc.screenshot is not None:
            files["screenshot.png"] = bc.screenshot
        if bc.mhtml is not None:
            files["page.mhtml"] = bc.mhtml
        if bc.pdf is not None:
            files["page.pdf"] = bc.pdf
        if bc.video is not None:
            files["video.webm"] = bc.video
        if bc.download is not None:
            name = _SAFE_NAME.sub("_", Path(bc.download[0]).name).strip("._") or "download.bin"
            files[f"download/{name}"] = bc.download[1]
        progress_hooks.phase(progress, "archiving")
        info = {"software": "evidencectl", "format": "WARC File Format 1.1", "isPartOf": opts.url}
        warc_path = folder / "page.warc.gz"
        with open(warc_path, "wb") as fh:
            ids = write_warc(fh, bc.exchanges, info)
        files["network.har"] = _dump(build_har(bc.exchanges, ids, opts.url, start, bc.browser_version))
        files["headers.json"] = _dump(headers_record(bc.exchanges))
        hosts = [urlsplit(ex.url).hostname or "" for ex in bc.exchanges] + [urlsplit(opts.url).hostname or ""]
        files["dns.json"] = _dump(dns_answers([h for h in hosts if h]))
        if tls is not None and tls.chain_pem:
            files["tls-chain.pem"] = tls.chain_pem
        for name, data in files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        files["page.warc.gz"] = warc_path.read_bytes()
        artefacts = {
            f"{FOLDER}/{name}": {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        }
        record = environment_record(opts, bc, tls, clock, start, end, artefacts)
        (folder / "environment.json").write_bytes(_dump(record))
        sources = SourceOptions(inputs=(str(folder),))
        options = DepositOptions.of(opts.out, sources, opts.statement, opts.services, force=opts.force)
        result = deposit(options, ctx, progress)
    names = sorted([*artefacts, f"{FOLDER}/environment.json"])
    return CaptureResult(result, names, list(bc.notes), bc.final_url)
