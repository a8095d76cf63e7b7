"""Kedro dataset of the media index report: saving a planned indexing writes ``media/index.csv`` first."""

from __future__ import annotations

from typing import Any

from .atomic import AtomicJSONDataset


class MediaIndexReportDataset(AtomicJSONDataset):
    """``media/index_report.json``: ``save`` of a :class:`~mosaic.media.index.MediaIndexing` (the
    ``index_media`` node's output) writes ``media/index.csv`` through its one writer, then the report;
    a report mapping is written as it is. ``load`` reads the report as a JSON dataset."""

    def save(self, data: Any) -> None:
        from mosaic.media.index import MediaIndexing

        if isinstance(data, MediaIndexing):
            data = data.write()
        return super().save(data)
