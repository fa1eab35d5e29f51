"""SM3 and SHA-256 against the GB/T 32905 vectors, `openssl dgst -sm3` and `sha256sum`."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencectl.hashing import SMALL, digest_bytes, digest_file, digest_files, digest_stream

# GB/T 32905-2016 Appendix A examples.
GBT_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
GBT_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


def test_gbt_32905_vectors() -> None:
    assert digest_bytes(b"abc").sm3 == GBT_ABC
    assert digest_bytes(b"abcd" * 16).sm3 == GBT_ABCD16


def _openssl_sm3(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sm3", "-r", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True)
    return out.stdout.split()[0]


@pytest.mark.parametrize("size", [0, 1, 2047, 2048, SMALL, SMALL + 1, 3 * (1 << 20) + 17])
def test_file_digests_match_openssl_and_sha256sum(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))
    d = digest_file(path)
    assert d.size == size
    assert d.sm3 == _openssl_sm3(path)
    assert d.sha256 == _sha256sum(path)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=4096))
def test_stream_equals_one_shot_for_any_chunking(data: bytes, chunk: int) -> None:
    streamed = digest_stream(io.BytesIO(data), chunk=chunk)
    assert streamed == digest_bytes(data)
    assert streamed.sm3 == hashlib.new("sm3", data).hexdigest()


def test_sink_sees_every_byte_once() -> None:
    data = os.urandom(300_000)
    seen = bytearray()
    digest_stream(io.BytesIO(data), chunk=4096, sink=lambda m: seen.extend(m))
    assert bytes(seen) == data


def test_digest_files_keeps_input_order(tmp_path: Path) -> None:
    paths = []
    for i in range(60):
        p = tmp_path / f"{i:03}"
        p.write_bytes(os.urandom(i * 97))
        paths.append(p)
    got = list(digest_files(paths))
    assert [p for p, _ in got] == paths
    assert all(d == digest_bytes(p.read_bytes()) for p, d in got)
