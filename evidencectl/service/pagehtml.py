"""The verification page's HTML, in Chinese and English: one self-contained document, no script, no
external resource (its one stylesheet is inline and allowed by hash in the Content-Security-Policy).

Every string that comes from a deposit, a package or a client (item names, file names, check details)
goes through :func:`evidencectl.display.visible` and then HTML escaping, as in the HTML reports.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, urlencode

from ..display import visible
from ..report.answer import beijing
from ..report.labels import labels

LANGS = ("zh", "en")

TEXT = {
    "zh": {
        "title": "电子证据在线核验",
        "no_match": "未找到匹配的存证",
        "no_match_text": "该链接的存证编号与清单摘要不对应本平台的任何存证。请核对证书上的二维码或链接。",
        "deposit": "存证编号",
        "manifest": "清单（manifest.json）SM3",
        "status": "存证状态",
        "proven": "经证明的存在时间",
        "stored": "本平台保存的存证包",
        "st_complete": "存证完成",
        "st_pending": "待完成（等待时间戳或锚定服务）",
        "st_abandoned": "已放弃（未能发布）",
        "form_package": "上传存证包核验",
        "form_package_hint": "选择证书对应的存证包（.evp 文件），本平台按与命令行相同的方式核验。",
        "form_file": "核对单个文件是否属于本存证",
        "form_file_hint": "选择一个文件，本平台计算其 SM3 与 SHA-256，并与本存证各项目的摘要比对。",
        "go_package": "核验存证包",
        "go_file": "核对文件",
        "result": "核验结果",
        "same_deposit": "该存证包的清单与本存证一致（同一清单 SM3）。",
        "other_deposit": "该存证包不是本存证的存证包：其清单 SM3 与链接中的不同。",
        "altered": "被改动或不一致的项目",
        "problems": "未通过或无法确定的检查",
        "all_checks": "全部检查",
        "file_yes": "该文件属于本存证：",
        "file_no": "该文件不属于本存证：没有任何项目的 SM3 与 SHA-256 与之相同。",
        "file_name": "所选文件",
        "size": "大小（字节）",
        "error": "无法完成核验",
        "other_lang": "English",
        "back": "返回核验页面",
    },
    "en": {
        "title": "Online evidence verification",
        "no_match": "No deposit matches",
        "no_match_text": "No deposit of this service matches this link's deposit number and manifest digest. "
        "Check the QR code or the link on the certificate.",
        "deposit": "Deposit number",
        "manifest": "Manifest (manifest.json) SM3",
        "status": "Status",
        "proven": "Proven time of existence",
        "stored": "The package this service keeps",
        "st_complete": "complete",
        "st_pending": "pending (waiting for a timestamp or anchor service)",
        "st_abandoned": "abandoned (could not be published)",
        "form_package": "Verify the package",
        "form_package_hint": "Choose the certificate's evidence package (.evp file); it is verified as the "
        "command line verifies it.",
        "form_file": "Check whether one file belongs to this deposit",
        "form_file_hint": "Choose a file; its SM3 and SHA-256 are compared with those of this deposit's items.",
        "go_package": "Verify the package",
        "go_file": "Check the file",
        "result": "Result",
        "same_deposit": "This package's manifest is this deposit's (the same manifest SM3).",
        "other_deposit": "This package is not this deposit's: its manifest SM3 differs from the link's.",
        "altered": "Altered or inconsistent items",
        "problems": "Checks that did not pass",
        "all_checks": "All checks",
        "file_yes": "This file belongs to this deposit: ",
        "file_no": "This file is not in this deposit: no item has its SM3 and SHA-256.",
        "file_name": "Chosen file",
        "size": "Size (bytes)",
        "error": "The check could not be done",
        "other_lang": "中文",
        "back": "Back to the verification page",
    },
}

STYLE = (
    "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif;"
    "max-width:46rem;margin:1.5rem auto;padding:0 1rem;line-height:1.5;color:#111}"
    "h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}"
    "table{border-collapse:collapse}td,th{text-align:left;vertical-align:top;padding:.2rem .8rem .2rem 0}"
    ".mono{font-family:monospace;word-break:break-all}"
    ".box{border:2px solid #888;padding:.6rem .9rem;margin:1rem 0}"
    ".PASSED{border-color:#1a7f37}.FAILED{border-color:#c62828;background:#fff3f3}"
    ".INDETERMINATE{border-color:#b26a00;background:#fff8e6}"
    "form{border:1px solid #ccc;padding:.6rem .9rem;margin:.8rem 0}.lang{float:right}"
)
CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the link carries the manifest digest: it is not for other sites
    "Cache-Control": "no-store",
}


def pick_lang(query: str | None, accept: str | None) -> str:
    """``?lang=`` when it names zh or en, else the first of them in Accept-Language by weight, else zh."""
    if query in LANGS:
        return query
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and weight > 0:
            ranked.append((-weight, n, primary))
    return min(ranked)[2] if ranked else "zh"


def h(text: object) -> str:
    """A string from a deposit, a package or a client, as HTML text: visible, then escaped."""
    return escape(visible(text), quote=True)


@dataclass
class View:
    """What one page shows."""

    lang: str
    deposit_id: str
    manifest_sm3: str
    status: str
    proven_time: str | None
    stored_verdict: str
    """Verdict of the server's own copy of the package."""
    sections: list[str] = field(default_factory=list)
    """HTML of results, already escaped."""


def page_url(deposit_id: str, manifest_sm3: str, lang: str | None = None) -> str:
    """The page's own (relative) address, as the QR code names it, optionally with ``lang``."""
    query = {"m": manifest_sm3} | ({"lang": lang} if lang else {})
    return f"/v/{quote(deposit_id, safe='')}?{urlencode(query)}"


def _document(lang: str, title: str, body: str, switch: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{switch}<h1>{escape(title)}</h1>"
        f"{body}</body></html>\n"
    )


def no_match(lang: str) -> str:
    """The page for an unknown deposit or a wrong or missing ``m``: it says nothing more than that."""
    T = TEXT[lang]
    return _document(lang, T["title"], f'<div class="box FAILED"><strong>{T["no_match"]}</strong>'
                     f'<p>{T["no_match_text"]}</p></div>')  # fmt: skip


def error_page(lang: str, message: str, back: str) -> str:
    """A failed upload (too large, not a form, too many requests): the one line, and the way back."""
    T = TEXT[lang]
    body = f'<div class="box FAILED"><strong>{T["error"]}</strong><p>{h(message)}</p></div>'
    return _document(lang, T["title"], body + f'<p><a href="{escape(back)}">{T["back"]}</a></p>')


def render(view: View) -> str:
    """The verification page of one deposit, with any results and the two upload forms."""
    T, L = TEXT[view.lang], labels(view.lang)
    own = page_url(view.deposit_id, view.manifest_sm3, view.lang)
    other = "en" if view.lang == "zh" else "zh"
    switch = (f'<p class="lang"><a href="{escape(page_url(view.deposit_id, view.manifest_sm3, other))}" '
              f'hreflang="{other}">{TEXT[view.lang]["other_lang"]}</a></p>')  # fmt: skip
    status = T.get(f"st_{view.status}", view.status)
    proven = beijing(view.proven_time, L) if view.proven_time else L["no_time"]
    facts = (
        f'<table><tr><th>{T["deposit"]}</th><td class="mono">{h(view.deposit_id)}</td></tr>'
        f'<tr><th>{T["manifest"]}</th><td class="mono">{h(view.manifest_sm3)}</td></tr>'
        f"<tr><th>{T['status']}</th><td>{h(status)}</td></tr>"
        f"<tr><th>{T['proven']}</th><td>{h(proven)}</td></tr>"
        f'<tr><th>{T["stored"]}</th><td class="{view.stored_verdict}">{h(L["v_" + view.stored_verdict])}</td></tr>'
        "</table>"
    )
    forms = "".join(
        f'<form method="post" action="{escape(own)}" enctype="multipart/form-data"><h2>{T["form_" + kind]}</h2>'
        f'<p>{T["form_" + kind + "_hint"]}</p><input type="file" name="{kind}" required{accept}> '
        f'<button type="submit">{T["go_" + kind]}</button></form>'
        for kind, accept in (("package", ' accept=".evp,application/zip"'), ("file", ""))
    )
    return _document(view.lang, T["title"], facts + "".join(view.sections) + forms, switch)


def package_section(lang: str, same: bool, verdict: str, checks: list[dict[str, str]]) -> str:
    """The result of a posted package: verdict, whether it is this deposit's, the altered items, every check."""
    T, L = TEXT[lang], labels(lang)
    altered = [
        c["check"].split(":", 1)[1] for c in checks if c["status"] == "FAILED" and c["check"].startswith("digest:")
    ]
    bad = [c for c in checks if c["status"] != "PASSED"]
    out = [f'<h2>{T["result"]}</h2><div class="box {verdict}"><strong>{h(L["v_" + verdict])}</strong>']
    out.append(f"<p>{T['same_deposit' if same else 'other_deposit']}</p>")
    if altered:
        out.append(f"<p>{T['altered']}:</p><ul>" + "".join(f'<li class="mono">{h(n)}</li>' for n in altered) + "</ul>")
    out.append("</div>")
    if bad:
        out.append(f"<h2>{T['problems']}</h2><ul>")
        out += [f'<li><span class="mono">{h(c["check"])}</span> — {h(c["status"])}: {h(c["detail"])}</li>' for c in bad]
        out.append("</ul>")
    rows = "".join(f'<tr><td class="mono">{h(c["check"])}</td><td>{h(c["status"])}</td></tr>' for c in checks)
    out.append(f"<details><summary>{T['all_checks']} ({len(checks)})</summary><table>{rows}</table></details>")
    return "".join(out)


def file_section(lang: str, filename: str, size: int, sm3: str, sha256: str, matches: list[str]) -> str:
    """The result of a posted file: its digests, and the items of this deposit that have them (if any)."""
    T = TEXT[lang]
    if matches:
        verdict = "PASSED"
        sep = "、" if lang == "zh" else ", "
        said = T["file_yes"] + sep.join(f'<span class="mono">{h(n)}</span>' for n in matches)
    else:
        verdict, said = "FAILED", T["file_no"]
    return (
        f'<h2>{T["result"]}</h2><div class="box {verdict}"><strong>{said}</strong><table>'
        f'<tr><th>{T["file_name"]}</th><td class="mono">{h(filename)}</td></tr>'
        f"<tr><th>{T['size']}</th><td>{size}</td></tr>"
        f'<tr><th>SM3</th><td class="mono">{sm3}</td></tr><tr><th>SHA-256</th><td class="mono">{sha256}</td></tr>'
        "</table></div>"
    )
