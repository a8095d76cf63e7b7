"""Kedro hooks: check the dataset folder before a run, and create the bundled demo where asked."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ManifestError
from mosaic.kedro_config import check_dataset_folder, manifest_in, resolve_dataset_dir

log = logging.getLogger(__name__)

#: the demo folder when ``demo.location`` is not set (the project's ``conf/base/globals.yml`` default)
DEFAULT_DEMO_LOCATION = "data/demo"


class DemoDatasetHook:
    """Before a run: the dataset folder must hold a valid manifest, except at the demo location.

    The simulated demo dataset is written only when ``dataset_dir`` is the demo location
    (``demo.location``, default ``data/demo`` in the project) and that folder has no manifest yet
    (missing, empty, or a demo interrupted while being written) and ``demo.create_if_missing``
    is true. Any other folder without a manifest, or a ``dataset_dir`` that is a file, stops the
    run with a :class:`~mosaic.core.errors.ManifestError` saying how to create the manifest —
    nothing is written into a folder of the user's own files.
    """

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        try:
            params = catalog.load("parameters")
        except Exception:
            return
        dataset_dir = params.get("dataset_dir")
        if not dataset_dir:
            return
        folder = resolve_dataset_dir(dataset_dir)
        if manifest_in(folder) is not None:
            DatasetCore.open(folder)  # a broken manifest stops the run here, named, before any node
            return
        demo = params.get("demo") or {}
        location = resolve_dataset_dir(demo.get("location") or DEFAULT_DEMO_LOCATION)
        if folder.resolve() != location.resolve() or not demo.get("create_if_missing", True):
            check_dataset_folder(str(folder))  # raises the named error
            return
        if folder.exists() and not folder.is_dir():
            check_dataset_folder(str(folder))
        interrupted_demo = (folder / "ground_truth").is_dir() or (folder / "tracks_raw" / "trex").is_dir()
        if folder.exists() and any(folder.iterdir()) and not interrupted_demo:
            raise ManifestError(
                "the demo location holds files but no manifest; not writing the demo there",
                path=folder,
                expected="an empty or missing folder",
                found=sorted(p.name for p in folder.iterdir())[:5],
                hint="move those files away, or set demo.location / dataset_dir to another folder",
            )
        from mosaic.demo import make_demo_dataset

        log.info(
            "creating the demo dataset at %s (size=%s, seed=%s)", folder, demo.get("size", "tiny"), demo.get("seed", 0)
        )
        make_demo_dataset(folder, size=demo.get("size", "tiny"), seed=demo.get("seed", 0))
