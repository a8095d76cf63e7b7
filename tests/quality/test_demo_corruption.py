"""The demo's optional corruption layer: the default demo is unchanged, the truth is kept beside."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from mosaic.core.errors import ConfigError
from mosaic.demo import make_demo_dataset
from mosaic.demo.corrupt import CorruptionConfig, corrupt_sequence
from mosaic.demo.simulate import simulate


def _files(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("corr")
    make_demo_dataset(root / "plain", size="tiny", seed=3, videos=False)
    make_demo_dataset(root / "corrupt", size="tiny", seed=3, videos=False, corruption=True)
    return root / "plain", root / "corrupt"


def test_corruption_changes_only_the_tracker_exports(pair):
    plain, corrupt = (_files(p) for p in pair)
    changed = {k for k in plain if plain[k] != corrupt.get(k)}
    assert changed and all(k.startswith("tracks_raw/trex/") for k in changed - {"ground_truth/demo.json"})
    added = set(corrupt) - set(plain)
    assert added and all(k.startswith("ground_truth/corruption/") for k in added)
    for k in plain:  # clean truth, labels, CalMS21: byte-identical
        if k.startswith(("ground_truth/", "annotations/", "tracks_raw/calms21")) and k != "ground_truth/demo.json":
            assert plain[k] == corrupt[k], k
    assert "corruption" not in json.loads((pair[0] / "ground_truth" / "demo.json").read_text())
    assert (
        json.loads((pair[1] / "ground_truth" / "demo.json").read_text())["corruption"]["p_swap"]
        == CorruptionConfig().p_swap
    )


def test_default_demo_is_the_same_with_corruption_off(tmp_path, pair):
    make_demo_dataset(tmp_path / "off", size="tiny", seed=3, videos=False, corruption=False)
    assert _files(tmp_path / "off") == _files(pair[0])


def test_export_holds_the_recorded_observation(pair):
    rec = np.load(pair[1] / "ground_truth" / "corruption" / "group_0__group_0_seq0.npz")
    truth = np.load(pair[1] / "ground_truth" / "group_0__group_0_seq0.npz")
    obs = rec["observed_pos"]
    T, n = rec["identity"].shape
    exp = np.take_along_axis(truth["pos"], rec["identity"][..., None].repeat(2, -1), axis=1)
    ok = ~rec["observed_missing"] & ~rec["jumps"]
    assert np.sqrt(np.mean((obs - exp)[ok] ** 2)) < 1.5 * CorruptionConfig().jitter_px
    trex = np.load(pair[1] / "tracks_raw" / "trex" / "group_0" / "group_0_seq0_fish0.npz")
    f = trex["frame"].astype(int)
    seen = trex["missing"] == 0
    np.testing.assert_allclose(trex["X#wcentroid"][seen] / trex["cm_per_pixel"][0], obs[f[seen], 0, 0], atol=1e-3)


def test_corruption_is_reproducible_and_validated():
    sim = simulate(1, 1, 3, 300, 30.0, seed=0)[0]
    a, ra = corrupt_sequence(sim, seed=4)
    b, rb = corrupt_sequence(sim, seed=4)
    np.testing.assert_array_equal(a.pos, b.pos)
    assert ra.swaps.equals(rb.swaps)
    with pytest.raises(ConfigError, match="corruption"):
        corrupt_sequence(sim, CorruptionConfig(jump_rate=2.0))


def test_existing_demo_with_other_corruption_is_not_reused(pair):
    with pytest.raises(ConfigError, match="other parameters"):
        make_demo_dataset(pair[0], size="tiny", seed=3, videos=False, corruption=True)
