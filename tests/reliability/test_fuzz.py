"""Property-based fuzzing of the readers: any truncation and byte damage of a good file gives either a
valid result or a ``MosaicError`` naming the file — never a raw library exception.

Hypothesis draws a cut point and a few (offset, byte) overwrites; the damaged copy goes through
the same public entry points as the hostile corpus. ``derandomize=True`` keeps CI reproducible.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mosaic.core.errors import MosaicError
from tests.reliability import hostile, hostile_more
from tests.reliability.hostile import names_file

FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

damage = st.tuples(
    st.floats(min_value=0.0, max_value=1.0),  # keep this fraction of the file (1.0: no cut)
    st.lists(st.tuples(st.floats(min_value=0.0, max_value=1.0), st.integers(0, 255)), max_size=6),
)


def _damage(path: Path, spec) -> Path:
    keep, flips = spec
    data = bytearray(path.read_bytes())
    data = data[: max(0, round(len(data) * keep))] if keep < 1.0 else data
    for pos, val in flips:
        if data:
            data[min(len(data) - 1, int(pos * len(data)))] = val
    path.write_bytes(bytes(data))
    return path


FUZZED: dict[str, int] = {}


@pytest.fixture(scope="module")
def fuzz_ds(demo_template, tmp_path_factory):
    from mosaic import Dataset

    folder = tmp_path_factory.mktemp("fuzz") / "demo"
    shutil.copytree(demo_template, folder)
    ds = Dataset.open(folder)
    ds.convert_all_tracks()
    hostile_more.prepare_outputs(ds)
    return ds


READERS = {
    "trex_npz": (hostile.trex_npz(), hostile.convert_row("trex_npz")),
    "trex_csv": (hostile.trex_csv(), hostile.convert_row("trex_csv")),
    "generic_csv": (hostile.generic_csv(), hostile.convert_row("csv", {"fps": 25.0})),
    "calms21_json": (hostile.calms_file("json"), hostile.convert_row("calms21_json")),
    "dlc_csv": (hostile.dlc_csv(), hostile.convert_row("dlc", {"fps": 30.0})),
    "sleap_h5": (hostile.sleap_h5(), hostile.convert_row("sleap_h5", {"fps": 25.0})),
    "boris_csv": (hostile_more.boris(), hostile_more.convert_boris("error")),
    "label_npz": (hostile_more.label_npz(), hostile_more._read_labels),
    "index_csv": (
        hostile._good_index,
        lambda ds, p: __import__("mosaic.core.indexes", fromlist=["x"]).read_index(
            p, __import__("mosaic.core.indexes", fromlist=["x"]).TRACKS_INDEX
        ),
    ),
    "tracks_parquet": (hostile._good_parquet, lambda ds, p: __import__("mosaic.tracks", fromlist=["x"]).read_tracks(p)),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_damaged_file_never_leaks_a_raw_exception(reader, fuzz_ds):
    build, call = READERS[reader]
    counter = {"n": 0}

    @FUZZ
    @given(spec=damage)
    def run(spec):
        counter["n"] += 1
        folder = fuzz_ds.folder / "hostile" / f"fuzz_{reader}" / f"case{counter['n']:03d}"
        if folder.exists():
            shutil.rmtree(folder)
        path = _damage(build(folder), spec)
        try:
            call(fuzz_ds, path)
        except MosaicError as exc:
            assert names_file(exc, path), f"{type(exc).__name__} does not name {path.name}: {exc}"
        # any other exception propagates: hypothesis shrinks it and reports the smallest damage

    run()
    assert counter["n"] >= 10, f"only {counter['n']} damaged files tried"
    FUZZED[reader] = counter["n"]
