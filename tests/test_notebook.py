"""The notebook tour runs top to bottom (nbclient) on a demo dataset in a temporary folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
TOUR = PROJECT / "notebooks" / "tour.ipynb"

# what the tour calls on mosaic.Dataset; the test fails naming any that is missing
TOUR_METHODS = (
    "from_catalog",
    "index_tracks_raw",
    "convert_all_tracks",
    "list_pairs",
    "load_tracks",
    "convert_all_labels",
    "load_labels",
    "get_label_map",
    "run_feature",
    "load_feature",
    "index_media",
    "extract_frames",
    "get_frame_paths",
    "plot_trajectories",
    "plot_ethogram",
    "train_model",
    "load_model",
    "inventory",
    "track_quality",
    "clean_tracks",
    "clean_run_report",
)


def test_tour_is_stored_without_outputs():
    import nbformat

    nb = nbformat.read(TOUR, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the tour has no code cells"
    assert all(not c.outputs and c.execution_count is None for c in code), "strip outputs before committing"
    assert code[0].source.strip() == "%load_ext kedro.ipython"


@pytest.mark.slow
def test_tour_runs_top_to_bottom(tmp_path, monkeypatch):
    for mod in ("nbclient", "nbformat", "ipykernel"):
        assert importlib.util.find_spec(mod) is not None, f"{mod} is not installed (pip install -e '.[test]')"
    from mosaic import Dataset
    from mosaic.demo import make_demo_dataset

    missing = [m for m in TOUR_METHODS if not hasattr(Dataset, m)]
    assert not missing, f"mosaic.Dataset lacks methods the tour uses: {missing}"
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path / "demo"  # absent: the first session.run creates the demo there (asked for explicitly)
    assert callable(make_demo_dataset)
    nb = nbformat.read(TOUR, as_version=4)
    monkeypatch.setenv("MOSAIC_DATASET", str(folder))
    monkeypatch.setenv("MOSAIC_DEMO_LOCATION", str(folder))  # the demo is written only at its location
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(PROJECT / "notebooks")}}
    )
    client.execute()

    def text_of(cell) -> str:
        parts = []
        for out in cell.outputs:
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
        return "\n".join(parts)

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    everything = "\n".join(text_of(c) for c in code)
    assert f"dataset folder: {folder}" in everything  # the project followed MOSAIC_DATASET
    assert "catalog and facade agree: True" in everything
    # every simulated recording (TRex-style and CalMS21-style) reached the inventory
    import pandas as pd

    trex = pd.read_csv(folder / "ground_truth" / "sequences.csv")
    calms = pd.read_csv(folder / "ground_truth" / "calms21_bouts.csv")
    pairs = set(zip(trex["group"], trex["sequence"])) | set(zip(calms["annotator"], calms["sequence_key"]))
    assert f"Recordings: {len({g for g, _ in pairs})} groups, {len(pairs)} sequences" in everything
    assert f"behavior: {len(trex)} sequences" in everything
    plots = [c for c in code if "plot_" in c.source and not c.source.lstrip().startswith("from mosaic.core")]
    assert plots and all(any("image/png" in o.get("data", {}) for o in c.outputs) for c in plots), (
        "a plot cell showed no figure"
    )
    # the notebook wrote into the demo folder, not into the project
    assert (folder / "features" / "speed" / "index.csv").is_file()
    assert (folder / "frames" / "index.csv").is_file()
