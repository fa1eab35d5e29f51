"""Each check of a verification told in one sentence of the report's language, with its facts as labelled
rows (expected beside actual), never a raw JSON blob or a machine key.

The check's own ``detail`` (English, for scripts and logs) is kept for checks this module does not know,
marked as the technical detail; ``verify --json`` holds every fact exactly.
"""

from __future__ import annotations

from typing import Any

from ..checks import CheckResult, Status
from .answer import attester_of, beijing
from .model import Cell, t

_ZH = {
    "digest_ok": "{q}与存证时一致（SM3 与 SHA-256 均相同）",
    "digest_changed": "{q}在存证后被修改（{what}与存证记录不同）",
    "digest_missing": "{q}的原件不在包内",
    "digest_hash_only": "{q}的原件不在包内（仅存哈希）：用 --data 提供原件即可复核",
    "tree_ok": "存证声明与全部 {n} 项记录重建出 SM3 与 SHA-256 树根：记录自封存后未被改动",
    "tree_bad": "manifest.json 的记录不能重建树根：记录在封存后被改动",
    "leaf_ok": "{q}的包含证明通向存证的树根",
    "leaf_bad": "{q}的包含证明不通向存证的树根",
    "ts_ok": "{who}的时间戳有效：证明树根在 {when} 已经存在（{op}）",
    "ts_bad": "{who}的时间戳无效",
    "ts_undecided": "时间戳本身可读，但无法确定是否可信：签发者的证书（{source}）不能连到验证者信任的根证书",
    "anchor_ok": "树根已记录在{who}，记录时间 {when}（{op}）",
    "anchor_bad": "锚定记录与存证不符",
    "anchor_undecided": "锚定无法在本机确定",
    "anchor_none": "包内没有锚定记录",
    "sig_ok": "manifest.json 的存证人签名有效，签名证书受验证者信任",
    "sig_undecided": "签名本身正确，数据未被改动；但签名证书不受验证者信任（证书来自存证包 certs/depositor.pem{self}）",
    "sig_self": "，为自签名证书",
    "sig_bad": "存证人签名无效",
    "declared_ok": "存证人声明的创建时间不晚于经证明的时间",
    "declared_bad": "存证人声明的创建时间晚于经证明的时间：存证包自相矛盾",
    "indep_ok": "时间由存证人以外的服务证明",
    "indep_undecided": "时间仅由存证人自己的服务证明，而本次验证要求独立的时间证明",
    "members_ok": "包内每个文件都在存证记录中，或为证明、证书、签名",
    "members_bad": "包内有 {n} 个文件不在存证记录中",
    "statement_bad": "存证声明写的是另一个存证编号",
    "data_ok": "所提供的文件 {file} 即本存证中的{q}",
    "data_bad": "所提供的文件 {file} 被当作本存证中的{q}，但内容与之不符",
    "data_undecided": "所提供的文件 {file} 不是本存证中的任何一项，与本存证无关",
    "datadir_ok": "所提供的文件夹 {file} 中的每个文件都是本存证中的一项",
    "datadir_bad": "所提供的文件夹 {file} 中有文件与本存证中同名的一项内容不符：{names}",
    "datadir_undecided": "所提供的文件夹 {file} 中有文件不是本存证中的任何一项：{names}",
    "env_ok": "网页 {url} 的取证环境记录所列文件均已存证",
    "env_bad": "取证环境记录与存证不符",
    "warc_ok": "WARC 与 HAR 记录的网络往来一致",
    "warc_bad": "WARC 与 HAR 不一致或无法读取",
    "shot_ok": "整页截图在存证包内",
    "shot_undecided": "截图不在包内（仅存哈希）",
    "shot_bad": "截图缺失或不是 PNG 图像",
    "other": "{status}",
    "detail": "技术说明（英文）",
    "from_token": "时间戳令牌自带",
    "from_outside": "令牌之外提供",
    "own": "存证人自己运营，不独立",
    "third": "第三方，独立于存证人",
    "json": "全部机器可读事实：evidencectl verify --json",
}

_EN = {
    "digest_ok": "{q} is as deposited (SM3 and SHA-256 both match)",
    "digest_changed": "{q} was modified after the deposit ({what} differ from the record)",
    "digest_missing": "the original of {q} is missing from the package",
    "digest_hash_only": "the original of {q} is not in the package (hash-only): give it with --data to check it",
    "tree_ok": "the statement and all {n} records rebuild the SM3 and SHA-256 roots: no record changed since sealing",
    "tree_bad": "the records of manifest.json do not rebuild the roots: a record was changed after sealing",
    "leaf_ok": "the inclusion proof of {q} leads to the deposit's roots",
    "leaf_bad": "the inclusion proof of {q} does not lead to the deposit's roots",
    "ts_ok": "the timestamp of {who} is valid: the roots existed at {when} ({op})",
    "ts_bad": "the timestamp of {who} is invalid",
    "ts_undecided": "the timestamp is readable but cannot be trusted here: its issuer's certificate ({source}) does "
    "not lead to a root the verifier trusts",
    "anchor_ok": "the roots are recorded on {who} at {when} ({op})",
    "anchor_bad": "the anchor receipt does not match the deposit",
    "anchor_undecided": "the anchor cannot be decided on this machine",
    "anchor_none": "the package holds no anchor receipt",
    "sig_ok": "the depositor's signature over manifest.json is valid and its certificate is trusted",
    "sig_undecided": "the signature itself is correct and the data intact, but its certificate is not trusted by the "
    "verifier (it came from the package, certs/depositor.pem{self})",
    "sig_self": "; self-signed",
    "sig_bad": "the depositor's signature is invalid",
    "declared_ok": "the creation time the depositor declares is not after the proven time",
    "declared_bad": "the creation time the depositor declares is after the proven time: the package contradicts itself",
    "indep_ok": "the time is attested by a service other than the depositor's",
    "indep_undecided": "the time is attested only by the depositor's own services, and an independent time is required",
    "members_ok": "every file in the package is recorded in the deposit or is a proof, certificate or signature",
    "members_bad": "{n} files in the package are not recorded in the deposit",
    "statement_bad": "the statement names another deposit number",
    "data_ok": "the given file {file} is {q} of this deposit",
    "data_bad": "the given file {file} is offered as {q} of this deposit, but its content is not that item's",
    "data_undecided": "the given file {file} is no item of this deposit and says nothing about it",
    "datadir_ok": "every file in the given folder {file} is an item of this deposit",
    "datadir_bad": "files in the given folder {file} bear an item's name but not its content: {names}",
    "datadir_undecided": "files in the given folder {file} are no item of this deposit: {names}",
    "env_ok": "every file the capture environment record of {url} lists is deposited",
    "env_bad": "the capture environment record does not match the deposit",
    "warc_ok": "the WARC and the HAR record the same exchanges",
    "warc_bad": "the WARC and the HAR disagree or cannot be read",
    "shot_ok": "the full-page screenshot is in the package",
    "shot_undecided": "the screenshot is not in the package (hash-only)",
    "shot_bad": "the screenshot is missing or not a PNG image",
    "other": "{status}",
    "detail": "technical detail",
    "from_token": "carried in the token",
    "from_outside": "supplied outside the token",
    "own": "operated by the depositor: not independent",
    "third": "third party, independent of the depositor",
    "json": "every machine-readable fact: evidencectl verify --json",
}


def _words(lang: str) -> dict[str, str]:
    return _ZH if lang == "zh" else _EN


def sentence(c: CheckResult, lang: str, L: dict[str, str]) -> tuple[str, bool]:
    """The sentence for one check, and whether the English ``detail`` must follow it (unknown checks)."""
    W, f, s = _words(lang), c.facts, c.status
    key = {Status.PASSED: "ok", Status.FAILED: "bad", Status.INDETERMINATE: "undecided"}[s]
    name = c.check.split(":", 1)[1] if ":" in c.check else c.check
    q = L["quoted"].format(str(f.get("item", name)).rsplit("/", 1)[-1])
    if c.check.startswith("digest:"):
        if s is Status.PASSED:
            return W["digest_ok"].format(q=q), False
        if s is Status.INDETERMINATE:
            return W["digest_hash_only"].format(q=q), False
        if "expected" in f:
            exp = f["expected"] if isinstance(f["expected"], dict) else {}
            what = [a.upper().replace("SHA256", "SHA-256") for a in ("sm3", "sha256") if exp.get(a) != f.get(a)]
            return W["digest_changed"].format(q=q, what=" / ".join(what) or "size"), False
        return W["digest_missing"].format(q=q), False
    if c.check == "inclusion:tree":
        n = f.get("tree_size", 1)
        return (
            W["tree_ok"].format(n=int(n) - 1 if isinstance(n, int) else n) if s is Status.PASSED else W["tree_bad"]
        ), False
    if c.check.startswith("inclusion:"):
        return W["leaf_ok" if s is Status.PASSED else "leaf_bad"].format(q=L["quoted"].format(name)), s is Status.FAILED
    if c.check.startswith("timestamp:") or (c.check.startswith("anchor:") and s is Status.PASSED):
        a = attester_of(c)
        op = W["own" if a.own else "third"]
        when = beijing(f.get("gen_time") or f.get("time"), L)
        kind = "ts" if c.check.startswith("timestamp:") else "anchor"
        if s is Status.INDETERMINATE and kind == "ts":
            source = W["from_token"] if f.get("signer_certificate_from") == "token" else W["from_outside"]
            return W["ts_undecided"].format(source=source), True
        return W[f"{kind}_{key}"].format(who=a.name, when=when, op=op), s is not Status.PASSED
    if c.check == "anchor":
        return W["anchor_none"], False
    if c.check.startswith("anchor:"):
        return W[f"anchor_{key}"], True
    if c.check.startswith("signature:"):
        self_signed = bool(f.get("signer")) and f.get("signer") == f.get("issuer")
        return W[f"sig_{key}"].format(self=W["sig_self"] if self_signed else ""), s is Status.FAILED
    simple = {"time:declared": "declared", "time:independent": "indep", "package:members": "members"}
    if c.check in simple and f"{simple[c.check]}_{key}" in W:
        n = len(f.get("unlisted") or [])
        return W[f"{simple[c.check]}_{key}"].format(n=n), False
    if c.check == "statement:deposit-id":
        return W["statement_bad"], False
    capture = {"capture:environment": "env", "capture:warc-har": "warc", "capture:screenshot": "shot"}
    if c.check in capture and f"{capture[c.check]}_{key}" in W:
        return W[f"{capture[c.check]}_{key}"].format(url=f.get("url", "?")), s is not Status.PASSED
    if c.check.startswith("data:"):
        items = f.get("items") or []
        q2 = L["quoted"].format(items[0] if items else "?")
        if "folder" in f:
            names = ", ".join(str(n) for n in (f.get("altered") or f.get("not_items") or [])[:5])
            return W[f"datadir_{key}"].format(file=f["folder"], names=names), False
        return W[f"data_{key}"].format(file=f.get("file", name), q=q2), False
    return W["other"].format(status=L[s.value]), True


_FACT_LABELS = {
    "zh": {
        "item": "证据",
        "source": "复核对象",
        "size": "大小（字节）",
        "sm3": "现在的 SM3",
        "sha256": "现在的 SHA-256",
        "expected_sm3": "存证时的 SM3",
        "expected_sha256": "存证时的 SHA-256",
        "tree_size": "叶子数量",
        "root_sm3": "SM3 树根",
        "root_sha256": "SHA-256 树根",
        "tsa": "时间戳机构",
        "serial": "序列号",
        "gen_time": "时间戳时间",
        "policy": "策略 OID",
        "hash_algorithm": "摘要算法",
        "imprint": "被签摘要",
        "trust_anchor": "所连到的根证书",
        "operator": "运营者",
        "member": "包内文件",
        "ledger_id": "账本标识",
        "chain_id": "链标识",
        "block_height": "区块高度",
        "block_number": "区块高度",
        "block_hash": "区块哈希",
        "tx_hash": "交易哈希",
        "time": "记录时间",
        "created": "声明的创建时间",
        "proven_time": "经证明的时间",
        "signer": "签名者",
        "issuer": "签发者",
        "fingerprint": "证书指纹（SHA-256）",
        "key_fingerprint": "公钥指纹（SHA-256）",
        "algorithm": "签名算法",
        "leaf_index": "叶子序号",
        "file": "所提供的文件",
        "unlisted": "未记录的文件",
    },
    "en": {
        "item": "Item",
        "source": "Checked",
        "size": "Size (bytes)",
        "sm3": "SM3 now",
        "sha256": "SHA-256 now",
        "expected_sm3": "SM3 when deposited",
        "expected_sha256": "SHA-256 when deposited",
        "tree_size": "Leaves",
        "root_sm3": "SM3 root",
        "root_sha256": "SHA-256 root",
        "tsa": "TSA",
        "serial": "Serial number",
        "gen_time": "Timestamp time",
        "policy": "Policy OID",
        "hash_algorithm": "Digest algorithm",
        "imprint": "Imprint",
        "trust_anchor": "Root it leads to",
        "operator": "Operator",
        "member": "Package member",
        "ledger_id": "Ledger id",
        "chain_id": "Chain id",
        "block_height": "Block height",
        "block_number": "Block height",
        "block_hash": "Block hash",
        "tx_hash": "Transaction hash",
        "time": "Recorded at",
        "created": "Declared creation time",
        "proven_time": "Proven time",
        "signer": "Signer",
        "issuer": "Issuer",
        "fingerprint": "Certificate fingerprint (SHA-256)",
        "key_fingerprint": "Key fingerprint (SHA-256)",
        "algorithm": "Signature algorithm",
        "leaf_index": "Leaf index",
        "file": "File given",
        "unlisted": "Unrecorded files",
    },
}
_TIMES = ("gen_time", "time", "created", "proven_time")


def _value(key: str, value: Any, lang: str, L: dict[str, str]) -> str:
    if key == "operator":
        return _words(lang)["own" if value == "own" else "third"]
    if key == "source" and isinstance(value, str):
        member = {"zh": "包内文件 ", "en": "package member "}
        given = {"zh": "所提供的文件 ", "en": "file given "}
        lang = "zh" if lang == "zh" else "en"
        if value.startswith("package member "):
            return member[lang] + value[len("package member ") :]
        if value.startswith("--data "):
            return given[lang] + value[len("--data ") :]
    if key in _TIMES:
        return beijing(str(value), L)
    if isinstance(value, list):
        return ", ".join(map(str, value[:10])) + (f" (+{len(value) - 10})" if len(value) > 10 else "")
    return str(value)


def fact_rows(c: CheckResult, lang: str, L: dict[str, str]) -> list[tuple[str, Cell]]:
    """The check's facts as labelled rows; expected values stand right above the values found."""
    labels = _FACT_LABELS["zh" if lang == "zh" else "en"]
    facts = dict(c.facts)
    expected = facts.pop("expected", None)
    rows: list[tuple[str, Cell]] = []
    for key, value in facts.items():
        if key not in labels or value is None or key == "item":
            continue
        if isinstance(expected, dict) and key in ("sm3", "sha256") and key in expected:
            rows.append((labels[f"expected_{key}"], [t(expected[key], mono=True)]))
        text = _value(key, value, lang, L)
        rows.append((labels[key], [t(text, mono=" " not in text and text.isascii())]))
    return rows


def check_cell(c: CheckResult, lang: str, L: dict[str, str]) -> Cell:
    """Sentence, then (for checks not told in words here) the technical detail, then how to reproduce."""
    text, with_detail = sentence(c, lang, L)
    cell: Cell = [t(text[:1].upper() + text[1:], bold=c.status is not Status.PASSED)]
    if with_detail:
        cell.append(t(f"{_words(lang)['detail']}: {c.detail}"))
    return cell


def json_hint(lang: str) -> str:
    """Where every fact is, exactly."""
    return _words(lang)["json"]
