"""`Dataset` methods for the models domain: thin delegation to `mosaic.models`."""
from __future__ import annotations


class ModelsMixin:
    """Models part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.models`)."""
