"""mosaic: animal-behaviour analysis as a Kedro project and a notebook facade.

``from mosaic import Dataset`` gives the facade; submodules import lazily so that
``import mosaic`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Dataset", "MosaicError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Dataset":
        from mosaic.facade import Dataset

        return Dataset
    if name == "MosaicError":
        from mosaic.core.errors import MosaicError

        return MosaicError
    raise AttributeError(f"module 'mosaic' has no attribute {name!r}")
