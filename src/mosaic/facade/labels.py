"""`Dataset` methods for the labels domain: thin delegation to `mosaic.labels`."""
from __future__ import annotations


class LabelsMixin:
    """Labels part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.labels`)."""
