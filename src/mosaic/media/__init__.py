"""Media: index videos and sample representative frames (uniform and k-means).

Public API (dataset first, as the facade calls them)::

    index_media(ds, search_dirs, extensions, index_filename, recursive, sequence_match_mode) -> Path
    resolve_media_paths(ds, group, sequence) -> list[Path]
    resolve_media_path(ds, group, sequence) -> Path
    extract_frames(ds, n_frames, method, ...) -> run_id
    list_frame_runs(ds, method=None) -> DataFrame
    get_frame_paths(ds, method, run_id=None, group=None, sequence=None) -> list[Path]
    get_frame_manifests(ds, method=None, run_id=None, group=None, sequence=None) -> list[dict]

Modules: :mod:`.probe` (video properties, verified frame count), :mod:`.index` (media index),
:mod:`.matching` (videos to recordings), :mod:`.reader` (exact frame reads), :mod:`.params`/:mod:`.plan` (run planning,
run ids), :mod:`.sampling` (uniform / k-means selection), :mod:`.decode` (crops, thumbnails,
parallel decoding), :mod:`.store` (PNGs, run_info.json, frames index, queries),
:mod:`.frames` (:func:`extract_frames`).
"""

from .errors import (
    AmbiguousMediaError,
    CropError,
    FrameMethodError,
    MediaNotFoundError,
    NotEnoughFramesError,
    VideoReadError,
)
from .frames import extract_frames
from .index import (
    MEDIA_INDEX,
    index_media,
    index_media_report,
    read_media_index,
    resolve_media_path,
    resolve_media_paths,
)
from .params import METHODS, FrameParams
from .probe import VideoInfo, probe_video
from .store import FRAMES_INDEX, get_frame_manifests, get_frame_paths, list_frame_runs

__all__ = [
    "FRAMES_INDEX",
    "MEDIA_INDEX",
    "METHODS",
    "AmbiguousMediaError",
    "CropError",
    "FrameMethodError",
    "FrameParams",
    "MediaNotFoundError",
    "NotEnoughFramesError",
    "VideoInfo",
    "VideoReadError",
    "extract_frames",
    "get_frame_manifests",
    "get_frame_paths",
    "index_media",
    "index_media_report",
    "list_frame_runs",
    "probe_video",
    "read_media_index",
    "resolve_media_path",
    "resolve_media_paths",
]
