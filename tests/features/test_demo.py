"""Features on the simulator's demo dataset (converted by the tracks domain) against its ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from mosaic.features import load_feature, run_feature


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import mosaic.demo as demo_mod
    from mosaic.tracks.convert import convert_all_tracks
    from mosaic.tracks.indexing import index_tracks_raw

    ds = demo_mod.make_demo_dataset(tmp_path_factory.mktemp("demo") / "demo", size="tiny", seed=0, videos=False)
    index_tracks_raw(
        ds, ds.get_root("tracks_raw") / "trex", src_format="trex_npz", patterns="*.npz", group_from="parent"
    )
    convert_all_tracks(ds)
    return ds


def _truth(ds, group, sequence):
    from mosaic.core.safe_names import sequence_key

    return np.load(ds.folder / "ground_truth" / f"{sequence_key(group, sequence)}.npz", allow_pickle=False)


def test_pair_distance_and_nearest_neighbour_match_truth(demo):
    run_feature(demo, "pair_distance")
    run_feature(demo, "nearest_neighbor")
    pdist = load_feature(demo, "pair_distance")
    nn = load_feature(demo, "nearest_neighbor")
    for (g, s), part in pdist.groupby(["group", "sequence"]):
        z = _truth(demo, g, s)
        pos, missing = z["pos"], z["missing"]
        f, i, j = part["frame"].to_numpy(), part["id"].to_numpy(), part["id2"].to_numpy()
        ok = ~missing[f, i] & ~missing[f, j]
        expect = np.hypot(*(pos[f, j] - pos[f, i]).T)
        np.testing.assert_allclose(part["distance_px"].to_numpy()[ok], expect[ok], rtol=1e-4, atol=1e-2)
        # nearest neighbour from the truth positions (detected animals only)
        d = np.hypot(pos[:, None, :, 0] - pos[:, :, None, 0], pos[:, None, :, 1] - pos[:, :, None, 1])
        d[missing[:, None, :] | missing[:, :, None] | np.eye(pos.shape[1], dtype=bool)[None]] = np.inf
        q = nn[(nn["group"] == g) & (nn["sequence"] == s)]
        fr, idx = q["frame"].to_numpy(), q["id"].to_numpy()
        has = np.isfinite(d[fr, idx].min(axis=1)) & ~missing[fr, idx]
        # ignore near-ties that float32 rounding of the export could flip
        srt = np.sort(d[fr, idx], axis=1)
        with np.errstate(invalid="ignore"):
            clear = has & ((srt[:, 1] - srt[:, 0]) > 1e-2)
        assert (q["nn1_id"].to_numpy()[clear].astype(int) == np.argmin(d[fr, idx], axis=1)[clear]).all()


def test_speed_in_cm_uses_cm_per_pixel(demo):
    run_feature(demo, "speed")
    sp = load_feature(demo, "speed")
    cm = demo.meta["cm_per_pixel"]
    np.testing.assert_allclose(sp["speed_cm_s"], sp["speed_px_s"] * cm, equal_nan=True)
    assert sp["speed_px_s"].notna().mean() > 0.9
