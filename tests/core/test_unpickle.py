"""Pickled data files are read without running code from them."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from mosaic.core.errors import MosaicError, UnsafePickleError
from mosaic.core.unpickle import load_npy, restricted_loads


class _Payload:
    """Pickles as ``open(marker, 'w')``: creating the marker file would prove code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class _SystemPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _calms_like():
    rng = np.random.default_rng(1)
    return {
        "annotator-id_0": {
            "task1/train/mouse001": {
                "keypoints": rng.normal(size=(4, 2, 2, 7)),
                "scores": rng.random((4, 2, 7)).astype(np.float32),
                "annotations": rng.integers(0, 4, 4),
                "metadata": {
                    "annotator-id": 0,
                    "vocab": {"attack": 0},
                    "none": None,
                    "flag": True,
                    "ratio": 1.5,
                    "pair": (1, 2),
                },
                "names": np.array(["a", "bb"]),
                "mixed": np.array([1, "x", None], dtype=object),
                "scalar": np.float64(2.5),
                "count": np.int64(7),
            }
        }
    }


def test_plain_calms21_dict_round_trips(tmp_path):
    data = _calms_like()
    p = tmp_path / "f.npy"
    np.save(p, np.array(data, dtype=object), allow_pickle=True)
    got = load_npy(p)
    rec, ref = got["annotator-id_0"]["task1/train/mouse001"], data["annotator-id_0"]["task1/train/mouse001"]
    for k in ("keypoints", "scores", "annotations", "names"):
        assert np.array_equal(rec[k], ref[k]) and rec[k].dtype == ref[k].dtype
    assert rec["metadata"] == ref["metadata"]
    assert list(rec["mixed"]) == [1, "x", None]
    assert rec["scalar"] == 2.5 and rec["count"] == 7


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_every_pickle_protocol_of_arrays_is_admitted(protocol):
    obj = {"a": np.arange(6.0).reshape(2, 3), "d": np.dtype("<i4"), "s": np.float32(1.5), "l": [1, "x"]}
    got = restricted_loads(pickle.dumps(obj, protocol=protocol))
    assert np.array_equal(got["a"], obj["a"]) and got["d"] == obj["d"] and got["s"] == obj["s"] and got["l"] == obj["l"]


def test_plain_numeric_npy_is_read_without_pickle(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.arange(10, dtype=np.int16))
    got = load_npy(p)
    assert got.dtype == np.int16 and got.tolist() == list(range(10))


@pytest.mark.parametrize("payload", [_Payload, _SystemPayload])
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, payload):
    marker = tmp_path / "MARKER"
    data = _calms_like()
    data["annotator-id_0"]["task1/train/mouse001"]["metadata"]["x"] = payload(marker)
    p = tmp_path / "evil.npy"
    np.save(p, np.array(data, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafePickleError) as ei:
        load_npy(p)
    assert isinstance(ei.value, MosaicError)
    assert str(p) in str(ei.value) and ("open" in str(ei.value) or "system" in str(ei.value))
    assert not marker.exists()


def test_arbitrary_class_is_refused():
    import collections

    with pytest.raises(UnsafePickleError, match="collections"):
        restricted_loads(pickle.dumps(collections.OrderedDict(a=1)))
