"""`Dataset` methods for the tracks domain: thin delegation to `mosaic.tracks`."""
from __future__ import annotations


class TracksMixin:
    """Tracks part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.tracks`)."""
