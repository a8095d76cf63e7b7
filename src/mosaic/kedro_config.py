"""Config resolvers that let ``conf/`` point the catalog at the user's dataset folder.

``${mosaic_root:<dataset_dir>,<root>}`` resolves to the absolute path of a named root of the
dataset, read from its manifest (default layout when the manifest does not exist yet), so a
dataset with custom roots is used without editing the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mosaic.core.dataset import MANIFEST_NAMES, DatasetCore
from mosaic.core.errors import ManifestError, MosaicError
from mosaic.core.paths import register_root


def project_dir() -> Path:
    """The Kedro project folder (found upwards from the working directory), else the cwd."""
    try:
        from kedro.utils import find_kedro_project

        found = find_kedro_project(Path.cwd())
    except ImportError:  # pragma: no cover - older kedro
        found = None
    return Path(found) if found else Path.cwd()


def resolve_dataset_dir(dataset_dir: str) -> Path:
    """Absolute dataset folder; relative paths are taken against the project folder."""
    p = Path(str(dataset_dir)).expanduser()
    return p if p.is_absolute() else (project_dir() / p)


def manifest_in(folder: Path) -> Path | None:
    """The manifest file of ``folder`` (None when it has none or is not a folder)."""
    if not folder.is_dir():
        return None
    for name in MANIFEST_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def check_dataset_folder(dataset_dir: str) -> Path:
    """The dataset folder of ``dataset_dir`` when it is a folder holding a manifest.

    Raises
    ------
    ManifestError
        ``dataset_dir`` is a file, or a folder (existing or not) without a manifest; the message
        says how to create one.
    """
    folder = resolve_dataset_dir(dataset_dir)
    if folder.exists() and not folder.is_dir():
        raise ManifestError(
            "dataset_dir is not a folder",
            path=folder,
            expected="a dataset folder holding dataset.yaml",
            found="a file",
            hint="pass the folder that holds dataset.yaml: kedro run --params dataset_dir=<folder>",
        )
    if manifest_in(folder) is None:
        raise ManifestError(
            "no dataset manifest in the dataset folder",
            path=folder,
            expected=" or ".join(MANIFEST_NAMES),
            found="no such folder" if not folder.exists() else "a folder without a manifest",
            hint=f"create one with: python -c \"import mosaic; mosaic.Dataset.create({folder.as_posix()!r}, name='my_dataset')\" "
            "(or run with --params demo.location=<folder> to write the simulated demo there)",
        )
    return folder


def mosaic_root(dataset_dir: str, root: str = "") -> str:
    """Absolute path of ``root`` in the dataset at ``dataset_dir`` (the folder itself when empty).

    A missing or unreadable manifest gives the default layout (``<folder>/<root>``), so listing
    pipelines or drawing them never fails on a broken dataset; a run then stops with the
    manifest's named error before any node (see :mod:`mosaic.hooks`).
    """
    folder = resolve_dataset_dir(dataset_dir)
    if not root:
        return folder.as_posix()
    manifest = manifest_in(folder)
    if manifest is not None:
        try:
            path = DatasetCore.open(manifest).get_root(root)
        except MosaicError:
            pass
        else:
            register_root(path)  # writes below it are checked even when it lies outside the dataset folder
            return path.as_posix()
    return (folder / root).as_posix()


def mosaic_sources(dataset_dir: str, section: str, default: Any = None) -> Any:
    """The ``section`` of the dataset's ``sources.yml`` (``tracks``: as ingest sources), else ``default``.

    Used in ``conf/base`` so that a dataset's own description beats the project's defaults while
    ``conf/local`` and ``--params`` still beat it. An unreadable description gives ``default``
    here (configuration must load for listing pipelines); the ``ingest`` node reads the file
    again and stops with its named error.
    """
    from mosaic.core.sources import ingest_sources, read_sources

    try:
        described = read_sources(resolve_dataset_dir(dataset_dir))
    except MosaicError:
        return default
    if section == "tracks":
        value = ingest_sources(described)
    else:
        value = described.get(section)
    return default if value is None else value
