"""Physical parameters are checked at the boundary, with one rule per quantity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mosaic.core.errors import ConfigError, FeatureError, LabelFormatError, MosaicError
from mosaic.core.validate import (
    check_physical,
    int_at_least,
    non_negative_number,
    positive_number,
    positive_or_none,
    windows,
)


@pytest.mark.parametrize(
    "value, expected", [(30, 30.0), (29.97, 29.97), ("25", 25.0), (np.float32(0.5), 0.5), (np.int64(7), 7.0)]
)
def test_positive_number_accepts(value, expected):
    assert positive_number(value, "fps") == pytest.approx(expected)


@pytest.mark.parametrize("value", [-30, 0, 0.0, math.nan, math.inf, -math.inf, "fast", "", True, [30], {"a": 1}, None])
def test_positive_number_refuses_with_named_error(value):
    with pytest.raises(ConfigError) as ei:
        positive_number(value, "fps", path="params.yml")
    assert "'fps'" in str(ei.value) and "params.yml" in str(ei.value)


def test_optional_and_other_rules():
    assert positive_number(None, "fps", allow_none=True) is None
    assert non_negative_number(0, "min_speed") == 0.0
    with pytest.raises(ConfigError):
        non_negative_number(-0.1, "min_speed")
    assert int_at_least(3.0, "k") == 3
    for bad in (0, 2.5, "3", True, math.nan):
        with pytest.raises(ConfigError):
            int_at_least(bad, "k")
    with pytest.raises(ConfigError, match="<= 4"):
        int_at_least(5, "k", maximum=4)
    assert windows(15) == [15] and windows([3, 31]) == [3, 31]
    for bad in ([], [0], [3, -1], "15", [1.5]):
        with pytest.raises(ConfigError):
            windows(bad)


@pytest.mark.parametrize(
    "check, value, allow_none, problem, expected",
    [
        (positive_number, 0, False, "parameter 'v' must be > 0", "a finite number > 0"),
        (positive_number, -1, True, "parameter 'v' must be > 0", "a finite number > 0 or null"),
        (positive_number, None, False, "parameter 'v' is missing", "a finite number > 0"),
        (non_negative_number, -0.5, False, "parameter 'v' must be >= 0", "a finite number >= 0"),
        (non_negative_number, None, False, "parameter 'v' is missing", "a finite number >= 0"),
        (non_negative_number, "x", True, "parameter 'v' is not a number", "a finite number >= 0 or null"),
        (int_at_least, None, False, "parameter 'v' is missing", "an integer >= 1"),
    ],
)
def test_number_rules_say_what_was_expected(check, value, allow_none, problem, expected):
    with pytest.raises(LabelFormatError) as ei:
        check(value, "v", allow_none=allow_none, error=LabelFormatError, group="g", sequence="s")
    assert (ei.value.problem, ei.value.expected, ei.value.group) == (problem, expected, "g")
    assert non_negative_number(None, "v", allow_none=True) is None and int_at_least(None, "v", allow_none=True) is None


@pytest.mark.parametrize(
    "value, expected",
    [(30, 30.0), ("25", 25.0), (np.float32(0.5), 0.5), (np.asarray(12.5), 12.5), (np.int64(7), 7.0)]
    + [(v, None) for v in (None, 0, -1.0, math.nan, math.inf, "fast", "", [30], {"a": 1}, 10**400)],
)
def test_positive_or_none_takes_unusable_metadata_as_unknown(value, expected):
    assert positive_or_none(value) == expected


def test_check_physical_uses_the_callers_error_and_names_where():
    check_physical({"fps": 30, "cm_per_pixel": None, "other": -1, "tortuosity_window": 15})
    with pytest.raises(FeatureError) as ei:
        check_physical({"fps": -30}, error=FeatureError, where="feature 'kinematics'")
    assert "kinematics" in str(ei.value) and "-30" in str(ei.value)
    with pytest.raises(ConfigError, match="smooth_window"):
        check_physical({"smooth_window": 0})


# --------------------------------------------------------------------------------- features
@pytest.mark.parametrize("name", ["kinematics", "pair", "polarization"])
@pytest.mark.parametrize("fps", [-30, 0, math.nan, math.inf, "fast"])
def test_feature_fps_is_validated_at_construction(name, fps):
    from mosaic.features.registry import make_feature

    with pytest.raises(FeatureError) as ei:
        make_feature({"name": name, "params": {"fps": fps}})
    assert "'fps'" in str(ei.value) and name in str(ei.value)


def test_feature_fps_from_track_metadata_must_be_finite():
    import pandas as pd

    from mosaic.features.kinematics import Kinematics

    df = pd.DataFrame({"frame": [0, 1, 2], "id": [0, 0, 0], "X": [0.0, 1.0, 2.0], "Y": [0.0, 0.0, 0.0]})
    df.attrs.update(fps=math.inf, group="g", sequence="s")
    with pytest.raises(FeatureError, match="'fps'"):
        Kinematics(outputs=["speed"]).apply(df)
    df.attrs["fps"] = 10.0
    out = Kinematics(outputs=["speed"]).apply(df)
    assert out["speed_px_s"].iloc[1] == pytest.approx(10.0)


def test_featurize_yaml_parameters_are_validated(dataset):
    """The Kedro door builds its features from YAML parameters through the same check."""
    from mosaic.features.plan import run_feature_plan

    with pytest.raises(FeatureError, match="'fps'"):
        run_feature_plan(dataset, {"steps": [{"key": "kin", "feature": "kinematics", "params": {"fps": float("nan")}}]})


# --------------------------------------------------------------------------------- converters
def test_conversion_params_are_validated_even_when_files_carry_fps(dataset):
    from tests.tracks.synth import write_trex

    write_trex(dataset.folder / "tracks_raw" / "trex" / "g", "v", {0: (0, 4)}, fps=25.0)
    dataset.index_tracks_raw("tracks_raw/trex", src_format="trex_npz", group_from="parent")
    for bad in ({"fps": -30}, {"trex_npz": {"cm_per_pixel": 0}}, {"fps": "fast"}):
        with pytest.raises(ConfigError):
            dataset.convert_all_tracks(params=bad)
    assert not (dataset.folder / "tracks" / "g__v.parquet").exists()
    dataset.meta["fps_default"] = -30.0
    with pytest.raises(ConfigError, match="fps_default"):
        dataset.convert_all_tracks()


def test_boris_invalid_fps_in_the_file_is_named_not_replaced(dataset, tmp_path):
    from mosaic.labels import convert_all_labels
    from tests.labels.helpers import write_aggregated

    bouts = [("s1", "walk", 1.0, 2.0, "", "STATE")]
    path = write_aggregated(tmp_path / "a.tsv", bouts, fps=-30)
    with pytest.raises(LabelFormatError, match="invalid FPS") as ei:
        convert_all_labels(dataset, params={"paths": [str(path)], "fps": 25, "default_group": "g"})
    assert str(path) in str(ei.value)
    for bad in ({"fps": -30}, {"fps_override": math.nan}, {"fps": "fast"}):
        with pytest.raises(ConfigError):
            convert_all_labels(
                dataset,
                params={"paths": [str(write_aggregated(tmp_path / "b.tsv", bouts))], "default_group": "g", **bad},
            )
    # an empty FPS cell still falls back to the fps parameter
    path = write_aggregated(tmp_path / "c.tsv", bouts, fps="")
    rep = convert_all_labels(dataset, params={"paths": [str(path)], "fps": 10, "default_group": "g"})
    assert len(rep) == 1
    assert isinstance(ei.value, MosaicError)
