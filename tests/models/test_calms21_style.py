"""End to end on the simulator's CalMS21-style file (resident–intruder mice, attack/investigation/mount/other).

The real CalMS21 files are not available (see shared/realdata/PROVENANCE.md); this runs the same
chain on the demo's CalMS21-layout file: tracks and labels converted by their domains, features by
the engine, then a pair classifier with ``other`` as the background label (excluded from macro F1).
"""

from __future__ import annotations

from mosaic import Dataset
from mosaic.models import load_run, train_model
from mosaic.models.demo_chain import run_default_features


def test_calms21_style_pair_classifier(tmp_path):
    from mosaic.demo import simulate_calms21, write_calms21_npy
    from mosaic.tracks import convert_all_tracks, index_tracks_raw

    ds = Dataset.create(tmp_path / "ds", name="calms21-style")
    raw = ds.get_root("tracks_raw") / "calms21"
    raw.mkdir(parents=True)
    npy = write_calms21_npy(simulate_calms21(n_sequences=3, n_frames=1200, seed=1), raw / "calms21_demo.npy")
    index_tracks_raw(ds, raw, src_format="calms21_npy", multi_sequences_per_file=True)
    convert_all_tracks(ds, params={"fps": 30.0})
    ds.convert_all_labels(kind="calms21", params={"paths": [str(npy)]}, source_format="calms21_npy")
    feats = run_default_features(ds)
    rid = train_model(
        ds,
        "calms21",
        {
            "features": feats,
            "label_kind": "calms21",
            "background_label": "other",
            "target": "pair",
            "cv_folds": 3,
            "estimator_params": {"max_iter": 40},
            "min_bout": 5,
            "plots": False,
        },
    )
    m = load_run(ds, ("calms21", rid))["metrics"]
    print(
        f"CalMS21-style demo, pair classifier: macro F1 over attack/investigation/mount = {m['macro_f1']:.3f}",
        {k: round(v, 3) for k, v in m["per_class_f1"].items()},
    )
    assert m["cv"]["macro_f1_classes"] == ["attack", "investigation", "mount"]
    assert len(m["folds"]) == 3 and all(len(f["test_sequences"]) == 1 for f in m["folds"])
    assert m["macro_f1"] >= 0.8  # simulated, well-separated behaviours; real CalMS21 baselines are ~0.79
