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


@pytest.fixture
def dataset(tmp_path):
    """A new empty mosaic dataset in a temporary folder."""
    from mosaic import Dataset

    return Dataset.create(tmp_path / "ds", name="test")
