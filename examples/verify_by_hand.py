#!/usr/bin/env python3
"""Check one item of an evidencectl package with nothing but Python's standard library (docs/format.md).

usage: python3 verify_by_hand.py PACKAGE.evp ITEM-NAME [ORIGINAL-FILE]
Then check the printed roots are the ones the timestamps cover: `openssl ts -verify -digest ROOT ...`.
"""

import hashlib
import json
import sys
import zipfile


def canon(v):  # RFC 8785 canonical JSON for the value types a manifest uses (no floats)
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(canon(k) + ":" + canon(v[k]) for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canon(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def leaf(alg, record):  # H(0x00 || the record's canonical JSON without its proof)
    return hashlib.new(alg, b"\x00" + canon({k: x for k, x in record.items() if k != "proof"}).encode()).digest()


def tree(alg, leaves):  # RFC 9162 §2.1.1: split at the largest power of two below n
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return (
        leaves[0]
        if len(leaves) == 1
        else hashlib.new(alg, b"\x01" + tree(alg, leaves[:k]) + tree(alg, leaves[k:])).digest()
    )


def walk(alg, record):  # RFC 9162 §2.1.3.2: a disclosed record's inclusion proof up to the root
    proof, h = record["proof"][alg], lambda b: hashlib.new(alg, b).digest()  # noqa: E731
    r, fn, sn = leaf(alg, record), proof["index"], proof["size"] - 1
    for p in map(bytes.fromhex, proof["path"]):
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = h(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


if len(sys.argv) not in (3, 4):
    print(
        "usage: python3 verify_by_hand.py PACKAGE.evp ITEM-NAME [ORIGINAL-FILE]  (names: evidencectl inspect)",
        file=sys.stderr,
    )
    sys.exit(2)
m = json.loads(zipfile.ZipFile(sys.argv[1]).read("manifest.json"))
item = next((i for i in m["items"] if i["name"] == sys.argv[2]), None)
if item is None:
    names = [i["name"] for i in m["items"]]
    print(
        f"no item named {sys.argv[2]!r}; the package holds: {', '.join(names[:10])}" + " …" * (len(names) > 10),
        file=sys.stderr,
    )
    sys.exit(2)
with open(sys.argv[3], "rb") if len(sys.argv) > 3 else zipfile.ZipFile(sys.argv[1]).open(item["path"]) as f:
    data = f.read()
ok = True
for alg in ("sm3", "sha256"):
    content = hashlib.new(alg, data).hexdigest() == item["digests"][alg]
    if "disclosure" in m:  # some items only: the item's and the statement's proofs must reach the root
        roots = {walk(alg, item), walk(alg, m["statement"])}
    else:  # every record is here: the statement and all items, in order, rebuild the root
        roots = {tree(alg, [leaf(alg, r) for r in [m["statement"], *m["items"]]])}
    proofs = roots == {bytes.fromhex(m["roots"][alg])}
    print(f"{alg:7} content {'ok' if content else 'MISMATCH'}; leaves lead to root {m['roots'][alg]}: ", end="")
    print("ok" if proofs else "MISMATCH")
    ok = ok and content and proofs
sys.exit(0 if ok else 1)
