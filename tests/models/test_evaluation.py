"""Grouped CV never leaks a recording; metrics and bout smoothing on hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest

from mosaic.core.errors import ConfigError, ModelError
from mosaic.models.config import ALLOWED_KEYS, resolve_config
from mosaic.models.evaluation import (
    assert_no_leak,
    classification_metrics,
    grouped_folds,
    run_lengths,
    sequence_keys,
    smooth_bouts,
)


@pytest.mark.parametrize("stratified", [True, False])
def test_grouped_folds_never_put_a_sequence_on_both_sides(stratified):
    rng = np.random.default_rng(0)
    groups = np.repeat(["a", "a", "b", "b", "c", "c", "d"], 50)
    seqs = np.repeat(["s1", "s2", "s1", "s2", "s1", "s2", "s1"], 50)  # "s1" exists in several groups
    key = sequence_keys(groups, seqs)
    y = rng.choice(["x", "y", "z"], len(key))
    seen_test = []
    for tr, te in grouped_folds(y, key, n_splits=3, stratified=stratified, seed=1):
        assert not set(key[tr]) & set(key[te])
        assert len(tr) + len(te) == len(key)
        seen_test.extend(set(key[te]))
    assert sorted(seen_test) == sorted(set(key))  # every recording tested exactly once


def test_assert_no_leak_raises_on_a_leaking_split():
    key = sequence_keys(["g"] * 4, ["s1", "s1", "s2", "s2"])
    with pytest.raises(ModelError, match="g/s1"):
        assert_no_leak(key, np.array([0, 2]), np.array([1, 3]))


def test_grouped_folds_need_two_recordings():
    key = sequence_keys(["g"] * 3, ["s"] * 3)
    with pytest.raises(ModelError, match="at least two recordings"):
        list(grouped_folds(np.array(["a", "b", "a"]), key))


def test_metrics_macro_f1_excludes_background():
    y_true = np.array(["bg", "bg", "a", "a", "b", "b"])
    y_pred = np.array(["bg", "a", "a", "a", "b", "bg"])
    m = classification_metrics(y_true, y_pred, ["bg", "a", "b"], background="bg")
    # a: P=2/3 R=1 F1=0.8 ; b: P=1 R=1/2 F1=2/3 ; bg: P=1/2 R=1/2 F1=1/2
    assert m["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["b"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert m["macro_f1_all"] == pytest.approx((0.8 + 2 / 3 + 0.5) / 3)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["macro_f1_classes"] == ["a", "b"]


def test_smooth_bouts_merges_short_runs_per_track():
    lab = np.array(list("aaabaaccccdd") + list("xyyyy"), dtype=object)
    track = np.array([0] * 12 + [1] * 5)
    out = smooth_bouts(lab, track, min_bout=3)
    # track 0: 'b' (1) -> previous 'a'; 'aa' after b: run of 2 -> 'a' too (previous run a); 'dd' -> 'c'
    assert "".join(out[:12]) == "aaaaaacccccc"
    # track 1: leading 'x' (1) takes the following run's label, not the other track's
    assert "".join(out[12:]) == "yyyyy"
    assert list(smooth_bouts(lab, track, 1)) == list(lab)
    s, n, v = run_lengths(np.array([1, 1, 2, 2, 2, 1]))
    assert list(s) == [0, 2, 5] and list(n) == [2, 3, 1] and list(v) == [1, 2, 1]


def test_config_unknown_key_lists_allowed_keys():
    with pytest.raises(ConfigError) as err:
        resolve_config({"features": ["speed"], "n_estimatorz": 10})
    msg = str(err.value)
    assert "n_estimatorz" in msg and "estimator_params" in msg and "min_bout" in msg
    assert set(ALLOWED_KEYS) >= {"features", "label_kind", "cv_folds", "holdout_groups"}


def test_config_from_yaml_and_json_files(tmp_path):
    y = tmp_path / "m.yaml"
    y.write_text("features: [speed, 'pair@abc']\nmin_bout: 3\nestimator: random_forest\n")
    cfg = resolve_config(y)
    assert cfg["features"] == [{"feature": "speed", "run_id": None}, {"feature": "pair", "run_id": "abc"}]
    assert cfg["min_bout"] == 3 and cfg["estimator"] == "random_forest" and cfg["cv_folds"] == 5
    j = tmp_path / "m.json"
    j.write_text('{"features": ["speed"], "bogus": 1}')
    with pytest.raises(ConfigError, match="m.json"):
        resolve_config(j)
    with pytest.raises(ConfigError, match="not found"):
        resolve_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    "bad",
    [
        {"features": []},
        {"features": ["a"], "estimator": "svm"},
        {"features": ["a"], "cv_folds": 1},
        {"features": ["a"], "pair_reduce": ["median"]},
        {"features": ["a"], "stratified": "yes"},
        {"features": ["a", "a"]},
    ],
)
def test_config_bad_values(bad):
    with pytest.raises(ConfigError):
        resolve_config(bad)
