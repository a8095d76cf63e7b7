"""`Dataset` methods for the features domain: thin delegation to `mosaic.features`."""
from __future__ import annotations


class FeaturesMixin:
    """Features part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.features`)."""
