"""The ``mosaic.Dataset`` facade (above the domains, so no import runs back up)."""

from .dataset import Dataset

__all__ = ["Dataset"]
