"""Shared fixtures: a fresh dataset folder, the real-data folder (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

PROJECT_DIR = Path(__file__).resolve().parents[1]
REALDATA_DIR = Path(os.environ.get("MOSAIC_REALDATA", PROJECT_DIR.parent / "shared" / "realdata"))


@pytest.fixture
def realdata() -> Path:
    """``../shared/realdata`` (real files written by the tools); skip when absent."""
    if not REALDATA_DIR.is_dir():
        pytest.skip(f"real sample files not present at {REALDATA_DIR} (set MOSAIC_REALDATA to point at them)")
    return REALDATA_DIR


def realdata_file(realdata: Path, *parts: str) -> Path:
    """A file under ``realdata``; a missing file fails the test (the folder itself is present)."""
    p = realdata.joinpath(*parts)
    if not p.exists():
        pytest.fail(f"real sample file missing: {p}")
    return p


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A real-data test may skip only when the real-data folder is absent: any other skip fails."""
    outcome = yield
    rep = outcome.get_result()
    if rep.skipped and "realdata" in getattr(item, "fixturenames", ()) and REALDATA_DIR.is_dir():
        rep.outcome = "failed"
        rep.longrepr = f"real-data test skipped although {REALDATA_DIR} exists: {rep.longrepr}"


#: Tests left out of the fast suite (``pytest -m "not slow"``), by node-id prefix under ``tests/``;
#: CI runs everything. Each entry says what makes it slow.
SLOW_TESTS = {
    "pipelines/": "Kedro sessions over whole dataset folders",
    "reliability/": "adversarial inputs, crash, concurrency and scale-out harnesses",
    "core/test_faults_and_limits.py": "disk faults and gigabyte records under memory limits",
    "core/test_index_writers.py": "concurrent index writers in subprocesses",
    "core/test_executor.py::test_unreachable_scheduler": "waits for the Dask connect timeout",
    "models/test_store_kill.py": "kills model writers mid-run in subprocesses",
    "models/test_store_trust.py": "trains and tampers with stored runs",
    "models/test_demo_chain.py": "trains on the whole demo dataset",
    "models/test_calms21_style.py": "trains a pair classifier end to end",
    "features/test_parallel_global.py": "process and Dask executors",
    "interop/test_docs_examples.py": "runs every example of the interop page",
    "interop/test_predictions.py": "trains, predicts and round-trips through BORIS",
    "interop/test_pipeline.py": "the export pipeline in a Kedro session",
    "demo/test_dataset.py": "builds demo datasets with videos",
    "quality/test_render.py": "renders video clips",
    "quality/test_filters.py::test_same_numbers_as_movement": "runs movement's filters as the oracle",
    "reporting/test_reporting_pipeline.py": "the reporting pipeline in a Kedro session",
    "reporting/test_inventory.py": "builds and inventories a full dataset",
    "test_project.py::test_a_broken_manifest": "starts Kedro sessions",
    "test_project.py::test_a_folder_without_manifest": "starts Kedro sessions",
}


def pytest_collection_modifyitems(config, items):
    """Mark the tests of :data:`SLOW_TESTS` ``slow`` (a stale entry that matches nothing fails the run)."""
    used = set()
    for item in items:
        node = item.nodeid.removeprefix("tests/")
        for prefix in SLOW_TESTS:
            if node.startswith(prefix):
                item.add_marker(pytest.mark.slow)
                used.add(prefix)
    if not config.args or config.args == [str(PROJECT_DIR / "tests")] or config.args == ["tests"]:
        stale = sorted(set(SLOW_TESTS) - used)
        if stale:
            raise pytest.UsageError(f"SLOW_TESTS entries match no test: {stale}")


@pytest.fixture
def dataset(tmp_path):
    """A new empty mosaic dataset in a temporary folder."""
    from mosaic import Dataset

    return Dataset.create(tmp_path / "ds", name="test")
