"""Kedro hooks: make sure the bundled demo dataset exists before a run needs it."""
from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from mosaic.kedro_config import resolve_dataset_dir

log = logging.getLogger(__name__)


class DemoDatasetHook:
    """Create the demo dataset with the simulator when the run points at a missing demo folder."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        try:
            params = catalog.load("parameters")
        except Exception:  # noqa: BLE001 - a catalog without parameters has no demo to make
            return
        dataset_dir = params.get("dataset_dir")
        demo = params.get("demo") or {}
        if not dataset_dir or not demo.get("create_if_missing", True):
            return
        folder = resolve_dataset_dir(dataset_dir)
        if (folder / "dataset.yaml").exists() or (folder / "dataset.json").exists():
            return
        interrupted_demo = (folder / "ground_truth").is_dir() or (folder / "tracks_raw" / "trex").is_dir()
        if folder.exists() and any(folder.iterdir()) and not interrupted_demo:
            log.warning("dataset folder %s has no manifest; not creating the demo there", folder)
            return
        from mosaic.demo import make_demo_dataset

        log.info("creating the demo dataset at %s (size=%s, seed=%s)", folder, demo.get("size", "tiny"), demo.get("seed", 0))
        make_demo_dataset(folder, size=demo.get("size", "tiny"), seed=demo.get("seed", 0))
