"""`Dataset` methods for the media domain: thin delegation to `mosaic.media`."""
from __future__ import annotations


class MediaMixin:
    """Media part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.media`)."""
