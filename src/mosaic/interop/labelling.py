"""Pose-labelling projects from a frame run, and labelled frames back as keypoint labels.

Out (from the ``run_info.json`` manifests of a frame run, see :func:`mosaic.media.get_frame_manifests`):

* **DeepLabCut**: ``<project>/labeled-data/<video>/img<NNN>.png`` (the video's own frame number,
  zero-padded to the width of the video's frame count, as DeepLabCut names extracted frames), an
  empty ``CollectedData_<scorer>.csv``/``.h5`` per video in DeepLabCut's layout (header rows
  ``scorer / [individuals /] bodyparts / coords``, row index ``('labeled-data', <video>, <image>)``,
  NaN for unlabelled points; H5 key ``df_with_missing``), a ``config.yaml`` naming scorer, body
  parts, individuals and videos, and ``mosaic_frames.csv`` per folder mapping each image to its
  recording and frame.
* **SLEAP** (via ``sleap-io``): a ``.slp`` labels file with the skeleton, one video per source video
  (or the run's PNGs as an image sequence when the video is not found) and one *suggestion* per
  sampled frame; the frame ↔ recording map is kept in the file's provenance (``mosaic``).

Back: a labelled ``CollectedData_*`` (CSV or H5) or a SLEAP ``.slp`` (user instances only) becomes
per recording a keypoint-label table in the ``trex_v1`` layout — one row per labelled
(frame, individual) with ``poseX<k>``/``poseY<k>`` (NaN where a point is not labelled) and
``X``/``Y`` their NaN-mean.

One module per tool: :mod:`mosaic.interop.dlc_project` and :mod:`mosaic.interop.sleap_project`,
over the frame table of :mod:`mosaic.interop.frame_run`; this module gathers their public names.
"""

from __future__ import annotations

from .dlc_project import dlc_columns, read_dlc_labels, write_dlc_project
from .frame_run import FRAME_MAP, run_frames
from .sleap_project import read_sleap_labels, write_sleap_project

__all__ = [
    "FRAME_MAP",
    "dlc_columns",
    "read_dlc_labels",
    "read_sleap_labels",
    "run_frames",
    "write_dlc_project",
    "write_sleap_project",
]
