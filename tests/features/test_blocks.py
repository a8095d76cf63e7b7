"""A feature task's output file does not depend on how its recording is cut into blocks of frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mosaic.features.engine.writer as writer_mod
from mosaic.features.engine import plan_feature
from mosaic.features.engine.blocks import block_starts, output_chunks
from mosaic.features.engine.run import plan_tasks
from mosaic.features.engine.tasks import execute_task
from mosaic.features.kinematics import Kinematics
from mosaic.features.social import NearestNeighbor

from .helpers import add_sequence, long_table

FPS = 30.0
ALL_BUT_TORTUOSITY = ["velocity", "speed", "acceleration", "heading", "angular_velocity"]


def _recording(ds, T: int = 900, n: int = 5, seed: int = 3) -> None:
    """Random walkers with missing detections, missing rows and a gap of whole frames; an ANGLE column."""
    rng = np.random.default_rng(seed)
    X = 100 + np.cumsum(rng.normal(size=(T, n)), axis=0)
    Y = 100 + np.cumsum(rng.normal(size=(T, n)), axis=0)
    X[rng.random((T, n)) < 0.03] = np.nan
    angle = rng.uniform(-np.pi, np.pi, size=(T, n))
    df = long_table("g", "s", X, Y, FPS, extra={"ANGLE": angle})
    drop = (rng.random(len(df)) < 0.02) | df["frame"].between(400, 410).to_numpy()
    add_sequence(ds, df[~drop].reset_index(drop=True))


def _task(ds, feature):
    plan = plan_feature(ds, feature, parallel_mode="serial").plan
    return next(iter(plan_tasks(ds, plan).values()))


def _file_bytes(ds, feature, block_rows: int) -> bytes:
    task = _task(ds, feature)
    task.block_rows = block_rows
    execute_task(task)
    return Path(task.out_path).read_bytes()


def _count_apply(monkeypatch, cls) -> list[int]:
    calls: list[int] = []
    original = cls.apply

    def counted(self, data):
        calls.append(len(data))
        return original(self, data)

    monkeypatch.setattr(cls, "apply", counted)
    return calls


@pytest.mark.parametrize(
    "params",
    [
        {"outputs": ALL_BUT_TORTUOSITY},  # heading from ANGLE, central differences
        {"outputs": ALL_BUT_TORTUOSITY, "heading_source": "motion", "min_speed": 2.0},  # derivative of a derivative
        {"outputs": ["velocity", "angular_velocity"], "method": "backward", "heading_source": "motion"},
    ],
)
@pytest.mark.parametrize("block_rows", [1, 37, 400, 1999])
def test_kinematics_file_is_the_same_in_blocks(dataset, monkeypatch, params, block_rows):
    monkeypatch.setattr(writer_mod, "ROW_GROUP_ROWS", 300)  # several row groups, not aligned with the blocks
    _recording(dataset)
    whole = _file_bytes(dataset, Kinematics(params), 10**9)
    calls = _count_apply(monkeypatch, Kinematics)
    assert _file_bytes(dataset, Kinematics(params), block_rows) == whole
    assert len(calls) > 1 and max(calls) <= block_rows + 5 * (2 * 2 + 1)  # blocks of frames, each with its halo


def test_blocks_without_the_halo_would_differ(dataset, monkeypatch):
    """The halo is what makes blocks exact: without it values at block edges change."""
    _recording(dataset)
    feat = Kinematics({"outputs": ["acceleration"]})
    whole = _file_bytes(dataset, feat, 10**9)
    monkeypatch.setattr(Kinematics, "frame_halo", lambda self: 0)
    assert _file_bytes(dataset, feat, 200) != whole


def test_tortuosity_is_never_split(dataset, monkeypatch):
    _recording(dataset)
    calls = _count_apply(monkeypatch, Kinematics)
    _file_bytes(dataset, Kinematics({"outputs": ["speed", "tortuosity"]}), 50)
    assert len(calls) == 1


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_nearest_neighbor_file_is_the_same_in_chunks(dataset, monkeypatch, chunk):
    import mosaic.features.social as social_mod

    monkeypatch.setattr(writer_mod, "ROW_GROUP_ROWS", 300)
    _recording(dataset)
    feat = NearestNeighbor({"k": 2})
    whole = _file_bytes(dataset, feat, 10**9)
    monkeypatch.setattr(social_mod, "CHUNK_FRAMES", chunk)
    task = _task(dataset, feat)
    data = pd.read_parquet(task.sources[0].path, columns=["frame", "id", "X", "Y"])
    data.attrs.update({"fps": FPS, "group": "g", "sequence": "s"})
    assert len(list(output_chunks(feat, data))) > 1
    assert _file_bytes(dataset, feat, 10**9) == whole


def test_rows_out_of_frame_order_give_one_chunk_in_input_order():
    rng = np.random.default_rng(0)
    n, T = 3, 40
    df = pd.DataFrame(
        {
            "frame": np.repeat(np.arange(T), n),
            "id": np.tile(np.arange(n), T),
            "X": rng.random(n * T) * 10,
            "Y": rng.random(n * T) * 10,
            "ANGLE": rng.random(n * T),
        }
    )
    df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df.attrs.update({"fps": FPS, "group": "g", "sequence": "s"})
    for feat in (Kinematics({"outputs": ["speed"]}), NearestNeighbor({"k": 1})):
        chunks = list(output_chunks(feat, df, block_rows=5))
        assert len(chunks) == 1
        np.testing.assert_array_equal(chunks[0]["frame"].to_numpy(), df["frame"].to_numpy())
        pd.testing.assert_frame_equal(chunks[0], feat.apply(df))


def test_block_starts_are_frames_of_every_nth_row():
    frame = np.array([0, 0, 1, 1, 1, 1, 5, 6, 6, 9])
    np.testing.assert_array_equal(block_starts(frame, 3), [0, 1, 5, 9])
    np.testing.assert_array_equal(block_starts(frame, 100), [0])
