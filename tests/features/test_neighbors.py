"""Neighbourhood-limited pair and nearest-neighbour features equal all pairs restricted to the neighbourhood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mosaic.features.neighbors as nb_mod
from mosaic.core.errors import FeatureError
from mosaic.features.neighbors import select_neighbors
from mosaic.features.pair import AUTO_K, PairFeatures
from mosaic.features.social import NearestNeighbor

from .helpers import long_table

FPS = 10.0
KEY = ["frame", "id", "id2"]


def _walk(T, n, seed, nan_frac=0.05, ids=None):
    rng = np.random.default_rng(seed)
    X = 50 * rng.random((1, n)) + np.cumsum(rng.normal(size=(T, n)), axis=0)
    Y = 50 * rng.random((1, n)) + np.cumsum(rng.normal(size=(T, n)), axis=0)
    X[rng.random((T, n)) < nan_frac] = np.nan
    df = long_table("g", "s", X, Y, FPS, ids=ids)
    df.attrs.update({"fps": FPS, "cm_per_pixel": 0.5, "group": "g", "sequence": "s"})
    return df, X, Y


def _brute(X, Y, k, radius):
    """Independent reference: per frame and focal, partners sorted by distance (python loops)."""
    out = set()
    T, n = X.shape
    for t in range(T):
        for i in range(n):
            cand = []
            for j in range(n):
                if j == i:
                    continue
                d = float(np.hypot(X[t, j] - X[t, i], Y[t, j] - Y[t, i]))
                if np.isfinite(d) and (radius is None or d <= radius):
                    cand.append((d, j))
            cand.sort()
            for r, (_, j) in enumerate(cand[: (k or n)]):
                out.add((t, i, j, r + 1))
    return out


@pytest.mark.parametrize("k,radius", [(1, None), (3, None), (None, 15.0), (2, 12.0), (50, None)])
@pytest.mark.parametrize("path", ["dense", "tree"])
def test_select_neighbors_matches_brute_force(monkeypatch, k, radius, path):
    if path == "tree":
        monkeypatch.setattr(nb_mod, "DENSE_MAX_N", 1)
    _, X, Y = _walk(25, 9, seed=4)
    t, i, j, rank = select_neighbors(X, Y, k, radius)
    got = set(zip(t.tolist(), i.tolist(), j.tolist(), rank.tolist(), strict=True))
    assert got == _brute(X, Y, k, radius)
    assert len(got) == len(t)  # no duplicates
    # ordered by (t, i, rank)
    order = np.lexsort((rank, i, t))
    assert np.array_equal(order, np.arange(len(t)))


def test_select_neighbors_tree_never_crosses_frames(monkeypatch):
    # one animal per frame after frame 0: nobody has a neighbour there, however close other frames are
    monkeypatch.setattr(nb_mod, "DENSE_MAX_N", 1)
    X = np.array([[0.0, 1.0, 2.0], [0.0, np.nan, np.nan], [0.0, np.nan, np.nan]])
    Y = np.zeros_like(X)
    t, i, j, rank = select_neighbors(X, Y, 2, None)
    assert set(t.tolist()) == {0}
    assert set(zip(i.tolist(), j.tolist(), rank.tolist(), strict=True)) == {
        (0, 1, 1),
        (0, 2, 2),
        (1, 0, 1),
        (1, 2, 2),
        (2, 1, 1),
        (2, 0, 2),
    }


def _restricted(all_pairs: pd.DataFrame, k, radius) -> pd.DataFrame:
    """All-pairs rows kept for the k nearest partners (finite distance, within radius), ranked."""
    a = all_pairs[np.isfinite(all_pairs["distance_px"])].copy()
    if radius is not None:
        a = a[a["distance_px"] <= radius]
    a = a.sort_values(["frame", "id", "distance_px", "id2"], kind="stable")
    a["neighbor_rank"] = a.groupby(["frame", "id"]).cumcount() + 1
    if k is not None:
        a = a[a["neighbor_rank"] <= k]
    return a.set_index(KEY).sort_index()


@pytest.mark.parametrize("k,radius", [(1, None), (3, None), (None, 20.0), (2, 15.0)])
@pytest.mark.parametrize("path", ["dense", "tree"])
def test_k_neighbour_pairs_equal_all_pairs_restricted(monkeypatch, k, radius, path):
    if path == "tree":
        monkeypatch.setattr(nb_mod, "DENSE_MAX_N", 1)
    df, _, _ = _walk(40, 7, seed=11)
    df["ANGLE"] = np.random.default_rng(1).uniform(-np.pi, np.pi, len(df))
    full = PairFeatures(neighbors="all").apply(df)
    params = {"neighbors": k if k is not None else "auto", "radius": radius}
    got = PairFeatures(**params).apply(df).set_index(KEY).sort_index()
    want = _restricted(full, k, radius)
    assert len(got) == len(want) > 0
    assert got.index.equals(want.index)
    cols = [c for c in full.columns if c not in KEY]
    assert {"approach_px_s", "ego_x_cm", "facing_rad", "rel_speed_px_s"} <= set(cols)
    # the same floating-point operations: exactly equal, NaN where all-pairs has NaN
    pd.testing.assert_frame_equal(got[cols + ["neighbor_rank"]], want[cols + ["neighbor_rank"]], check_exact=True)


def test_auto_is_all_pairs_for_small_groups_and_k_nearest_for_large():
    small, _, _ = _walk(6, 5, seed=2, nan_frac=0.0)
    pd.testing.assert_frame_equal(PairFeatures().apply(small), PairFeatures(neighbors="all").apply(small))
    assert "neighbor_rank" not in PairFeatures().apply(small).columns
    big, _, _ = _walk(3, 40, seed=2, nan_frac=0.0)
    out = PairFeatures(outputs=["distance"]).apply(big)
    assert len(out) == 3 * 40 * AUTO_K
    assert (
        out.groupby(["frame", "id"])["neighbor_rank"].apply(list).map(lambda r: r == list(range(1, AUTO_K + 1))).all()
    )
    want = _restricted(PairFeatures(outputs=["distance"], neighbors="all").apply(big), AUTO_K, None)
    pd.testing.assert_frame_equal(out.set_index(KEY).sort_index(), want[list(out.columns[3:])], check_exact=True)


def test_streamed_chunks_with_neighbours_equal_whole(monkeypatch):
    import mosaic.features.pair as pair_mod

    df, _, _ = _walk(30, 6, seed=5)
    whole = PairFeatures(neighbors=2).apply(df)
    monkeypatch.setattr(pair_mod, "CHUNK_FRAMES", 7)
    chunks = list(PairFeatures(neighbors=2).apply_chunks(df))
    assert len(chunks) == 5
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)


@pytest.mark.parametrize("path", ["dense", "tree"])
def test_nearest_neighbor_paths_agree_with_all_pairs(monkeypatch, path):
    if path == "tree":
        monkeypatch.setattr(nb_mod, "DENSE_MAX_N", 1)
    df, _, _ = _walk(30, 8, seed=9, ids=[f"a{c}" for c in range(8)])
    nn = NearestNeighbor(k=3, radius=18.0).apply(df)
    ref = _restricted(PairFeatures(outputs=["distance"], neighbors="all").apply(df), 3, 18.0).reset_index()
    for r in (1, 2, 3):
        part = ref[ref["neighbor_rank"] == r].set_index(["frame", "id"])
        got = nn.set_index(["frame", "id"])
        have = got[f"nn{r}_dist_px"].notna()
        assert set(got.index[have]) == set(part.index)
        np.testing.assert_array_equal(got.loc[part.index, f"nn{r}_dist_px"].to_numpy(), part["distance_px"].to_numpy())
        assert got.loc[part.index, f"nn{r}_id"].tolist() == part["id2"].tolist()
        assert got.loc[~have, f"nn{r}_id"].isna().all()


@pytest.mark.parametrize(
    "params",
    [
        {"neighbors": 0},
        {"neighbors": "some"},
        {"neighbors": True},
        {"radius": -1.0},
        {"radius": float("nan")},
        {"radius": "5"},
    ],
)
def test_bad_neighbourhood_params(params):
    with pytest.raises(FeatureError):
        PairFeatures(**params)


@pytest.mark.parametrize("radius", [0, -2.0, "x"])
def test_bad_nn_radius(radius):
    with pytest.raises(FeatureError, match="radius"):
        NearestNeighbor(radius=radius)
