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


def root(alg, record, proof):  # RFC 9162 §2.1.3.2: from the leaf up the inclusion path
    h = lambda b: hashlib.new(alg, b).digest()  # noqa: E731
    leaf = canon({k: x for k, x in record.items() if k != "proof"}).encode("utf-8")
    r, fn, sn = h(b"\x00" + leaf), proof["index"], proof["size"] - 1
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
    return r.hex() if sn == 0 else None


pkg = zipfile.ZipFile(sys.argv[1])
m = json.loads(pkg.read("manifest.json"))
item = next(i for i in m["items"] if i["name"] == sys.argv[2])
data = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else pkg.read(item["path"])  # noqa: SIM115
ok = True
for alg in ("sm3", "sha256"):
    content = hashlib.new(alg, data).hexdigest() == item["digests"][alg]
    proofs = root(alg, item, item["proof"][alg]) == root(alg, m["statement"], m["statement"]["proof"][alg])
    proofs = proofs and root(alg, item, item["proof"][alg]) == m["roots"][alg]
    print(
        f"{alg:7} content {'ok' if content else 'MISMATCH'}, item and statement lead to root {m['roots'][alg]}: "
        f"{'ok' if proofs else 'MISMATCH'}"
    )
    ok = ok and content and proofs
sys.exit(0 if ok else 1)
