"""The structure of a source description is checked key by key, each error naming what it found."""

from __future__ import annotations

import pytest

from mosaic.core.errors import ConfigError
from mosaic.core.sources import LABEL_KEYS, TOP_KEYS, TRACK_SOURCE_KEYS, validate_sources

SRC = {"search_dirs": ["raw"], "src_format": "trex_npz"}


@pytest.mark.parametrize(
    ("data", "problem", "expected", "found"),
    [
        ([1], "the source description must be a mapping", list(TOP_KEYS), "list"),
        ({"trakcs": []}, "unknown keys in the source description", list(TOP_KEYS), ["trakcs"]),
        ({"tracks": [{**SRC, "fsp": 3}]}, "unknown keys in tracks source 0", list(TRACK_SOURCE_KEYS), ["fsp"]),
        ({"tracks": [{**SRC, "params": [1]}]}, "'params' of tracks source 0 must be a mapping", None, "list"),
        ({"labels": "boris"}, "'labels' must be a mapping", list(LABEL_KEYS), "str"),
        ({"labels": {"format": "x"}}, "unknown keys in 'labels'", list(LABEL_KEYS), ["format"]),
        ({"labels": {"params": 3}}, "'labels.params' must be a mapping", None, "int"),
    ],
)
def test_bad_structure_is_named(data, problem, expected, found):
    with pytest.raises(ConfigError) as ei:
        validate_sources(data, "sources.yml")
    assert (ei.value.problem, ei.value.expected, ei.value.found) == (problem, expected, found)
    assert ei.value.path == "sources.yml"


def test_a_valid_description_comes_back_as_plain_containers():
    out = validate_sources(
        {"tracks": [{**SRC, "params": None}], "labels": {"source_format": "boris_csv", "params": {"fps": 30}}}
    )
    assert out == {
        "tracks": [{**SRC, "params": None}],
        "labels": {"source_format": "boris_csv", "params": {"fps": 30}},
    }
