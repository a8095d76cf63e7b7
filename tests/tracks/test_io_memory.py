"""The column-at-a-time track reader (read_track_arrays / read_tracks) and memory helpers.

Expected values come from the arrays written and from pyarrow's own ``read_table().to_pandas()``
(the reader this one replaces), never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mosaic.core.errors import SchemaError, TrackFormatError
from mosaic.tracks.convert import count_distinct
from mosaic.tracks.io import (
    read_track_arrays,
    read_tracks,
    release_unused_memory,
    write_tracks,
)


def _table(n_frames: int = 50, ids=(0, 1, 3)) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = len(ids)
    frame = np.repeat(np.arange(n_frames, dtype=np.int64), n)
    x = rng.normal(size=n_frames * n)
    x[::7] = np.nan
    return pd.DataFrame(
        {
            "frame": frame,
            "time": frame / 30.0,
            "id": np.tile(np.asarray(ids, dtype=np.int64), n_frames),
            "X": x,
            "Y": rng.normal(size=n_frames * n),
            "missing": np.isnan(x),
            "group": pd.Categorical(["g1"] * (n_frames * n)),
            "sequence": pd.Categorical(["s 1"] * (n_frames * n)),
        }
    )


@pytest.fixture
def track_file(tmp_path):
    df = _table()
    path = tmp_path / "g1__s_1.parquet"
    write_tracks(df, path, {"fps": 30.0})
    return path, df


def test_read_tracks_equals_pyarrow_to_pandas(track_file):
    path, _ = track_file
    expected = pq.read_table(path).to_pandas()
    pd.testing.assert_frame_equal(read_tracks(path), expected)
    cols = ["id", "X", "frame"]
    pd.testing.assert_frame_equal(read_tracks(path, columns=cols), pq.read_table(path, columns=cols).to_pandas()[cols])


def test_read_track_arrays_values_dtypes_and_order(track_file):
    path, df = track_file
    arrs = read_track_arrays(path, ["Y", "frame", "missing", "group"])
    assert list(arrs) == ["Y", "frame", "missing", "group"]
    assert arrs["frame"].dtype == np.int64 and arrs["missing"].dtype == bool
    np.testing.assert_array_equal(arrs["frame"], df["frame"].to_numpy())
    np.testing.assert_array_equal(arrs["Y"], df["Y"].to_numpy())
    np.testing.assert_array_equal(arrs["missing"], df["missing"].to_numpy())
    assert list(arrs["group"]) == ["g1"] * len(df)
    everything = read_track_arrays(path)
    assert list(everything) == list(df.columns)
    np.testing.assert_array_equal(everything["X"], df["X"].to_numpy())  # NaN kept as NaN


def test_arrays_are_numpy_owned_and_arrow_keeps_nothing(tmp_path):
    path = tmp_path / "g1__big.parquet"
    write_tracks(_table(n_frames=100_000), path, {"fps": 30.0})
    before = pa.total_allocated_bytes()
    arrs = read_track_arrays(path, ["frame", "id", "X"])
    for a in arrs.values():
        assert isinstance(a, np.ndarray) and a.flags.writeable
    # every buffer was moved into numpy memory: arrow keeps none of the 7.2 MB read (the
    # allowance is for small allocations of other threads, far below one column)
    read = sum(a.nbytes for a in arrs.values())
    assert read == 3 * 300_000 * 8
    assert pa.total_allocated_bytes() - before < read // 100
    arrs["X"][0] = 1.0  # writable, independent of the file


def test_several_row_groups_and_nulls(tmp_path):
    path = tmp_path / "rg.parquet"
    ids = pa.array([1, None, 3, 4, 5, 6, 7], type=pa.int64())
    t = pa.table(
        {
            "frame": pa.array(np.arange(7, dtype=np.int64)),
            "id": ids,
            "X": pa.array([0.5, 1.5, None, 3.5, 4.5, 5.5, 6.5]),
        }
    )
    pq.write_table(t, path, row_group_size=3)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    arrs = read_track_arrays(path)
    np.testing.assert_array_equal(arrs["frame"], np.arange(7))
    np.testing.assert_array_equal(arrs["id"], [1, np.nan, 3, 4, 5, 6, 7])  # int with nulls -> float NaN, as pandas
    np.testing.assert_array_equal(arrs["X"], [0.5, 1.5, np.nan, 3.5, 4.5, 5.5, 6.5])
    pd.testing.assert_frame_equal(read_tracks(path), pq.read_table(path).to_pandas())


def test_empty_file(tmp_path):
    df = _table().iloc[:0]
    path = tmp_path / "empty.parquet"
    write_tracks(df, path)
    out = read_tracks(path)
    assert len(out) == 0 and list(out.columns) == list(df.columns)
    assert out["frame"].dtype == np.int64


def test_pandas_written_file_keeps_its_index(tmp_path):
    df = pd.DataFrame({"frame": [3, 4], "X": [1.0, 2.0]}, index=[10, 20])
    path = tmp_path / "pandas.parquet"
    df.to_parquet(path)
    pd.testing.assert_frame_equal(read_tracks(path), pd.read_parquet(path))


def test_bad_inputs_name_the_file(tmp_path, track_file):
    path, _ = track_file
    with pytest.raises(SchemaError) as e:
        read_track_arrays(path, ["frame", "nope"])
    assert path.name in str(e.value) and "nope" in str(e.value)
    missing = tmp_path / "absent.parquet"
    with pytest.raises(TrackFormatError) as e:
        read_track_arrays(missing)
    assert "absent.parquet" in str(e.value)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(TrackFormatError) as e:
        read_tracks(junk)
    assert "junk.parquet" in str(e.value)


def test_count_distinct_matches_set():
    rng = np.random.default_rng(0)
    for values in (
        rng.integers(0, 9, 1000),
        rng.integers(-5, 3, 100),
        np.array([2**40, 7, 7]),
        np.array([], dtype=np.int64),
        np.array([1.5, 1.5, np.nan, 2.0]),
    ):
        assert count_distinct(values) == len(pd.unique(values))
    assert count_distinct(np.array([3, 3, 3])) == len({3})
    assert type(count_distinct(np.array([3, 4]))) is int  # JSON-serializable in the parquet metadata


def test_release_unused_memory_is_harmless(track_file):
    path, df = track_file
    arrs = read_track_arrays(path, ["X"])
    release_unused_memory()
    np.testing.assert_array_equal(arrs["X"], df["X"].to_numpy())
