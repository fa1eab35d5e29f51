"""Mail as evidence: headers, charsets, parts, DKIM and ARC, on real and generated messages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from evidencectl.collect.analyze import analyze
from evidencectl.collect.mailauth import load_dkim_keys
from evidencectl.errors import BadInputError, ExitCode

ASSETS = Path(__file__).parent / "assets" / "email"


@pytest.fixture(scope="module")
def keys() -> dict[str, bytes]:
    return load_dkim_keys(ASSETS / "dkim_keys.zone")


def dkim_results(path: Path, **kw: object) -> list[dict]:
    return analyze(path, **kw).metadata["email"]["dkim"]  # type: ignore[arg-type]


def test_gmail_2013_dkim_passes_offline_with_supplied_key(keys: dict[str, bytes]) -> None:
    (res,) = dkim_results(ASSETS / "dkimpy_gmail_dkim_2013.eml", dkim_keys=keys, offline=True)
    assert res["result"] == "pass", res
    assert (res["domain"], res["selector"], res["algorithm"]) == ("gmail.com", "20120113", "rsa-sha256")
    # The exact TXT record used is kept, so the check can be repeated from the package alone.
    assert res["key_record"]["name"] == "20120113._domainkey.gmail.com."
    assert res["key_record"]["txt"].encode() == keys["20120113._domainkey.gmail.com."]
    assert res["key_record"]["source"] == "supplied"


def test_rfc8463_ed25519_and_rsa_signatures_both_pass(keys: dict[str, bytes]) -> None:
    results = dkim_results(ASSETS / "dkimpy_rfc8463_ed25519_rsa_signed.eml", dkim_keys=keys, offline=True)
    assert [(r["algorithm"], r["result"]) for r in results] == [("ed25519-sha256", "pass"), ("rsa-sha256", "pass")]
    assert [r["key_record"]["name"] for r in results] == [
        "brisbane._domainkey.football.example.com.",
        "test._domainkey.football.example.com.",
    ]


def test_kitterman_2011_without_key_is_not_checked_rather_than_fail(keys: dict[str, bytes]) -> None:
    (res,) = dkim_results(ASSETS / "dkimpy_kitterman_dkim_pgpmime_2011.eml", dkim_keys=keys, offline=True)
    assert res["result"] == "not checked"
    assert "kitterman.com" in res["reason"] and res["key_record"] is None


def test_dns_lookup_fails_fast_and_becomes_not_checked() -> None:
    # This machine has no working DNS: a lookup must neither hang nor turn into "fail".
    start = time.monotonic()
    results = dkim_results(ASSETS / "mailparser_mail_test_13_mailchimp_dkim.eml", offline=False)
    assert time.monotonic() - start < 15
    assert results and all(r["result"] == "not checked" for r in results)


def test_offline_never_queries_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    from dkim import dnsplug

    def forbidden(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("DNS queried although offline=True")

    monkeypatch.setattr(dnsplug, "get_txt", forbidden)
    results = dkim_results(ASSETS / "dkimpy_gmail_dkim_2013.eml", offline=True)
    assert results[0]["result"] == "not checked"
    assert "offline" in results[0]["reason"]


def test_one_changed_byte_in_a_signed_header_fails(keys: dict[str, bytes]) -> None:
    (res,) = dkim_results(ASSETS / "gmail_dkim_tampered_subject.eml", dkim_keys=keys, offline=True)
    assert res["result"] == "fail" and res["reason"]


def test_changed_body_fails_with_body_hash_reason(tmp_path: Path, keys: dict[str, bytes]) -> None:
    data = (ASSETS / "dkimpy_gmail_dkim_2013.eml").read_bytes().replace(b"Hello, DKIM", b"Hello, DKIN")
    (tmp_path / "m.eml").write_bytes(data)
    (res,) = dkim_results(tmp_path / "m.eml", dkim_keys=keys, offline=True)
    assert res["result"] == "fail" and "body hash" in res["reason"]


def test_arc_chain_passes_and_fails_when_altered(tmp_path: Path, keys: dict[str, bytes]) -> None:
    meta = analyze(ASSETS / "arc_signed_relay.eml", dkim_keys=keys, offline=True).metadata["email"]
    assert meta["arc"]["result"] == "pass"
    assert meta["arc"]["key_records"][0]["name"] == "arc2024._domainkey.relay.example.cn."
    data = (ASSETS / "arc_signed_relay.eml").read_bytes().replace(b"forwarded by a list", b"forwarded by a lisp")
    (tmp_path / "arc.eml").write_bytes(data)
    altered = analyze(tmp_path / "arc.eml", dkim_keys=keys, offline=True).metadata["email"]["arc"]
    assert altered["result"] == "fail"
    offline = analyze(ASSETS / "arc_signed_relay.eml", offline=True).metadata["email"]["arc"]
    assert offline["result"] == "not checked"


def test_headers_dates_and_received_chain() -> None:
    a = analyze(ASSETS / "zh_gb2312.eml", offline=True)
    assert a.kind == "email" and a.media_type == "message/rfc822" and a.warnings == ()
    m = a.metadata["email"]
    assert m["from"]["addresses"] == [{"name": "张三", "address": "zhangsan@example.cn"}]
    assert m["to"]["addresses"] == [{"name": "李四", "address": "lisi@example.cn"}]
    assert m["cc"]["addresses"][0]["address"] == "wangwu@example.cn"
    assert m["subject"] == "证据材料 第一批"
    assert m["date"] == {"raw": "Tue, 05 Mar 2024 09:15:00 +0800", "utc": "2024-03-05T01:15:00Z"}
    assert (m["message-id"], m["in-reply-to"]) == ("<gb2312-1@example.cn>", "<earlier-0@example.cn>")
    hops = m["received"]
    assert [(h.get("from"), h["by"], h["with"]) for h in hops] == [
        ("mx.example.cn (mx.example.cn [192.0.2.10])", "mail.example.cn", "ESMTPS"),
        ("[198.51.100.7]", "mx.example.cn", "ESMTP"),
    ]
    assert hops[0]["time_utc"] == "2024-03-05T01:15:02Z" and hops[0]["id"] == "4Q1"
    (body,) = a.children
    assert (body.name, body.kind, body.metadata["charset"]) == ("body-1.txt", "body", "gb2312")
    assert body.data.decode("gb2312").startswith("关于合同纠纷的证据材料")


def test_received_ignores_words_inside_comments() -> None:
    hops = analyze(ASSETS / "dkimpy_kitterman_dkim_pgpmime_2011.eml", offline=True).metadata["email"]["received"]
    assert "from" not in hops[1] and hops[1]["time_utc"] == "2011-03-07T19:23:23Z"
    assert hops[2]["from"].startswith("mailwash7.pair.com") and hops[2]["by"] == "raung.pair.com"


@pytest.mark.parametrize(
    ("name", "subject", "body", "charset"),
    [
        ("zh_declared_gb2312_is_gb18030.eml", "朱镕基 𠮷野家 证据", "朱镕基 𠮷野家 证据", "gb18030"),
        ("zh_big5.eml", "檢察院 證據清單", "請查閱附件中的證據。", "big5"),
        ("zh_raw_8bit_headers.eml", "原始字节主题", "正文内容", "utf-8"),
    ],
)
def test_chinese_charsets_decode(name: str, subject: str, body: str, charset: str) -> None:
    a = analyze(ASSETS / name, offline=True)
    assert a.metadata["email"]["subject"] == subject
    assert a.children[0].metadata["text_excerpt"].strip() == body
    assert a.children[0].metadata["charset"] == charset


def test_raw_gbk_display_name_is_read() -> None:
    m = analyze(ASSETS / "zh_raw_8bit_headers.eml", offline=True).metadata["email"]
    assert m["from"]["addresses"] == [{"name": "王五", "address": "wangwu@example.cn"}]


def test_attachments_are_children_with_safe_names() -> None:
    a = analyze(ASSETS / "multipart_attachments.eml", offline=True)
    names = [c.name for c in a.children]
    assert names == [
        "body-1.txt",
        "body-2.html",
        "attachments/合同.pdf",
        "attachments/passwd",
        "attachments/attachment-3.eml",
    ]
    pdf = a.children[2]
    assert pdf.kind == "attachment" and pdf.media_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.4") and pdf.metadata["filename"] == "合同.pdf"
    assert a.children[3].metadata["filename"] == "../../etc/passwd" and a.children[3].data == b"root:x:0:0\n"
    attached = a.children[4]
    assert attached.metadata["message"]["subject"] == "Is dinner ready?"
    assert [c.name for c in attached.children] == ["body-1.txt"]
    for child in a.children:
        assert not child.name.startswith("/") and ".." not in child.name.split("/")


def test_truncated_mime_gives_warnings_and_strict_raises() -> None:
    a = analyze(ASSETS / "bad_truncated_mime.eml", offline=True)
    assert a.kind == "email"
    assert any("CloseBoundaryNotFound" in w for w in a.warnings)
    assert any("Base64" in w for w in a.warnings)
    assert [c.name for c in a.children] == ["body-1.txt", "attachments/a.pdf"]
    with pytest.raises(BadInputError) as err:
        analyze(ASSETS / "bad_truncated_mime.eml", strict=True, offline=True)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "bad_truncated_mime.eml" in err.value.diagnostics()


def test_eml_without_headers_is_a_text_file_with_a_warning() -> None:
    a = analyze(ASSETS / "bad_no_headers.eml", offline=True)
    assert (a.kind, a.media_type) == ("file", "text/plain")
    assert a.warnings and "message/rfc822" in a.warnings[0]
    with pytest.raises(BadInputError):
        analyze(ASSETS / "bad_no_headers.eml", strict=True)


def test_content_decides_not_the_name(tmp_path: Path, keys: dict[str, bytes]) -> None:
    shutil.copy(ASSETS / "dkimpy_gmail_dkim_2013.eml", tmp_path / "evidence.txt")
    a = analyze(tmp_path / "evidence.txt", dkim_keys=keys, offline=True)
    assert a.kind == "email" and a.metadata["email"]["dkim"][0]["result"] == "pass"


def test_load_dkim_keys_joins_split_strings_and_rejects_garbage(tmp_path: Path) -> None:
    zone = tmp_path / "keys.zone"
    zone.write_text(
        '; comment\n\nsel._domainkey.Example.COM IN TXT "v=DKIM1; k=rsa; " "p=AAAA"\n'
        'other._domainkey.example.org. 300 IN TXT "k=ed25519; p=\\"x\\""\n'
    )
    assert load_dkim_keys(zone) == {
        "sel._domainkey.example.com.": b"v=DKIM1; k=rsa; p=AAAA",
        "other._domainkey.example.org.": b'k=ed25519; p="x"',
    }
    zone.write_text('ok._domainkey.example.com. IN TXT "p=A"\nthis is not a record\n')
    with pytest.raises(BadInputError) as err:
        load_dkim_keys(zone)
    assert "line 2" in str(err.value) and err.value.path == str(zone)
    with pytest.raises(BadInputError):
        load_dkim_keys(tmp_path / "missing.zone")
