"""Fixtures of the demo tests: one tiny demo dataset and one tiny simulation per session."""

from __future__ import annotations

import pytest

from mosaic.demo import SIZES, simulate

TINY = {k: SIZES["tiny"][k] for k in ("n_groups", "n_sequences", "n_animals", "n_frames")}


@pytest.fixture(scope="session")
def tiny_sims():
    """The simulation behind the tiny demo (seed 0)."""
    return simulate(**TINY, fps=30.0, seed=0)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A complete tiny demo dataset folder (seed 0, with videos)."""
    from mosaic.demo import make_demo_dataset

    folder = tmp_path_factory.mktemp("demo") / "ds"
    make_demo_dataset(folder, size="tiny", seed=0)
    return folder
