"""Index I/O: declared columns, text columns, atomic upsert, named errors."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic.core.errors import IndexFileError, IndexNotFoundError, SequenceNotFoundError
from mosaic.core.indexes import IndexSchema, read_index, upsert_index, write_index

SCHEMA = IndexSchema(name="demo", columns=("group", "sequence", "abs_path", "n"), key=("group", "sequence"))


def test_write_then_read_keeps_text_columns_as_text(tmp_path):
    p = tmp_path / "index.csv"
    df = pd.DataFrame({"group": ["001", "NA"], "sequence": ["1.0", ""], "abs_path": ["a/b.parquet", "c"], "n": [3, 4]})
    write_index(p, df, SCHEMA)
    back = read_index(p, SCHEMA)
    assert back["group"].tolist() == ["001", "NA"]
    assert back["sequence"].tolist() == ["1.0", ""]
    assert back["n"].tolist() == [3, 4]


def test_missing_index_named(tmp_path):
    with pytest.raises(IndexFileError) as ei:
        read_index(tmp_path / "index.csv", SCHEMA)
    assert "index.csv" in str(ei.value)
    assert read_index(tmp_path / "index.csv", SCHEMA, missing_ok=True).columns.tolist() == list(SCHEMA.columns)
    assert isinstance(ei.value, IndexNotFoundError) and isinstance(ei.value, FileNotFoundError)


def test_missing_raw_tracks_index_is_also_file_not_found(tmp_path):
    from mosaic import Dataset

    ds = Dataset.create(tmp_path / "d")
    with pytest.raises(FileNotFoundError) as ei:  # what callers of the original API catch
        ds.convert_all_tracks()
    assert isinstance(ei.value, IndexFileError) and "tracks_raw" in str(ei.value) and "index.csv" in str(ei.value)
    with pytest.raises(FileNotFoundError) as ei:  # nothing to load and no raw index to convert from
        ds.load_tracks("g", "s")
    assert (
        isinstance(ei.value, SequenceNotFoundError)
        and "no raw-tracks index" in str(ei.value)
        and "tracks_raw" in str(ei.value)
    )
    p = tmp_path / "index.csv"
    p.write_text("group,sequence\nfoo,bar\n")
    with pytest.raises(IndexFileError) as ei:
        read_index(p, SCHEMA)
    assert not isinstance(ei.value, FileNotFoundError)  # a malformed index is not "not found"


def test_malformed_index_named(tmp_path):
    p = tmp_path / "index.csv"
    p.write_text("group,sequence\nfoo,bar\n")
    with pytest.raises(IndexFileError) as ei:
        read_index(p, SCHEMA)
    assert str(p) in str(ei.value) and "abs_path" in str(ei.value)
    p.write_bytes(b'group,sequence,abs_path,n\n"unterminated,1,2,3\n')
    with pytest.raises(IndexFileError):
        read_index(p, SCHEMA)
    p.write_bytes(b"")
    with pytest.raises(IndexFileError, match="empty"):
        read_index(p, SCHEMA)


def test_upsert_replaces_by_key_and_keeps_others(tmp_path):
    p = tmp_path / "index.csv"
    upsert_index(
        p,
        [
            {"group": "g", "sequence": "a", "abs_path": "x", "n": 1},
            {"group": "g", "sequence": "b", "abs_path": "y", "n": 2},
        ],
        SCHEMA,
    )
    upsert_index(p, [{"group": "g", "sequence": "a", "abs_path": "x2", "n": 10}], SCHEMA)
    back = read_index(p, SCHEMA)
    assert back.to_dict("records") == [
        {"group": "g", "sequence": "a", "abs_path": "x2", "n": 10},
        {"group": "g", "sequence": "b", "abs_path": "y", "n": 2},
    ]
    upsert_index(p, [], SCHEMA, drop=[{"group": "g", "sequence": "b"}])
    assert read_index(p, SCHEMA)["sequence"].tolist() == ["a"]


def test_refuses_to_write_without_declared_columns(tmp_path):
    with pytest.raises(IndexFileError):
        write_index(tmp_path / "index.csv", pd.DataFrame({"group": ["g"]}), SCHEMA)
    assert not (tmp_path / "index.csv").exists()


def _worker(args):
    path, start = args
    for i in range(start, start + 15):
        upsert_index(path, [{"group": "g", "sequence": f"s{i:03d}", "abs_path": f"p{i}", "n": i}], SCHEMA)


def test_concurrent_upserts_lose_no_rows(tmp_path):
    p = str(tmp_path / "index.csv")
    ctx = mp.get_context("fork")
    with ctx.Pool(3) as pool:
        pool.map(_worker, [(p, 0), (p, 100), (p, 200)])
    back = read_index(p, SCHEMA)
    assert len(back) == 45
    assert sorted(back["n"].tolist()) == sorted(list(range(0, 15)) + list(range(100, 115)) + list(range(200, 215)))


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(names, names, st.integers(-(10**12), 10**12)),
        min_size=1,
        max_size=8,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_index_round_trip_property(tmp_path_factory, rows):
    p = tmp_path_factory.mktemp("idx") / "index.csv"
    df = pd.DataFrame([{"group": g, "sequence": s, "abs_path": f"{g}/{s}", "n": n} for g, s, n in rows])
    write_index(p, df, SCHEMA)
    back = read_index(p, SCHEMA)
    expect = df.sort_values(["group", "sequence"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expect, check_dtype=False)
