"""Each default has one home; the facade signatures and the YAML parameters agree with it.

A default exposed in several places (the domain function, the ``mosaic.Dataset`` method that
delegates to it, the ``conf/base/parameters_<pipeline>.yml`` block the Kedro door reads) must not
drift: these tests compare every place against the one home. The docs show the YAML files
verbatim (``--8<--`` snippets on the pipelines page) and the signatures through mkdocstrings, so
they follow.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from mosaic import Dataset

PROJECT = Path(__file__).resolve().parents[1]


def _defaults(fn) -> dict[str, Any]:
    """``{parameter: default}`` of a callable's signature (parameters without one left out)."""
    return {
        n: p.default for n, p in inspect.signature(fn).parameters.items() if p.default is not inspect.Parameter.empty
    }


def _params(pipeline: str) -> dict[str, Any]:
    data = yaml.safe_load((PROJECT / "conf" / "base" / f"parameters_{pipeline}.yml").read_text(encoding="utf-8"))
    return data[pipeline]


def _plain(v: Any) -> Any:
    """YAML has lists where Python defaults have tuples."""
    return list(v) if isinstance(v, tuple) else v


def _facade_pairs():
    from mosaic.features.engine import run_feature
    from mosaic.labels.convert import convert_all_labels
    from mosaic.media.frames import extract_frames
    from mosaic.media.index import index_media
    from mosaic.models import predict, train_model
    from mosaic.quality.store import clean_tracks
    from mosaic.tracks.convert import convert_all_tracks
    from mosaic.tracks.indexing import index_tracks_raw

    return [
        (Dataset.extract_frames, extract_frames),
        (Dataset.convert_all_tracks, convert_all_tracks),
        (Dataset.index_tracks_raw, index_tracks_raw),
        (Dataset.index_media, index_media),
        (Dataset.run_feature, run_feature),
        (Dataset.convert_all_labels, convert_all_labels),
        (Dataset.train_model, train_model),
        (Dataset.predict, predict),
        (Dataset.clean_tracks, clean_tracks),
    ]


@pytest.mark.parametrize("pair", _facade_pairs(), ids=lambda p: p[0].__name__)
def test_facade_defaults_equal_the_domain_functions(pair):
    method, fn = pair
    mine, theirs = _defaults(method), _defaults(fn)
    shared = sorted(set(mine) & set(theirs))
    assert shared, f"Dataset.{method.__name__} shares no defaulted parameter with {fn.__module__}.{fn.__name__}"
    drift = {k: (mine[k], theirs[k]) for k in shared if mine[k] != theirs[k]}
    assert not drift, f"Dataset.{method.__name__} vs {fn.__module__}.{fn.__name__}: {drift}"


def test_frame_sampling_defaults_live_in_frame_params():
    from mosaic.media.frames import extract_frames
    from mosaic.media.params import FRAME_DEFAULTS

    for where, fn in (
        ("Dataset.extract_frames", Dataset.extract_frames),
        ("media.frames.extract_frames", extract_frames),
    ):
        sig = _defaults(fn)
        missing = sorted(set(FRAME_DEFAULTS) - set(sig))
        assert not missing, f"{where} does not expose {missing}"
        assert {k: sig[k] for k in FRAME_DEFAULTS} == FRAME_DEFAULTS, where
    yml = _params("sample_frames")
    assert {k: _plain(yml[k]) for k in FRAME_DEFAULTS if k in yml} == {
        k: _plain(v) for k, v in FRAME_DEFAULTS.items() if k in yml
    }
    assert set(FRAME_DEFAULTS) <= set(yml), "parameters_sample_frames.yml leaves out a sampling parameter"
    sig = _defaults(Dataset.extract_frames)
    execution = {k: yml[k] for k in ("parallel_mode", "parallel_workers", "overwrite") if k in yml}
    assert execution == {k: sig[k] for k in execution}


def test_convert_parameters_are_the_facade_defaults():
    sig = _defaults(Dataset.convert_all_tracks)
    yml = _params("convert")
    keys = sorted(set(yml) - {"params"})
    assert {k: yml[k] for k in keys} == {k: sig[k] for k in keys}
    assert yml["params"] == {} and sig["params"] is None  # no converter parameter set by default


def test_label_parameters_are_the_facade_defaults_where_not_the_demo_layout():
    sig = _defaults(Dataset.convert_all_labels)
    yml = _params("label")
    assert yml["kind"] == sig["kind"] and yml["overwrite"] == sig["overwrite"]
    assert yml["source_format"] == sig["source_format"] or sig["source_format"] is None


def test_clean_operations_are_the_domain_defaults():
    from mosaic.quality import DEFAULT_OPERATIONS

    assert _params("clean")["operations"] == DEFAULT_OPERATIONS


def test_track_quality_parameters_are_the_domain_defaults():
    from mosaic.quality import DEFAULT_REPORT_PARAMS

    data = yaml.safe_load((PROJECT / "conf" / "base" / "parameters_clean.yml").read_text(encoding="utf-8"))
    assert data["track_quality"] == DEFAULT_REPORT_PARAMS


def test_train_config_keys_are_known_and_featurize_knobs_match_run_feature():
    from mosaic.features.engine import run_feature
    from mosaic.models import DEFAULTS

    unknown = sorted(set(_params("train")["config"]) - set(DEFAULTS))
    assert not unknown, f"parameters_train.yml sets keys mosaic.models.DEFAULTS does not know: {unknown}"
    sig = _defaults(run_feature)
    yml = _params("featurize")
    knobs = {k: yml[k] for k in ("parallel_workers", "dask_address", "overwrite", "groups", "sequences") if k in yml}
    assert knobs == {k: sig[k] for k in knobs}
