"""DKIM and ARC checks of a deposited message (dkimpy), recording the exact key record used.

Outcomes are ``pass``, ``fail`` (with the reason) or ``not checked`` (the key cannot be had: offline,
no DNS, selector retired). A missing key is never a ``fail``: selectors of old mail are routinely
removed, and that says nothing about the message. The TXT record that decided a check is stored in the
metadata, so it is covered by the timestamp and the check can be repeated years later without DNS.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BadInputError
from ..i18n import _

# DNS must fail fast: a deposit of a thousand mails must not wait a thousand timeouts.
DNS_TIMEOUT = 2
_LOG = logging.getLogger("evidencectl.collect.mailauth")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False

_ZONE_LINE = re.compile(r"^(?P<name>[A-Za-z0-9._-]+\.?)\s+(?:\d+\s+)?(?:IN\s+)?TXT\s+(?P<rest>.+)$", re.IGNORECASE)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class KeyUnavailable(Exception):
    """Raised inside the DNS callback when a key cannot be had; turns into ``not checked``."""


def load_dkim_keys(path: Path) -> dict[str, bytes]:
    """Read DKIM key records from a zone-file style text file.

    Lines look like ``sel._domainkey.example.com. IN TXT "k=rsa; p=MIIB..."``; the value may be split
    into several quoted strings, which are concatenated (RFC 6376 §3.6.2.2). Blank lines and lines
    starting with ``;`` or ``#`` are skipped. Names are returned with a trailing dot. Raises
    :class:`BadInputError` naming the file and line for anything else.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(_("cannot read DKIM key file: {exc}").format(exc=exc), path=path) from exc
    keys: dict[str, bytes] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#")):
            continue
        m = _ZONE_LINE.match(stripped)
        strings = _QUOTED.findall(m.group("rest")) if m else []
        leftover = _QUOTED.sub("", m.group("rest")).strip() if m else ""
        if m is None or not strings or (leftover and not leftover.startswith(";")):
            raise BadInputError(
                _('line {lineno}: not a TXT record (name IN TXT "value")').format(lineno=lineno), path=path
            )
        name = m.group("name").lower()
        if not name.endswith("."):
            name += "."
        value = "".join(re.sub(r"\\(.)", r"\1", s) for s in strings)
        keys[name] = value.encode("utf-8")
    return keys


class _KeySource:
    """The DNS callback handed to dkimpy: supplied keys first, then (unless offline) a fast DNS query."""

    def __init__(self, keys: Mapping[str, bytes] | None, offline: bool) -> None:
        self.keys = {k.lower().rstrip(".") + ".": v for k, v in (keys or {}).items()}
        self.offline = offline
        self.used: dict[str, dict[str, str]] = {}

    def __call__(self, name: bytes, timeout: int = DNS_TIMEOUT) -> bytes:
        qname = name.decode("ascii", "replace").lower()
        qname = qname if qname.endswith(".") else qname + "."
        if qname in self.keys:
            return self._record(qname, self.keys[qname], "supplied")
        if self.offline:
            raise KeyUnavailable(f"no key supplied for {qname} and DNS is off (offline)")
        return self._record(qname, _dns_txt(name, qname, min(timeout, DNS_TIMEOUT)), "dns")

    def _record(self, qname: str, txt: bytes, source: str) -> bytes:
        self.used[qname] = {"name": qname, "txt": txt.decode("utf-8", "replace"), "source": source}
        return txt


# Answers (or failures) already had in this process, and until when the resolver is taken as dead after
# a timeout: a deposit of a whole mailbox asks for the same few selectors, and must not wait on each.
_DNS_CACHE: dict[str, bytes | str] = {}
_DNS_DEAD_UNTIL = [0.0]
_DNS_CACHE_MAX = 4096
_DNS_DEAD_SECONDS = 60.0


def _dns_txt(name: bytes, qname: str, timeout: int) -> bytes:
    cached = _DNS_CACHE.get(qname)
    if cached is None and time.monotonic() < _DNS_DEAD_UNTIL[0]:
        cached = "DNS resolver did not answer a moment ago; not asked again"
    if cached is None:
        try:
            from dkim import dnsplug  # type: ignore[import-untyped]

            txt = dnsplug.get_txt(name, timeout=timeout)
            cached = txt if txt else f"no TXT record found for {qname}"
        except Exception as exc:  # any resolver trouble means "cannot check", never "fail"
            cached = f"DNS lookup of {qname} failed: {exc}"
            if "timeout" in str(exc).lower() or "timed out" in str(exc).lower():
                _DNS_DEAD_UNTIL[0] = time.monotonic() + _DNS_DEAD_SECONDS
        if len(_DNS_CACHE) < _DNS_CACHE_MAX:
            _DNS_CACHE[qname] = cached
    if isinstance(cached, str):
        raise KeyUnavailable(cached)
    return cached


def _tags(value: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in re.sub(rb"\s+", b"", value).split(b";"):
        key, sep, val = item.partition(b"=")
        if sep:
            out[key.decode("ascii", "replace")] = val.decode("ascii", "replace")
    return out


def _run(check: Callable[[], Any]) -> tuple[str, str, Any]:
    import dkim  # type: ignore[import-untyped]

    try:
        value = check()
    except KeyUnavailable as exc:
        return "not checked", str(exc), None
    except ImportError as exc:  # e.g. Ed25519 needs PyNaCl: a limit of this machine, not of the mail
        return "not checked", f"cannot check here: {exc}", None
    except dkim.ValidationError as exc:
        return "fail", str(exc), None
    except dkim.DKIMException as exc:
        if type(exc).__name__ == "NaClNotFoundError":
            return "not checked", f"cannot check here: {exc}", None
        return "fail", f"{type(exc).__name__}: {exc}", None
    except Exception as exc:  # dkimpy raises plain errors on some malformed input
        return "fail", f"malformed signature: {type(exc).__name__}: {exc}", None
    return "ok", "", value


def check_dkim(message: bytes, keys: Mapping[str, bytes] | None, offline: bool) -> list[dict[str, Any]]:
    """Check every DKIM-Signature of ``message``; one result dict per signature, top to bottom."""
    import dkim  # type: ignore[import-untyped]

    sigs = [v for n, v in _headers(message) if n.lower() == b"dkim-signature"]
    results: list[dict[str, Any]] = []
    for idx, raw in enumerate(sigs):
        tags = _tags(raw)
        source = _KeySource(keys, offline)

        def _verify(i: int = idx, s: _KeySource = source) -> Any:
            return dkim.DKIM(message, logger=_LOG, timeout=DNS_TIMEOUT).verify(idx=i, dnsfunc=s)

        status, reason, ok = _run(_verify)
        if status == "ok":
            status, reason = ("pass", "") if ok else ("fail", "signature or key does not verify")
        results.append(
            {
                "index": idx,
                "domain": tags.get("d"),
                "selector": tags.get("s"),
                "algorithm": tags.get("a"),
                "canonicalization": tags.get("c", "simple/simple"),
                "signed_headers": tags.get("h"),
                "result": status,
                "reason": reason,
                "key_record": next(iter(source.used.values()), None),
            }
        )
    return results


def check_arc(message: bytes, keys: Mapping[str, bytes] | None, offline: bool) -> dict[str, Any] | None:
    """Check the ARC chain of ``message``; None when it carries no ARC-Seal."""
    import dkim  # type: ignore[import-untyped]

    if not any(n.lower() == b"arc-seal" for n, _ in _headers(message)):
        return None
    source = _KeySource(keys, offline)
    arc = dkim.ARC
    status, reason, value = _run(lambda: arc(message, logger=_LOG, timeout=DNS_TIMEOUT).verify(dnsfunc=source))
    if status == "ok":
        cv, _details, why = value
        cv_text = (cv or b"none").decode("ascii", "replace") if isinstance(cv, bytes) else str(cv)
        status = "pass" if cv_text == "pass" else "fail"
        reason = "" if status == "pass" else str(why)
    return {"result": status, "reason": reason, "key_records": sorted(source.used.values(), key=str)}


def _headers(message: bytes) -> list[tuple[bytes, bytes]]:
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    out: list[tuple[bytes, bytes]] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b"\n" + line)
        elif b":" in line:
            name, _, value = line.partition(b":")
            out.append((name.strip(), value))
    return out


def recheck_dkim(message: bytes, recorded: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Re-run the DKIM checks recorded at deposit on ``message``, each with the key record stored beside it
    and nothing else (no DNS: the key may have been withdrawn since). Returns (recorded, re-run) pairs for
    the signatures whose key record was stored; the others were "not checked" and stay so."""
    if not isinstance(recorded, list):
        return []
    keyed = [
        r
        for r in recorded
        if isinstance(r, dict)
        and isinstance(r.get("index"), int)
        and isinstance(r.get("key_record"), dict)
        and isinstance(r["key_record"].get("name"), str)
        and isinstance(r["key_record"].get("txt"), str)
    ]
    if not keyed:
        return []
    keys = {r["key_record"]["name"]: r["key_record"]["txt"].encode("utf-8") for r in keyed}
    again = check_dkim(message, keys, offline=True)
    return [(r, again[r["index"]]) for r in keyed if 0 <= r["index"] < len(again)]
