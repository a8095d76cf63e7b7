"""Planning a frame run: the recordings' videos, their identities and the run id.

A recording's videos (from ``media/index.csv``, in ``video_order``) are concatenated into one
*global* frame index; :class:`SequenceJob` maps global indices to (video, local index).
The run id hashes the method, the parameters that influence the output and every source
video's identity (name, size, content fingerprint).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import MosaicError
from mosaic.core.run_ids import file_fingerprint, make_run_id
from mosaic.core.safe_names import path_in_root, sequence_key, to_safe_name

from .errors import MediaNotFoundError, NotEnoughFramesError, VideoReadError
from .index import media_index_path, read_media_index
from .params import FrameParams, validate_frame_params

FRAME_PREFIX = "frame_"


@dataclass(frozen=True)
class VideoSource:
    """One video of a recording, placed at ``offset`` in the recording's global frame index."""

    path: str
    rel_path: str
    name: str
    n_frames: int
    width: int
    height: int
    fps: float
    offset: int
    size_bytes: int
    fingerprint: str

    def identity(self) -> dict[str, Any]:
        """What the run id depends on: name, size and content fingerprint."""
        return {"name": self.name, "size_bytes": self.size_bytes, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class SequenceJob:
    """The videos of one (group, sequence), in ``video_order``."""

    group: str
    sequence: str
    videos: tuple[VideoSource, ...]

    @property
    def key(self) -> str:
        """``<group_safe>__<sequence_safe>``."""
        return sequence_key(self.group, self.sequence)

    @property
    def total_frames(self) -> int:
        """Frames of all videos together."""
        return sum(v.n_frames for v in self.videos)

    def split(self, indices: Sequence[int]) -> list[tuple[VideoSource, np.ndarray]]:
        """Split sorted global ``indices`` into ``(video, local indices)`` per video."""
        idx = np.asarray(indices, dtype=np.int64)
        out = []
        for v in self.videos:
            sel = idx[(idx >= v.offset) & (idx < v.offset + v.n_frames)]
            if sel.size:
                out.append((v, sel - v.offset))
        return out

    def locate(self, index: int) -> tuple[VideoSource, int]:
        """The video and local index of a global frame index."""
        for v in self.videos:
            if v.offset <= index < v.offset + v.n_frames:
                return v, index - v.offset
        raise NotEnoughFramesError(
            "frame index outside the recording",
            group=self.group,
            sequence=self.sequence,
            expected=f"< {self.total_frames}",
            found=index,
        )


@dataclass(frozen=True)
class FrameRun:
    """A planned frame run: validated params, run id and the recordings to process."""

    params: FrameParams
    run_id: str
    jobs: tuple[SequenceJob, ...]
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """The sampling method."""
        return self.params.method

    def job(self, group: str, sequence: str) -> SequenceJob:
        """The job of one recording."""
        for j in self.jobs:
            if j.group == group and j.sequence == sequence:
                return j
        raise MediaNotFoundError(
            "recording is not part of this frame run", group=group, sequence=sequence, found=self.run_id
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for passing a plan between pipeline nodes)."""
        return {
            "params": self.params.to_dict(),
            "run_id": self.run_id,
            "failures": dict(self.failures),
            "jobs": [
                {"group": j.group, "sequence": j.sequence, "videos": [asdict(v) for v in j.videos]} for j in self.jobs
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameRun:
        """Inverse of :meth:`to_dict`."""
        p = dict(data["params"])
        p = validate_frame_params(p.pop("n_frames"), p.pop("method"), **p)
        jobs = tuple(
            SequenceJob(group=j["group"], sequence=j["sequence"], videos=tuple(VideoSource(**v) for v in j["videos"]))
            for j in data["jobs"]
        )
        return cls(params=p, run_id=data["run_id"], jobs=jobs, failures=dict(data.get("failures") or {}))


def _job_from_rows(ds: DatasetCore, group: str, sequence: str, rows: pd.DataFrame) -> SequenceJob:
    videos, offset = [], 0
    for r in rows.sort_values(["video_order", "abs_path"]).itertuples(index=False):
        path = ds.resolve_path(r.abs_path)
        if not path.is_file():
            raise VideoReadError(
                "indexed video is missing", path=path, group=group, sequence=sequence, hint="re-run index_media"
            )
        size = path.stat().st_size
        if int(r.size_bytes) != size:
            raise VideoReadError(
                "video changed since it was indexed",
                path=path,
                group=group,
                sequence=sequence,
                expected=f"{int(r.size_bytes)} bytes",
                found=f"{size} bytes",
                hint="re-run index_media",
            )
        n = int(r.n_frames)
        videos.append(
            VideoSource(
                path=str(path),
                rel_path=str(r.abs_path),
                name=str(r.name),
                n_frames=n,
                width=int(r.width),
                height=int(r.height),
                fps=float(r.fps),
                offset=offset,
                size_bytes=size,
                fingerprint=file_fingerprint(path),
            )
        )
        offset += n
    return SequenceJob(group=group, sequence=sequence, videos=tuple(videos))


def sequence_jobs(
    ds: DatasetCore,
    groups: Sequence[str] | None = None,
    sequences: Sequence[str] | None = None,
) -> tuple[list[SequenceJob], dict[str, str]]:
    """Recordings with indexed videos (optionally filtered), and the ones whose videos fail checks.

    Raises
    ------
    IndexFileError
        No media index (run ``index_media`` first).
    MediaNotFoundError
        A requested group/sequence has no indexed video.
    """
    df = read_media_index(ds)
    df = df[df["sequence"] != ""]
    groups = [groups] if isinstance(groups, str) else groups
    sequences = [sequences] if isinstance(sequences, str) else sequences
    if groups is not None:
        df = df[df["group"].isin([str(g) for g in groups])]
    if sequences is not None:
        df = df[df["sequence"].isin([str(s) for s in sequences])]
    if not len(df):
        raise MediaNotFoundError(
            "no indexed video for the requested recordings",
            path=media_index_path(ds),
            expected=f"groups={groups}, sequences={sequences}",
            found="no matching rows",
            hint="run index_media and check the group/sequence names",
        )
    jobs, failures = [], {}
    for (g, s), rows in df.groupby(["group", "sequence"], sort=True):
        try:
            jobs.append(_job_from_rows(ds, str(g), str(s), rows))
        except MosaicError as exc:
            failures[f"{g}/{s}"] = f"{type(exc).__name__}: {exc}"
    return jobs, failures


def frame_run_id(params: FrameParams, jobs: Sequence[SequenceJob]) -> str:
    """Hash of method + params + the identities of every source video."""
    sources = [
        {"group": j.group, "sequence": j.sequence, "videos": [v.identity() for v in j.videos]}
        for j in sorted(jobs, key=lambda j: (j.group, j.sequence))
    ]
    return make_run_id({"kind": "frames", "method": params.method, "params": params.identity(), "sources": sources})


def plan_frame_run(
    ds: DatasetCore,
    n_frames: int,
    method: str = "uniform",
    *,
    groups: Sequence[str] | None = None,
    sequences: Sequence[str] | None = None,
    **params: Any,
) -> FrameRun:
    """Validate parameters, collect the recordings' videos and compute the run id."""
    p = validate_frame_params(n_frames, method, **params)
    jobs, failures = sequence_jobs(ds, groups, sequences)
    return FrameRun(params=p, run_id=frame_run_id(p, jobs), jobs=tuple(jobs), failures=failures)


def sequence_frames_dir(ds: DatasetCore, method: str, run_id: str, group: str, sequence: str) -> Path:
    """``frames/<method>/<run_id>/<group_safe>__<sequence_safe>/`` (inside the frames root)."""
    return path_in_root(
        ds.get_root("frames"), to_safe_name(method), to_safe_name(run_id), sequence_key(group, sequence)
    )


def frame_file_stem(index: int, total_frames: int) -> str:
    """``frame_000123``: zero-padded to 6 digits, or more for longer recordings."""
    width = max(6, len(str(max(total_frames - 1, 0))))
    return f"{FRAME_PREFIX}{int(index):0{width}d}"


def partition_id(method: str, run_id: str, group: str, sequence: str, index: int, total_frames: int) -> str:
    """Kedro partition id of a frame: ``<method>/<run_id>/<group_safe>__<sequence_safe>/frame_000123``."""
    return f"{to_safe_name(method)}/{to_safe_name(run_id)}/{sequence_key(group, sequence)}/{frame_file_stem(index, total_frames)}"
