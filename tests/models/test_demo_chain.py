"""The simulator's behaviours are learnt from computed features: sequence-held-out macro F1 >= 0.85."""

from __future__ import annotations

import pytest

from mosaic import Dataset
from mosaic.models import load_run, predict, train_model
from mosaic.models.demo_chain import (
    DEMO_CLASSIFIER_CONFIG,
    run_default_features,
    write_sim_tracks_and_labels,
)


@pytest.fixture(scope="module")
def demo_ds(tmp_path_factory):
    from mosaic.demo import simulate

    ds = Dataset.create(tmp_path_factory.mktemp("demo") / "ds", name="demo", meta={"fps_default": 30.0})
    sims = simulate(n_groups=2, n_sequences=2, n_animals=(2, 3), n_frames=600, fps=30.0, seed=11)
    write_sim_tracks_and_labels(ds, sims)
    return ds, run_default_features(ds)


def test_demo_classifier_macro_f1_sequence_held_out(demo_ds):
    ds, results = demo_ds
    cfg = {
        **DEMO_CLASSIFIER_CONFIG,
        "features": list(results),  # feature Results are accepted as inputs
        "estimator_params": {"max_iter": 40},
        "max_ethograms": 1,
    }
    rid = train_model(ds, "demo_clf", cfg)
    m = load_run(ds, ("demo_clf", rid))["metrics"]
    print(f"demo (2x2 sequences x 600 frames) sequence-held-out macro F1 = {m['macro_f1']:.3f}", m["per_class_f1"])
    assert m["evaluation"] == "cv"
    assert set(m["cv"]["macro_f1_classes"]) == {"rest", "explore", "approach", "contact"}
    assert m["macro_f1"] >= 0.85
    # predictions chain as a feature into the features engine
    from mosaic.features.base import Inputs, Result
    from mosaic.features.engine import run_feature
    from mosaic.features.registry import make_feature

    pred = predict(ds, ("demo_clf", rid))
    roll = make_feature(
        {
            "name": "rolling",
            "params": {"windows": [5], "stats": ["mean"], "columns": ["prob_approach"]},
            "inputs": Inputs((Result(pred.feature, pred.run_id),)),
        }
    )
    out = run_feature(ds, roll)
    assert len(out.paths) == 4
