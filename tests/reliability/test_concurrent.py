"""Concurrent runs on one dataset lose no index rows (real processes, released together)."""

from __future__ import annotations

import pytest

from tests.reliability.concurrency import (
    interleave_split,
    make_many_recordings,
    run_concurrently,
)

pytestmark = pytest.mark.slow  # end-to-end: the fast suite is `pytest -m "not slow"`


@pytest.fixture
def many(tmp_path):
    from mosaic import Dataset

    ds = Dataset.create(tmp_path / "ds", name="concurrent")
    return ds, make_many_recordings(ds, n_groups=2, n_per_group=12)


def _listed(ds):
    from mosaic.core.indexes import TRACKS_INDEX, read_index

    idx = read_index(ds.get_root("tracks") / "index.csv", TRACKS_INDEX)
    return set(zip(idx["group"], idx["sequence"])), idx


def test_two_processes_converting_lose_no_rows(many, tmp_path):
    ds, rows = many
    expected = {(r["group"], r["sequence"]) for r in rows}
    assert len(expected) == 24
    run_concurrently("convert", ds.folder, interleave_split(rows, 2), tmp_path)
    listed, idx = _listed(ds)
    assert expected - listed == set(), f"rows lost: {sorted(expected - listed)}"
    assert len(idx) == len(expected), "duplicate index rows"
    for p in idx["abs_path"]:
        assert ds.resolve_path(p).is_file()
    # a second concurrent round (overwriting) keeps every row too
    run_concurrently("convert", ds.folder, interleave_split(rows[::-1], 2), tmp_path)
    listed, idx = _listed(ds)
    assert listed == expected and len(idx) == len(expected)


def test_two_processes_featurizing_lose_no_rows(many, tmp_path):
    from mosaic.core.indexes import read_index
    from mosaic.features.engine import FEATURES_INDEX, feature_index_path

    ds, rows = many
    ds.convert_all_tracks(params={"fps": 25.0})
    expected = {(r["group"], r["sequence"]) for r in rows}
    run_concurrently("featurize", ds.folder, interleave_split(rows, 2), tmp_path)
    idx = read_index(feature_index_path(ds, "kinematics"), FEATURES_INDEX)
    listed = set(zip(idx["group"], idx["sequence"]))
    assert expected - listed == set(), f"rows lost: {sorted(expected - listed)}"
    assert len(idx) == len(expected)
    for p in idx["abs_path"]:
        assert ds.resolve_path(p).is_file()
