"""The `export` pipeline writes through the catalog what the facade writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from mosaic.interop.nwb import read_nwb_intervals, read_nwb_pose

from .conftest import build_dataset

PROJECT = Path(__file__).resolve().parents[2]


def _events(path: Path) -> dict:
    pj = json.loads(path.read_text())
    return {k: (o["events"], o["file"], o["media_info"]["fps"]) for k, o in pj["observations"].items()}


def test_export_pipeline_matches_the_facade(tmp_path: Path, monkeypatch):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    a = build_dataset(tmp_path / "a")
    monkeypatch.chdir(PROJECT)
    bootstrap_project(PROJECT)
    with KedroSession.create(project_path=PROJECT, runtime_params={"dataset_dir": str(a.folder)}) as session:
        session.run(pipeline_names=["export"])
    out = a.folder / "exports"
    assert sorted(p.name for p in (out / "movement").glob("*.nc")) == ["g1__rec%20a.nc", "g2__rec_b.nc"]
    assert sorted(p.name for p in (out / "nwb").glob("*.nwb")) == ["g1__rec%20a.nwb", "g2__rec_b.nwb"]
    # the facade on an identical dataset writes the same content
    b = build_dataset(tmp_path / "b")
    fac_nc = b.export_movement(out_dir=tmp_path / "fac_nc")
    fac_nwb = b.export_nwb(out_dir=tmp_path / "fac_nwb", label_kinds=["behavior"])
    fac_boris = b.export_boris(tmp_path / "fac" / "review.boris")
    for p in fac_nc:
        x, y = xr.load_dataset(p), xr.load_dataset(out / "movement" / p.name)
        np.testing.assert_array_equal(x["position"].values, y["position"].values)
        np.testing.assert_array_equal(x["confidence"].values, y["confidence"].values)
        assert list(x["individuals"].values) == list(y["individuals"].values)
    for p in fac_nwb:
        x, _ = read_nwb_pose(p, group="g", sequence="s")
        y, _ = read_nwb_pose(out / "nwb" / p.name, group="g", sequence="s")
        assert x.equals(y)
    ti = read_nwb_intervals(out / "nwb" / "g1__rec%20a.nwb", "behavior_behavior")
    assert ti.equals(read_nwb_intervals(fac_nwb[0], "behavior_behavior"))
    pipe, fac = _events(out / "boris" / "review.boris"), _events(fac_boris)
    assert list(pipe) == list(fac) == ["g1/rec a"]
    assert pipe["g1/rec a"][0] == fac["g1/rec a"][0]
    assert list(pipe["g1/rec a"][2].values()) == list(fac["g1/rec a"][2].values()) == [25.0]
    assert pipe["g1/rec a"][1]["1"] == ["../../media_raw/g1/rec a.mp4"]


def test_export_is_not_in_the_default_pipeline():
    from mosaic.pipeline_registry import register_pipelines

    pipes = register_pipelines()
    assert {n.name for n in pipes["export"].nodes} == {"export_movement", "export_nwb", "export_boris"}
    assert not {n.name for n in pipes["export"].nodes} & {n.name for n in pipes["__default__"].nodes}
