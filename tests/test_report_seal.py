"""``report --sign``: a PAdES signature that poppler's pdfsig and pyHanko's validator accept, and that one
flipped byte breaks for both; a signature timestamp from the embedded TSA served over real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report_support import deposit, ensure_report_command

EXAMPLES = Path(__file__).parent.parent / "examples" / "evidence"


def _pdfsig(pdf: Path) -> str:
    return subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout


def _pyhanko_status(pdf: Path, cert: Path) -> Any:
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with pdf.open("rb") as f:
        sig = PdfFileReader(f, strict=False).embedded_signatures[0]
        return validate_pdf_signature(sig, ValidationContext(trust_roots=[load_cert_from_pemder(str(cert))]))


@pytest.fixture
def signed(tmp_path: Path, cli: Callable[..., Any]) -> tuple[Path, Path]:
    """A certificate signed with this installation's seal: (the PDF, the seal certificate)."""
    ensure_report_command()
    package = deposit([EXAMPLES], tmp_path / "case.evp")
    out = tmp_path / "signed.pdf"
    res = cli("report", package, "-o", out, "--sign")
    assert res.code == 0, res.err
    return out, Path(os.environ["EVIDENCECTL_HOME"]) / "report" / "seal-cert.pem"


def test_signed_certificate_is_valid_for_pdfsig_and_pyhanko_and_one_flipped_byte_breaks_both(
    signed: tuple[Path, Path], tmp_path: Path
) -> None:
    pdf, cert = signed
    report = _pdfsig(pdf)
    assert "Signature Validation: Signature is Valid." in report and "Total document signed" in report
    assert "ETSI.CAdES.detached" in report  # PAdES, not the older adbe.pkcs7 subfilter
    status = _pyhanko_status(pdf, cert)
    assert status.intact and status.valid and status.trusted
    # One byte of the signed part (the document's creator string) changed, nothing else.
    data = bytearray(pdf.read_bytes())
    at = data.index(b"(evidencectl)")
    data[at + 1] ^= 0x20  # "Evidencectl"
    bad = tmp_path / "flipped.pdf"
    bad.write_bytes(bytes(data))
    assert "Signature is Valid." not in _pdfsig(bad)
    assert not _pyhanko_status(bad, cert).intact


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tsa_url() -> Iterator[str]:
    """The embedded TSA of this data directory, served over HTTP by ``evidencectl tsa serve``."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_signature_carries_a_timestamp_from_the_configured_tsa(
    tmp_path: Path, cli: Callable[..., Any], tsa_url: str
) -> None:
    ensure_report_command()
    package = deposit([EXAMPLES], tmp_path / "case.evp")
    out = tmp_path / "stamped.pdf"
    res = cli("report", package, "-o", out, "--sign", "--sign-tsa", tsa_url)
    assert res.code == 0, res.err
    status = _pyhanko_status(out, Path(os.environ["EVIDENCECTL_HOME"]) / "report" / "seal-cert.pem")
    assert status.intact and status.valid
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert "Signature is Valid." in _pdfsig(out)


def test_sign_asks_for_a_pdf_and_a_whole_key_pair(tmp_path: Path, cli: Callable[..., Any]) -> None:
    ensure_report_command()
    package = deposit([EXAMPLES], tmp_path / "case.evp")
    assert cli("report", package, "-o", tmp_path / "c.html", "--sign").code == 2
    assert cli("report", package, "-o", tmp_path / "c.pdf", "--sign", "--sign-key", tmp_path / "k.pem").code == 2
    broken = tmp_path / "k.pem"
    broken.write_text("not a key")
    res = cli("report", package, "-o", tmp_path / "c.pdf", "--sign", "--sign-key", broken, "--sign-cert", broken)
    assert res.code == 4 and len(res.err.strip().splitlines()) == 1 and not (tmp_path / "c.pdf").exists()
