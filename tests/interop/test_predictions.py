"""A trained model's predictions go to BORIS for review and come back as labels, unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mosaic import Dataset
from mosaic.core.errors import SequenceNotFoundError


def test_predictions_to_boris_and_back(tmp_path: Path):
    from mosaic.demo import make_demo_dataset

    make_demo_dataset(tmp_path / "d", size="tiny")
    ds = Dataset.open(tmp_path / "d")
    ds.index_tracks_raw(["tracks_raw/trex"], src_format="trex_npz", patterns=["*.npz"], group_from="parent")
    ds.convert_all_tracks()
    ds.convert_all_labels(kind="behavior", params={"paths": ["annotations/boris_aggregated"]})
    ds.index_media()
    with pytest.raises(SequenceNotFoundError, match="predictions"):
        ds.export_boris(model="clf")
    ds.run_feature("speed")
    ds.train_model(
        "clf",
        {
            "features": ["speed"],
            "label_kind": "behavior",
            "cv_folds": 2,
            "estimator": "random_forest",
            "estimator_params": {"n_estimators": 10},
            "max_train_rows": 3000,
            "plots": False,
        },
    )
    res = ds.predict("clf")
    pred = ds.load_feature("clf__pred", run_id=res.run_id)
    skip = sorted(pred["pred"].astype(str).unique())[:1]  # leave one class out, as a background class would be
    path = ds.export_boris(model="clf", skip=skip)
    assert path == ds.folder / "exports" / "boris" / "clf.boris"
    ds.import_boris(path, kind="reviewed")
    for (g, s), p in pred.groupby(["group", "sequence"]):
        p = p[~p["pred"].astype(str).isin(skip)]
        want = set(zip(p["frame"].astype(int), p["id"].astype(int), p["pred"].astype(str), strict=True))
        lab = ds.load_labels(g, s, kind="reviewed")
        names = np.asarray(lab["label_names"])[np.searchsorted(lab["label_ids"], lab["labels"])]
        got = set(zip(lab["frames"].tolist(), lab["individual_ids"][:, 0].tolist(), names.tolist(), strict=True))
        assert got == want and (lab["individual_ids"][:, 1] == -1).all()
