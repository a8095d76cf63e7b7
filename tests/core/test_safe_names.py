"""Safe names: hand-written encodings, hostile names, round trips and root containment."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic.core.errors import InvalidNameError
from mosaic.core.safe_names import (
    MAX_SAFE_LEN,
    from_safe_name,
    is_hashed,
    path_in_root,
    sequence_key,
    split_sequence_key,
    to_safe_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fish_01", "fish_01"),
        ("speed_3__loop_1", "speed_3%5F%5Floop_1"),
        ("a/b", "a%2Fb"),
        ("..", "%2E."),
        (".hidden", "%2Ehidden"),
        ("trial.1", "trial.1"),
        ("two words", "two%20words"),
        ("_lead", "%5Flead"),
        ("trail_", "trail%5F"),
        ("é", "%C3%A9"),
        ("100%", "100%25"),
    ],
)
def test_encoding_by_hand(name, expected):
    assert to_safe_name(name) == expected
    assert from_safe_name(expected) == name


def test_keys_split_uniquely_even_with_separator_inside_names():
    a = sequence_key("a__b", "c")
    b = sequence_key("a", "b__c")
    assert a != b
    assert split_sequence_key(a) == ("a__b", "c")
    assert split_sequence_key(b) == ("a", "b__c")


def test_empty_name_rejected():
    with pytest.raises(InvalidNameError):
        to_safe_name("")


@pytest.mark.parametrize("bad", ["a%2", "a%zz", "a/b", "a%2fb", "x__y", "%C3"])
def test_malformed_safe_names_rejected(bad):
    with pytest.raises(InvalidNameError):
        from_safe_name(bad)


def test_long_names_hashed_unique_and_short():
    a = "x" * 300
    b = "x" * 299 + "y"
    sa, sb = to_safe_name(a), to_safe_name(b)
    assert len(sa) <= MAX_SAFE_LEN and len(sb) <= MAX_SAFE_LEN
    assert sa != sb and is_hashed(sa)
    with pytest.raises(InvalidNameError, match="index"):
        from_safe_name(sa)
    # many multi-byte characters: the escape is never cut in half
    u = to_safe_name("é" * 200)
    assert len(u) <= MAX_SAFE_LEN and "%" not in u.split("~")[0][-2:]


def test_path_in_root_refuses_escape(tmp_path):
    assert path_in_root(tmp_path, "a.parquet") == (tmp_path / "a.parquet").resolve()
    with pytest.raises(InvalidNameError):
        path_in_root(tmp_path, "..", "evil")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_round_trip_and_containment_property(name):
    safe = to_safe_name(name)
    assert "/" not in safe and "\x00" not in safe and "__" not in safe
    assert safe not in (".", "..") and not safe.startswith(".")
    assert len(safe) <= MAX_SAFE_LEN
    if is_hashed(safe):  # only names whose encoding is too long for one file name
        assert len(name.encode("utf-8")) * 1 > MAX_SAFE_LEN // 3
    else:
        assert from_safe_name(safe) == name


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=400), st.text(min_size=1, max_size=400))
def test_keys_stay_inside_root_property(tmp_path_factory, group, sequence):
    root = tmp_path_factory.getbasetemp() / "root"
    key = sequence_key(group, sequence)
    assert len(key.encode()) < 255
    p = path_in_root(root, key + ".parquet")
    assert p.parent == root.resolve()
    if not is_hashed(key):
        assert split_sequence_key(key) == (group, sequence)
