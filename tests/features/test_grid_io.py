"""The dense grid (flat cell index), in-place angle wrapping / derivatives, and the engine's reading.

References are written out independently here (explicit loops / textbook formulas).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mosaic.features.grid import Grid, derivative, wrap_angle


def _naive_wrap(a):
    a = np.asarray(a, dtype=np.float64)
    r = a - 2 * np.pi * np.floor((a + np.pi) / (2 * np.pi))
    r[r == -np.pi] = np.pi
    return r


def test_grid_matches_naive_pivot():
    frame = np.array([5, 5, 6, 8, 8, 8], dtype=np.int64)
    ids = np.array([2, 7, 7, 2, 3, 7], dtype=np.int64)
    g = Grid.from_long(frame, ids)
    assert (g.frame0, g.T, g.n) == (5, 4, 3)
    np.testing.assert_array_equal(g.ids, [2, 3, 7])
    np.testing.assert_array_equal(g.t, frame - 5)
    np.testing.assert_array_equal(g.i, [0, 2, 2, 0, 1, 2])
    vals = np.arange(6, dtype=np.float64) + 0.5
    d = g.dense(vals)
    expected = np.full((4, 3), np.nan)
    for v, f, k in zip(vals, frame, ids):
        expected[f - 5, [2, 3, 7].index(k)] = v
    np.testing.assert_array_equal(d, expected)
    np.testing.assert_array_equal(g.take(d), vals)
    pres = g.present()
    np.testing.assert_array_equal(pres, ~np.isnan(expected))
    # gather from a non-contiguous (broadcast) array and from (T, n, k) arrays
    col = np.arange(4.0)[:, None]
    np.testing.assert_array_equal(g.take(np.broadcast_to(col, (4, 3))), (frame - 5).astype(float))
    three = np.stack([expected, -expected], axis=2)
    np.testing.assert_array_equal(g.take(three), np.stack([vals, -vals], axis=1))


def test_grid_string_ids_single_entity_and_empty():
    g = Grid.from_long(np.array([0, 1, 1]), np.array(["b", "a", "b"], dtype=object))
    np.testing.assert_array_equal(g.ids, ["a", "b"])
    np.testing.assert_array_equal(g.i, [1, 0, 1])
    g1 = Grid.from_long(np.array([3, 4, 6]), np.array([9, 9, 9]))
    assert g1.n == 1 and g1.T == 4
    np.testing.assert_array_equal(g1.t, [0, 1, 3])
    np.testing.assert_array_equal(g1.i, [0, 0, 0])
    e = Grid.from_long(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert (e.T, e.n) == (0, 0) and e.dense(np.array([])).shape == (0, 0)
    # the (t, i) constructor still works
    g2 = Grid(5, 4, 3, np.array([2, 3, 7]), np.array([0, 3]), np.array([2, 1]))
    np.testing.assert_array_equal(g2.flat, [2, 10])


def test_wrap_angle_matches_formula():
    rng = np.random.default_rng(0)
    a = rng.uniform(-20, 20, (50, 3))
    a[3, 1] = np.nan
    a[4, 0], a[5, 0], a[6, 0] = np.pi, -np.pi, 3 * np.pi
    np.testing.assert_array_equal(wrap_angle(a), _naive_wrap(a))
    assert wrap_angle(a)[5, 0] == np.pi and np.isnan(wrap_angle(a)[3, 1])
    np.testing.assert_array_equal(wrap_angle(a[:, 1]), _naive_wrap(a[:, 1]))  # non-contiguous
    assert wrap_angle(a.astype(np.float32)).dtype == np.float64
    assert float(wrap_angle(np.float64(4.0))) == pytest.approx(4.0 - 2 * np.pi)
    big = rng.uniform(-50, 50, 200_000)  # more than one block
    np.testing.assert_array_equal(wrap_angle(big), _naive_wrap(big))


def _naive_central(x, dt, angular=False):
    w = _naive_wrap if angular else (lambda v: v)
    T = len(x)
    out = np.full(T, np.nan)
    for t in range(T):
        if np.isnan(x[t]):
            continue
        prev = x[t - 1] if t > 0 else np.nan
        nxt = x[t + 1] if t < T - 1 else np.nan
        if not np.isnan(prev) and not np.isnan(nxt):
            out[t] = float(w(np.array([nxt - prev]))[0]) / (2 * dt)
        elif not np.isnan(prev):
            out[t] = float(w(np.array([x[t] - prev]))[0]) / dt
        elif not np.isnan(nxt):
            out[t] = float(w(np.array([nxt - x[t]]))[0]) / dt
    return out


@pytest.mark.parametrize("angular", [False, True])
def test_derivative_matches_reference(angular):
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 1.5, 40))
    x[[0, 7, 8, 20, 39]] = np.nan
    x[22] = np.nan
    dt = 1 / 30
    np.testing.assert_allclose(
        derivative(x, dt, angular=angular), _naive_central(x, dt, angular), rtol=1e-12, equal_nan=True
    )
    back = derivative(x, dt, method="backward", angular=angular)
    w = _naive_wrap if angular else (lambda v: v)
    exp = np.concatenate([[np.nan], w(x[1:] - x[:-1]) / dt])
    np.testing.assert_allclose(back, exp, rtol=1e-12, equal_nan=True)
    # (T, n) input: each column like the 1-D case
    X = np.stack([x, x[::-1].copy()], axis=1)
    d2 = derivative(X, dt, angular=angular)
    np.testing.assert_allclose(d2[:, 1], _naive_central(x[::-1].copy(), dt, angular), rtol=1e-12, equal_nan=True)
    x_before = x.copy()
    derivative(x, dt, angular=angular)
    np.testing.assert_array_equal(x, x_before)  # input untouched


def test_engine_reads_the_same_table_as_pyarrow(dataset):
    """load_task_input (column-at-a-time reader) gives the table pyarrow's to_pandas gives."""
    from mosaic.features.engine import _build_tasks, load_task_input, select_sequences
    from mosaic.features.kinematics import Kinematics

    from .helpers import add_sequence, long_table

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    X[4, 1] = Y[4, 1] = np.nan
    add_sequence(dataset, long_table("g", "s", X, Y, 30.0, extra={"ANGLE": rng.uniform(-3, 3, (30, 3))}))
    feat = Kinematics(outputs=["speed", "heading"])
    scope = select_sequences(dataset)
    tp = {(g, s): str(dataset.resolve_path(p)) for g, s, p in zip(scope["group"], scope["sequence"], scope["abs_path"])}
    task = _build_tasks(
        dataset, feat, "r", scope, tp, {}, {k: "unused" for k in tp}, None, 0, {"fps_default": None, "cm_default": None}
    )[("g", "s")]
    data = load_task_input(task)
    path = tp[("g", "s")]
    expected = pq.read_table(path, columns=feat.track_columns(pq.read_schema(path).names)).to_pandas()
    pd.testing.assert_frame_equal(pd.DataFrame(data), expected)
    assert data.attrs["fps"] == 30.0
