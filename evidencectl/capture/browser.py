"""Drive headless Chromium through Playwright and record what it received and rendered."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import BadInputError, ServiceError, UsageError
from ..i18n import _
from ..progress import ByteCallback, phase
from .model import BrowserCapture, CaptureOptions, Exchange

# Flags that keep the browser from talking to anything but the page: no updates, sync or QUIC
# (QUIC would bypass the HTTP/1.1 and HTTP/2 stack whose raw headers are recorded).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
_NET_ERROR = re.compile(r"net::(ERR_[A-Z_]+)")
# Errors that mean the certificate or the TLS handshake was refused, not that the host is unreachable.
_TLS_ERRORS = ("ERR_CERT_", "ERR_SSL_", "ERR_BAD_SSL_")


def _iso_ms(epoch_ms: float) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _net_error(message: str) -> str:
    m = _NET_ERROR.search(message)
    return m.group(1) if m else message.splitlines()[0][:200]


def _download_exchange(download: Any, body: bytes, seen: dict[str, Any]) -> Exchange | None:
    # A download never reaches the page, so Playwright reports no response for it; DevTools saw the
    # status line and headers (CDP merges repeated headers with a newline, split back here).
    response = seen.get(download.url)
    if response is None:
        return None
    headers = [(k, part) for k, v in response.get("headers", {}).items() for part in str(v).split("\n")]
    return Exchange(
        url=download.url,
        method="GET",
        status=int(response.get("status", 0)),
        status_text=str(response.get("statusText", "")),
        protocol=str(response.get("protocol") or "http/1.1"),
        request_headers=[],
        response_headers=headers,
        body=body,
        # DevTools times are monotonic, not wall-clock: the moment the download began stands in.
        started=seen.get(f"{download.url}\x00started", _iso_ms(datetime.now(UTC).timestamp() * 1000)),
        timing={},
        server_ip=response.get("remoteIPAddress"),
        server_port=response.get("remotePort"),
        resource_type="download",
    )


def _exchange(request: Any, protocols: dict[str, str]) -> Exchange | None:
    response = request.response()
    if response is None:
        return None
    try:
        body = response.body()
    except Exception:  # noqa: BLE001 - redirects and bodiless responses have no payload to give
        body = b""
    timing = dict(request.timing)
    addr = response.server_addr() or {}
    return Exchange(
        url=request.url,
        method=request.method,
        status=response.status,
        status_text=response.status_text,
        protocol=protocols.get(request.url, "http/1.1"),
        request_headers=[(h["name"], h["value"]) for h in request.headers_array()],
        response_headers=[(h["name"], h["value"]) for h in response.headers_array()],
        body=body,
        started=_iso_ms(float(timing.pop("startTime", 0.0))),
        timing={k: float(v) for k, v in timing.items()},
        server_ip=addr.get("ipAddress"),
        server_port=addr.get("port"),
        resource_type=request.resource_type,
    )


def _scroll(page: Any, deadline_ms: float) -> None:
    # Step by one viewport so that lazy images and infinite lists fetch their content.
    page.evaluate(
        """async (limit) => {
            const end = Date.now() + limit;
            let last = -1;
            while (Date.now() < end && window.scrollY !== last) {
                last = window.scrollY;
                window.scrollBy(0, window.innerHeight);
                await new Promise(r => setTimeout(r, 150));
            }
            window.scrollTo(0, 0);
        }""",
        deadline_ms,
    )


def _video_tools(workdir: Path) -> Path | None:
    """A Playwright browsers folder whose ffmpeg is the system's, or None when Playwright has its own.

    Playwright records video with an ffmpeg it downloads itself; where downloads are unavailable the
    system's ffmpeg (Debian package ``ffmpeg``) is put where Playwright looks for it.
    """
    import json

    import playwright

    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(b["revision"] for b in json.loads(browsers.read_text())["browsers"] if b["name"] == "ffmpeg")
    cached = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    if (cached / f"ffmpeg-{revision}" / "ffmpeg-linux").exists():
        return None
    system = shutil.which("ffmpeg")
    if system is None:
        raise UsageError(_("--video needs ffmpeg (apt-get install ffmpeg)"))
    root = workdir / "playwright-browsers"
    (root / f"ffmpeg-{revision}").mkdir(parents=True, exist_ok=True)
    (root / f"ffmpeg-{revision}" / "ffmpeg-linux").symlink_to(system)
    return root


@contextlib.contextmanager
def _driver_env(browsers: Path | None) -> Iterator[None]:
    # The Playwright driver copies os.environ when it starts; the override lasts only for that start.
    if browsers is None:
        yield
        return
    old = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    os.environ["PLAYWRIGHT_BROWSERS_PATH"] = str(browsers)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PLAYWRIGHT_BROWSERS_PATH", None)
        else:
            os.environ["PLAYWRIGHT_BROWSERS_PATH"] = old


def run_browser(opts: CaptureOptions, workdir: Path, progress: ByteCallback | None = None) -> BrowserCapture:
    """Open ``opts.url`` in a fresh headless Chromium profile and record the page and its traffic.

    Raises BadInputError (exit 4) for an unreachable host or, without ``insecure``, a TLS error;
    ServiceError (exit 5) when the browser cannot be started.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    out = BrowserCapture()
    timeout_ms = max(opts.timeout, 1.0) * 1000
    video_dir = workdir / "video"
    workdir.mkdir(parents=True, exist_ok=True)
    tools = _video_tools(workdir) if opts.video else None
    with _driver_env(tools):
        manager = sync_playwright()
        pw = manager.start()
    try:
        try:
            ctx = pw.chromium.launch_persistent_context(
                str(workdir / "profile"),
                executable_path=opts.browser,
                headless=True,
                args=FLAGS,
                ignore_https_errors=opts.insecure,
                accept_downloads=True,
                viewport=VIEWPORT,  # type: ignore[arg-type]
                # Asking for unencoded bodies lets the WARC hold the payload exactly as the server sent it
                # (the browser only exposes bodies after decoding them).
                extra_http_headers={"Accept-Encoding": "identity"},
                record_video_dir=str(video_dir) if opts.video else None,
                timeout=60_000,
            )
        except PlaywrightError as exc:
            raise ServiceError(
                _("cannot start Chromium ({net_error}); run scripts/install-browser.sh").format(
                    net_error=_net_error(str(exc))
                ),
                path=opts.browser,
            ) from exc
        try:
            _session(ctx, opts, out, timeout_ms, (PlaywrightError, PlaywrightTimeout), progress)
        finally:
            page_video = ctx.pages[0].video if ctx.pages and opts.video else None
            ctx.close()
        if page_video is not None:
            try:
                out.video = Path(page_video.path()).read_bytes()
            except (PlaywrightError, OSError) as exc:
                out.notes.append(f"video could not be saved: {_net_error(str(exc))}")
    finally:
        pw.stop()
    return out


def _session(
    ctx: Any, opts: CaptureOptions, out: BrowserCapture, timeout_ms: float, errors: Any, progress: ByteCallback | None
) -> None:
    pw_error, pw_timeout = errors
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.set_default_timeout(timeout_ms)
    started: list[Any] = []
    finished: list[Any] = []
    failed: list[Any] = []
    downloads: list[Any] = []
    protocols: dict[str, str] = {}
    seen: dict[str, Any] = {}
    # Playwright wraps handlers by setting an attribute, which bound builtins (list.append) refuse.
    page.on("request", lambda r: started.append(r))
    page.on("requestfinished", lambda r: finished.append(r))
    page.on("requestfailed", lambda r: failed.append(r))
    page.on("download", lambda d: downloads.append(d))
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on(
        "Network.responseReceived",
        lambda e: protocols.__setitem__(e["response"]["url"], e["response"].get("protocol") or "http/1.1"),
    )
    cdp.on("Network.responseReceived", lambda e: seen.__setitem__(e["response"]["url"], e["response"]))
    page.on(
        "download",
        lambda d: seen.__setitem__(f"{d.url}\x00started", _iso_ms(datetime.now(UTC).timestamp() * 1000)),
    )
    version = cdp.send("Browser.getVersion")
    out.browser_version, out.user_agent = version.get("product", ""), version.get("userAgent", "")
    main = None
    phase(progress, "loading")
    try:
        main = page.goto(opts.url, wait_until="load", timeout=timeout_ms)
    except pw_timeout:
        out.notes.append(f"the page did not finish loading within {opts.timeout:g} s; recorded as it was")
    except pw_error as exc:
        code = _net_error(str(exc))
        if downloads or "Download is starting" in str(exc):
            page.wait_for_timeout(100)
        elif code.startswith(_TLS_ERRORS):
            raise BadInputError(
                _(
                    "TLS error {code} at {url}; nothing was deposited (rerun with --insecure to capture "
                    "anyway, the error is then recorded)"
                ).format(code=code, url=opts.url)
            ) from exc
        else:
            raise BadInputError(_("cannot reach {url}: {code}").format(url=opts.url, code=code)) from exc
    if downloads:
        _take_download(downloads[0], out, pw_error)
        # The browser aborts the navigation to hand the response to the download manager: not a failure.
        failed = [r for r in failed if r.url != downloads[0].url]
        started = [r for r in started if r.url != downloads[0].url]
        if out.download is not None:
            exchange = _download_exchange(downloads[0], out.download[1], seen)
            if exchange is not None:
                out.exchanges.append(exchange)
    else:
        phase(progress, "waiting")
        _settle(page, opts, out, timeout_ms, pw_error, pw_timeout)
        phase(progress, "screenshot")
        _render(page, cdp, out, pw_error)
    out.final_url = main.url if main is not None else page.url
    if main is not None:
        try:
            out.security = main.security_details()
        except pw_error:
            out.security = None
    for request in finished:
        exchange = _exchange(request, protocols)
        if exchange is not None:
            out.exchanges.append(exchange)
    for request in failed:
        out.incomplete.append({"url": request.url, "state": "failed", "error": request.failure or ""})
    done = {id(r) for r in finished} | {id(r) for r in failed}
    for request in started:
        if id(request) not in done:
            out.incomplete.append({"url": request.url, "state": "pending", "error": ""})
    pending = [i["url"] for i in out.incomplete if i["state"] == "pending"]
    if pending:
        out.notes.append(f"{len(pending)} request(s) had not finished when the page was recorded")
    if failed:
        out.notes.append(f"{len(failed)} request(s) failed: first {failed[0].url} ({failed[0].failure})")


def _settle(
    page: Any, opts: CaptureOptions, out: BrowserCapture, timeout_ms: float, pw_error: Any, pw_timeout: Any
) -> None:
    if opts.scroll:
        try:
            _scroll(page, timeout_ms / 2)
        except pw_error as exc:
            out.notes.append(f"scrolling stopped: {_net_error(str(exc))}")
    if opts.wait_for:
        try:
            page.wait_for_selector(opts.wait_for, timeout=timeout_ms)
        except pw_timeout:
            out.notes.append(f"selector {opts.wait_for!r} did not appear within {opts.timeout:g} s")
        except pw_error as exc:
            out.notes.append(f"selector {opts.wait_for!r} could not be awaited: {_net_error(str(exc))}")
    # A short quiet period lets scripts that run just after load finish their requests.
    with contextlib.suppress(pw_error):
        page.wait_for_load_state("networkidle", timeout=min(timeout_ms, 1500))


def _render(page: Any, cdp: Any, out: BrowserCapture, pw_error: Any) -> None:
    try:
        out.screenshot = page.screenshot(full_page=True)
    except pw_error as exc:
        out.notes.append(f"no screenshot: {_net_error(str(exc))}")
    try:
        out.mhtml = cdp.send("Page.captureSnapshot", {"format": "mhtml"})["data"].encode("utf-8")
    except pw_error as exc:
        out.notes.append(f"no MHTML snapshot: {_net_error(str(exc))}")
    try:
        out.pdf = page.pdf(print_background=True)
    except pw_error as exc:
        out.notes.append(f"no PDF print: {_net_error(str(exc))}")


def _take_download(download: Any, out: BrowserCapture, pw_error: Any) -> None:
    try:
        path = download.path()
        out.download = (download.suggested_filename or "download.bin", Path(path).read_bytes())
    except (pw_error, OSError) as exc:
        out.notes.append(f"the download could not be saved: {_net_error(str(exc))}")
        return
    out.notes.append("the URL is not a page: its content was captured as a file download")
