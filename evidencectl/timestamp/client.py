"""RFC 3161 over HTTP(S): a remote TSA as a :class:`TimestampAuthority`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import ServiceError, UsageError
from ..i18n import _
from .interface import TimestampAuthority

QUERY_TYPE = "application/timestamp-query"
"""Media type of a TimeStampReq (RFC 3161 §3.4)."""
REPLY_TYPE = "application/timestamp-reply"
"""Media type of a TimeStampResp."""
MAX_RESPONSE = 1 << 20
"""Largest response we read; real ones are a few KiB."""


class HttpTSA(TimestampAuthority):
    """A remote TSA reached by HTTP POST, TLS certificates verified."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10,
        retries: int = 2,
        auth: tuple[str, str] | None = None,
        cert: str | tuple[str, str] | None = None,
        policy: str | None = None,
        backoff: float = 0.5,
        hashes: tuple[str, ...] | None = None,
    ) -> None:
        """``auth``: HTTP basic credentials; ``cert``: TLS client certificate (file, or cert and key files);
        ``policy``: TSA policy OID to request; ``retries``: extra attempts after a network or 5xx failure;
        ``hashes``: the imprint algorithms the TSA accepts (None: any), so a deposit asks it only for those."""
        if not url.startswith(("http://", "https://")):
            raise UsageError(_("TSA URL must start with http:// or https://: {url}").format(url=url))
        self.name = url
        self.url = url
        self.timeout = timeout
        self.retries = max(0, retries)
        self.auth = auth
        self.cert = cert
        self.policy = policy
        self.backoff = backoff
        self.hashes = hashes

    def _post(self, body: bytes) -> bytes:
        """POST the request, retrying network errors and 5xx answers with exponential backoff."""
        import requests  # only remote TSAs need it; the embedded TSA is in-process

        failure = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                kwargs: dict[str, Any] = {"timeout": self.timeout, "verify": True, "stream": True}
                if self.auth:
                    kwargs["auth"] = self.auth
                if self.cert:
                    kwargs["cert"] = self.cert
                with requests.post(self.url, data=body, headers={"Content-Type": QUERY_TYPE}, **kwargs) as reply:
                    content = reply.raw.read(MAX_RESPONSE + 1, decode_content=True)
                    if reply.status_code >= 500:
                        failure = f"HTTP {reply.status_code} {reply.reason}"
                        continue
                    if reply.status_code != 200:
                        raise ServiceError(
                            _("TSA {url} answered HTTP {status_code} {reason}").format(
                                url=self.url, status_code=reply.status_code, reason=reply.reason
                            )
                        )
                    if len(content) > MAX_RESPONSE:
                        raise ServiceError(
                            _("TSA {url} answered more than {MAX_RESPONSE} bytes").format(
                                url=self.url, MAX_RESPONSE=MAX_RESPONSE
                            )
                        )
                    kind = reply.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    if kind != REPLY_TYPE:
                        raise ServiceError(
                            f"TSA {self.url} answered {kind or 'no content type'}, not {REPLY_TYPE}"
                            + (" (an HTML page: wrong URL?)" if "html" in kind else "")
                        )
                    return bytes(content)
            except requests.exceptions.SSLError as exc:
                raise ServiceError(
                    _("TSA {url}: TLS verification failed: {exc}").format(url=self.url, exc=exc)
                ) from exc
            except requests.RequestException as exc:
                failure = type(exc).__name__ + (f": {exc.args[0]}" if exc.args else "")
        raise ServiceError(
            _("TSA {url} unreachable after {value} attempts: {failure}").format(
                url=self.url, value=self.retries + 1, failure=failure
            )
        )

    def timestamp(self, digest: bytes, hash_name: str) -> bytes:
        """Request a token over ``digest`` and return the response once it checks out."""
        # Imported here: `tsa list` and the configuration readers below need none of the ASN.1 machinery.
        from .request import build_request, check_response, new_nonce

        nonce = new_nonce()
        try:
            body = build_request(digest, hash_name, nonce=nonce, policy=self.policy)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        response = self._post(body)
        check_response(response, digest=digest, hash_name=hash_name, nonce=nonce, source=self.url, policy=self.policy)
        _check_clock(response, self.url)
        return response


def _check_clock(response: bytes, url: str) -> None:
    """ServiceError when this machine's clock runs ahead of the TSA's by more than verification forgives: the
    statement's ``created`` comes from this clock, and a ``created`` after the genTime fails verification
    for ever (docs/security.md). Refusing now keeps the deposit pending instead of publishing that."""
    from datetime import UTC, datetime

    from ..verify.timecheck import TIME_TOLERANCE
    from .token import decode, info_of

    gen_time = info_of(decode(response)).gen_time
    ahead = datetime.now(UTC) - gen_time
    if ahead > TIME_TOLERANCE:
        raise ServiceError(
            _(
                "this machine's clock is {value} minutes ahead of TSA {url} (genTime {strftime}): a "
                "deposit dated by it would contradict its timestamp; set the clock right (NTP) and deposit "
                "again"
            ).format(value=int(ahead.total_seconds() // 60), url=url, strftime=gen_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
        )


def configured_tsas(ctx: Context) -> dict[str, dict[str, Any]]:
    """The ``[tsa.NAME]`` tables of the context's config.toml, by name."""
    section = ctx.config.section("tsa")
    return {name: value for name, value in section.items() if isinstance(value, dict)}


def http_tsa_from_config(url: str, settings: dict[str, Any]) -> HttpTSA:
    """An :class:`HttpTSA` from a ``[tsa.NAME]`` table of config.toml.

    Keys: ``url``; ``username`` and ``password_env`` (the name of the variable holding the password, never the
    password itself); ``client_cert`` and ``client_key`` (TLS client certificate files); ``policy`` (OID);
    ``timeout`` (seconds); ``retries``; ``hashes`` (the imprint algorithms it accepts, e.g. ``["sha256"]``).
    ``trust`` (a PEM file of the TSA's roots) is read by ``verify``.
    """
    import os

    auth = None
    if settings.get("username"):
        env = str(settings.get("password_env", ""))
        password = os.environ.get(env, "") if env else ""
        if env and not password:
            raise UsageError(
                _("TSA {url}: the password variable {env} named in config.toml is not set").format(url=url, env=env)
            )
        auth = (str(settings["username"]), password)
    cert: str | tuple[str, str] | None = None
    if settings.get("client_cert"):
        cert = (
            (str(settings["client_cert"]), str(settings["client_key"]))
            if settings.get("client_key")
            else str(settings["client_cert"])
        )
    return HttpTSA(
        url,
        timeout=float(settings.get("timeout", 10)),
        retries=int(settings.get("retries", 2)),
        auth=auth,
        cert=cert,
        policy=str(settings["policy"]) if settings.get("policy") else None,
        hashes=tuple(str(h) for h in settings["hashes"]) if isinstance(settings.get("hashes"), list) else None,
    )


def tsa_from_spec(spec: str, context: Context | Path, *, algorithm: str = "ecdsa-p256") -> TimestampAuthority:
    """``"local"`` -> the embedded TSA of the data directory ``context`` (a :class:`Context` or its path);
    a name or URL configured under ``[tsa.NAME]`` in its config.toml -> that TSA with its settings (a
    catalogue name there overrides its entry); a catalogue name (``freetsa``, ``digicert``…,
    :mod:`.catalogue`) -> that public TSA; any other ``http(s)://…`` -> :class:`HttpTSA` with defaults."""
    from .catalogue import CATALOGUE, catalogue_url

    ctx = Context.of(context)
    if spec == "local":
        from .authority import EmbeddedTSA

        return EmbeddedTSA.open(ctx, algorithm)
    for name, settings in configured_tsas(ctx).items():
        if spec in (name, settings.get("url")):
            if name in CATALOGUE:  # config overrides a catalogue entry key by key
                settings = {"url": catalogue_url(CATALOGUE[name]), "hashes": list(CATALOGUE[name].hashes), **settings}
            url = str(settings.get("url", ""))
            if not url.startswith(("http://", "https://")):
                raise UsageError(_('config.toml [tsa.{name}] needs url = "http(s)://…"').format(name=name))
            return http_tsa_from_config(url, settings)
    if spec in CATALOGUE:
        return HttpTSA(catalogue_url(CATALOGUE[spec]), hashes=CATALOGUE[spec].hashes)
    if spec.startswith(("http://", "https://")):
        return HttpTSA(spec)
    raise UsageError(
        _(
            "--tsa must be 'local', a public TSA's name ({join}; see 'evidencectl tsa list'), an "
            "http(s):// URL or a TSA named in config.toml, not {spec!r}"
        ).format(join=", ".join(CATALOGUE), spec=spec)
    )
