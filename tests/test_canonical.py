"""canonical_json is RFC 8785: the fast path and the checked path give the bytes of an independent encoder."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencectl.package.canonical import canonical_json, parse_json

texts = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_equals_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def test_astral_keys_sort_by_utf16() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "a": 3}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\uffff".encode()) > canonical_json(value).index("\U0001f600".encode())


@pytest.mark.parametrize("bad", [1.5, {"a": [0.1]}, "\ud800", {"k": float("nan")}])
def test_floats_and_lone_surrogates_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical_json(bad)


def test_strings_that_look_like_numbers_stay_exact() -> None:
    value = {"note": "rate: 1.5e3, id 12345678901234567890", "n": [1, -2]}
    assert canonical_json(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("text", ['{"a":1,"a":2}', "[" * 100 + "]" * 100, '{"a":NaN}'])
def test_parse_refuses_duplicates_depth_and_constants(text: str) -> None:
    with pytest.raises(ValueError):
        parse_json(text.encode())


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    item_id=st.integers(1, 10**9),
    name=_TEXT,
    kind=st.sampled_from(["file", "email", "image"]),
    media_type=_TEXT,
    size=st.integers(0, 2**40),
    member=st.none() | _TEXT,
    metadata=st.dictionaries(
        _TEXT | st.sampled_from(["size", "mtime", "ctime"]),
        st.integers(-(2**53) + 1, 2**53 - 1)
        | _TEXT
        | st.none()
        | st.booleans()
        | st.lists(st.integers(0, 9), max_size=2),
        max_size=6,
    ),
)
def test_item_records_written_directly_are_canonical(item_id, name, kind, media_type, size, member, metadata) -> None:
    import json

    from evidencectl.package.manifest import leaf_bytes
    from evidencectl.package.model import ItemRecord, encode_leaf

    digests = {"sm3": "ab" * 32, "sha256": "cd" * 32}
    data = encode_leaf(ItemRecord(item_id, name, kind, media_type, size, digests, None, member, metadata))
    record = json.loads(data)
    assert leaf_bytes(record) == data == rfc8785.dumps(record)
    salt = record.pop("salt")
    assert len(salt) == 64 and int(salt, 16) >= 0
    assert record == {
        "digests": digests,
        "id": item_id,
        "kind": kind,
        "media_type": media_type,
        "metadata": metadata,
        "name": name,
        "parent": None,
        "path": member,
        "size": size,
    }


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_NASTY = st.lists(st.sampled_from([*'"\\[]{}ab,:', "\\u0022", "é", "合"]), max_size=12).map("".join)
_NESTED = st.recursive(
    st.none() | st.integers(-(2**53 - 1), 2**53 - 1) | _NASTY,  # what canonical records hold
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NASTY, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(value=_NESTED, limit=st.integers(0, 8))
def test_depth_bound_sees_only_the_brackets_outside_strings(value: object, limit: int) -> None:
    import json

    data = json.dumps(value, ensure_ascii=False).encode()
    if _depth(value) > limit:
        with pytest.raises(ValueError, match="nested deeper"):
            parse_json(data, max_depth=limit)
    else:
        assert parse_json(data, max_depth=limit) == value


@pytest.mark.parametrize(
    "value",
    [["\\", [[1]]], ['"', [[1]]], ["\\\\", "\\", [[[]]]], ["[[[", 1], {"{": "}}}", "x": [{}]}, ["\\u0022[", [[2]]]],
)
def test_depth_bound_on_strings_that_end_in_escapes(value: object) -> None:
    import json

    data = json.dumps(value).encode()
    depth = _depth(value)
    assert parse_json(data, max_depth=depth) == value
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json(data, max_depth=depth - 1)
