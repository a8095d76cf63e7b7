"""Config resolvers that let ``conf/`` point the catalog at the user's dataset folder.

``${mosaic_root:<dataset_dir>,<root>}`` resolves to the absolute path of a named root of the
dataset, read from its manifest (default layout when the manifest does not exist yet), so a
dataset with custom roots is used without editing the catalog.
"""
from __future__ import annotations

from pathlib import Path

from mosaic.core.dataset import DatasetCore, MANIFEST_NAMES
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


def mosaic_root(dataset_dir: str, root: str = "") -> str:
    """Absolute path of ``root`` in the dataset at ``dataset_dir`` (the folder itself when empty)."""
    folder = resolve_dataset_dir(dataset_dir)
    if not root:
        return folder.as_posix()
    for name in MANIFEST_NAMES:
        if (folder / name).exists():
            path = DatasetCore.open(folder / name).get_root(root)
            register_root(path)  # writes below it are checked even when it lies outside the dataset folder
            return path.as_posix()
    return (folder / root).as_posix()
