"""`Dataset` methods for the media domain: thin delegation to `mosaic.media`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mosaic.media.frames import extract_frames
from mosaic.media.index import index_media, resolve_media_path, resolve_media_paths
from mosaic.media.store import get_frame_manifests, get_frame_paths, list_frame_runs


class MediaMixin:
    """Media part of the :class:`mosaic.Dataset` facade (methods delegate to `mosaic.media`)."""

    def index_media(
        self,
        search_dirs: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        extensions: Sequence[str] = (".mp4", ".avi"),
        index_filename: str = "index.csv",
        recursive: bool = True,
        sequence_match_mode: str = "exact",
        *,
        count_frames: bool = False,
        on_error: str = "raise",
    ) -> Path:
        """Index videos into ``media/index.csv`` (see :func:`mosaic.media.index.index_media`)."""
        return index_media(
            self,
            search_dirs,
            extensions,
            index_filename,
            recursive,
            sequence_match_mode,
            count_frames=count_frames,
            on_error=on_error,
        )

    def resolve_media_paths(self, group: str, sequence: str) -> list[Path]:
        """Videos of (group, sequence) in ``video_order`` (see :func:`mosaic.media.index.resolve_media_paths`)."""
        return resolve_media_paths(self, group, sequence)

    def resolve_media_path(self, group: str, sequence: str) -> Path:
        """The one video of (group, sequence) (see :func:`mosaic.media.index.resolve_media_path`)."""
        return resolve_media_path(self, group, sequence)

    def extract_frames(
        self,
        n_frames: int,
        method: str = "uniform",
        *,
        groups: Sequence[str] | None = None,
        sequences: Sequence[str] | None = None,
        overwrite: bool = False,
        start_frame: int | None = None,
        end_frame: int | None = None,
        candidate_step: int = 1,
        crop: tuple[int, int, int, int] | None = None,
        kmeans_resize: tuple[int, int] = (64, 64),
        kmeans_grayscale: bool = True,
        kmeans_max_candidates: int | None = 5000,
        kmeans_batch_size: int = 1024,
        kmeans_max_iter: int = 100,
        kmeans_n_init: int | str = "auto",
        random_state: int | None = 42,
        parallel_workers: int | str = "auto",
        parallel_mode: str = "thread",
        dask_address: str | None = None,
        memory_limit: str | int | None = None,
    ) -> str:
        """Sample frames per recording; returns the run id (see :func:`mosaic.media.frames.extract_frames`)."""
        return extract_frames(
            self,
            n_frames,
            method,
            groups=groups,
            sequences=sequences,
            overwrite=overwrite,
            start_frame=start_frame,
            end_frame=end_frame,
            candidate_step=candidate_step,
            crop=crop,
            kmeans_resize=kmeans_resize,
            kmeans_grayscale=kmeans_grayscale,
            kmeans_max_candidates=kmeans_max_candidates,
            kmeans_batch_size=kmeans_batch_size,
            kmeans_max_iter=kmeans_max_iter,
            kmeans_n_init=kmeans_n_init,
            random_state=random_state,
            parallel_workers=parallel_workers,
            parallel_mode=parallel_mode,
            dask_address=dask_address,
            memory_limit=memory_limit,
        )

    def list_frame_runs(self, method: str | None = None) -> pd.DataFrame:
        """Frame runs in ``frames/index.csv`` (see :func:`mosaic.media.frames.list_frame_runs`)."""
        return list_frame_runs(self, method)

    def get_frame_paths(
        self, method: str, run_id: str | None = None, group: str | None = None, sequence: str | None = None
    ) -> list[Path]:
        """PNG paths of a frame run (see :func:`mosaic.media.frames.get_frame_paths`)."""
        return get_frame_paths(self, method, run_id, group, sequence)

    def get_frame_manifests(
        self,
        method: str | None = None,
        run_id: str | None = None,
        group: str | None = None,
        sequence: str | None = None,
    ) -> list[dict]:
        """run_info.json contents of a frame run (see :func:`mosaic.media.frames.get_frame_manifests`)."""
        return get_frame_manifests(self, method, run_id, group, sequence)
