"""Hostile inputs for the interoperability readers: movement netCDF and NWB pose tracks, DLC and SLEAP label imports.

Each good file is written by the same tools a user has (mosaic's own writers, pandas, sleap-io),
then damaged at the byte level or given a wrong layout; every case must end in a named
:class:`~mosaic.core.errors.MosaicError`, or in valid output.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.reliability.hostile import BYTE_MUTATIONS, Case, check_tracks_output, convert_row, mutated, register_cases

V = "error_or_valid"
BODYPARTS = ["snout", "tail"]


def _demo_tracks(folder: Path):
    """The first converted demo recording (trex_v1), from the dataset the case folder lives in."""
    from mosaic.tracks import read_tracks

    return read_tracks(sorted((folder.parents[2] / "tracks").glob("*.parquet"))[0])


# ----------------------------------------------------------------------------- movement netCDF tracks
def movement_nc(edit: Callable[[Any], Any] | None = None) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        from mosaic.interop.movement import to_movement, write_movement_netcdf

        folder.mkdir(parents=True, exist_ok=True)
        ds_xr = to_movement(_demo_tracks(folder), {"fps": 25.0})
        if edit is not None:
            ds_xr = edit(ds_xr)
        return write_movement_netcdf(ds_xr, folder / "rec.nc")

    return build


def _seconds_without_fps(d):
    d = d.copy()
    d.attrs.pop("fps", None)
    d.attrs["time_unit"] = "seconds"
    return d


def _movement_cases() -> list[Case]:
    conv = convert_row("movement_netcdf")
    cases = [Case("movement_netcdf", "good", movement_nc(), conv, V, check_tracks_output)]
    cases += [Case("movement_netcdf", k, mutated(movement_nc(), m), conv) for k, m in BYTE_MUTATIONS.items()]
    cases += [
        Case("movement_netcdf", "no_position", movement_nc(lambda d: d.drop_vars("position")), conv),
        Case("movement_netcdf", "position_renamed", movement_nc(lambda d: d.rename({"position": "pos"})), conv),
        Case(
            "movement_netcdf",
            "3d_space",
            movement_nc(
                lambda d: d.assign_coords(space=["x", "y"]).pad(space=(0, 1)).assign_coords(space=["x", "y", "z"])
            ),
            conv,
            V,
            check_tracks_output,
        ),
        Case("movement_netcdf", "no_time", movement_nc(lambda d: d.isel(time=slice(0, 0))), conv),
        Case(
            "movement_netcdf",
            "time_shuffled",
            movement_nc(lambda d: d.assign_coords(time=d["time"].values[::-1].copy())),
            conv,
            V,
            check_tracks_output,
        ),
        Case("movement_netcdf", "no_fps_seconds", movement_nc(_seconds_without_fps), conv, V, check_tracks_output),
        Case(
            "movement_netcdf",
            "inf_positions",
            movement_nc(lambda d: d.assign(position=d["position"] * np.inf)),
            conv,
            V,
            check_tracks_output,
        ),
    ]
    return cases


# ----------------------------------------------------------------------------- NWB pose tracks
def nwb_file(empty: bool = False) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if empty:  # a valid NWB file without any pose estimation
            import datetime as dt

            from pynwb import NWBHDF5IO, NWBFile

            p = folder / "rec.nwb"
            nwb = NWBFile(
                session_description="x",
                identifier="x",
                session_start_time=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
            )
            with NWBHDF5IO(str(p), "w") as io:
                io.write(nwb)
            return p
        from mosaic.interop.nwb import write_nwb

        return write_nwb(_demo_tracks(folder), folder / "rec.nwb", {"fps": 25.0})

    return build


def _nwb_cases() -> list[Case]:
    conv = convert_row("nwb_pose")
    cases = [Case("nwb_pose", "good", nwb_file(), conv, V, check_tracks_output)]
    cases += [Case("nwb_pose", k, mutated(nwb_file(), m), conv) for k, m in BYTE_MUTATIONS.items()]
    cases += [Case("nwb_pose", "no_pose_estimation", nwb_file(empty=True), conv)]
    return cases


# ----------------------------------------------------------------------------- DLC CollectedData import
def collected_csv(edit_lines: Callable[[list[str]], list[str]] | None = None) -> Callable[[Path], Path]:
    """A multi-animal CollectedData CSV with 3 index columns, 2 labelled images."""

    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        cols = [(ind, bp, c) for ind in ("m1", "m2") for bp in BODYPARTS for c in ("x", "y")]
        lines = [
            ",,," + ",".join(["bob"] * len(cols)),
            ",,," + ",".join(c[0] for c in cols),
            ",,," + ",".join(c[1] for c in cols),
            ",,," + ",".join(c[2] for c in cols),
        ]
        lines = ["scorer" + lines[0][0:], "individuals" + lines[1], "bodyparts" + lines[2], "coords" + lines[3]]
        rng = np.random.default_rng(0)
        for img in ("img0003.png", "img0010.png"):
            lines.append(f"labeled-data,rec,{img}," + ",".join(f"{v:.2f}" for v in rng.uniform(0, 100, len(cols))))
        p = folder / "CollectedData_bob.csv"
        p.write_text("\n".join(edit_lines(lines) if edit_lines else lines) + "\n")
        return p

    return build


def import_labels(ds, p: Path):
    return ds.import_pose_labels(
        p, f"hostile_{p.parent.parent.name}_{p.parent.name}", recording=("hostile", "rec"), fps=25.0
    )


def _keypoints_written(ds, p: Path, index: Any) -> None:
    assert len(index) >= 1, "accepted labels produced no index row"


def _dlc_label_cases() -> list[Case]:
    cases = [Case("dlc_labels", "good", collected_csv(), import_labels, V, _keypoints_written)]
    cases += [
        Case("dlc_labels", k, mutated(collected_csv(), m), import_labels)
        for k, m in BYTE_MUTATIONS.items()
        if k != "truncated"
    ]
    cases += [
        Case(
            "dlc_labels",
            "truncated",
            mutated(collected_csv(), BYTE_MUTATIONS["truncated"]),
            import_labels,
            V,
            _keypoints_written,
        ),
        Case("dlc_labels", "header_only", collected_csv(lambda ls: ls[:4]), import_labels, V),
        Case("dlc_labels", "two_header_rows", collected_csv(lambda ls: ls[:2]), import_labels),
        Case("dlc_labels", "no_coords_row", collected_csv(lambda ls: ls[:3] + ls[4:]), import_labels),
        Case(
            "dlc_labels",
            "no_y",
            collected_csv(lambda ls: [ln.replace(",y", ",z") if i == 3 else ln for i, ln in enumerate(ls)]),
            import_labels,
        ),
        Case(
            "dlc_labels",
            "text_values",
            collected_csv(lambda ls: ls[:4] + [ln.replace(".", "x") for ln in ls[4:]]),
            import_labels,
            V,
            _keypoints_written,
        ),
        Case(
            "dlc_labels",
            "ragged_row",
            collected_csv(lambda ls: ls + ["labeled-data,rec,img0011.png,1,2"]),
            import_labels,
            V,
            _keypoints_written,
        ),
        Case(
            "dlc_labels",
            "image_not_numbered",
            collected_csv(lambda ls: ls[:4] + [ln.replace("img0003", "imgX") for ln in ls[4:]]),
            import_labels,
        ),
    ]
    return cases


# ----------------------------------------------------------------------------- SLEAP labels import
def sleap_labels(kind: str = "good") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import sleap_io as sio

        folder.mkdir(parents=True, exist_ok=True)
        skeleton = sio.Skeleton(BODYPARTS)
        video = sio.Video(filename=str(folder / "rec.mp4"), open_backend=False)
        track = sio.Track("m1")
        pts = np.array([[10.0, 20.0], [30.0, 40.0]])
        inst = (
            sio.PredictedInstance.from_numpy(pts, skeleton=skeleton, point_scores=np.ones(2), score=1.0)
            if kind == "predicted"
            else sio.Instance.from_numpy(pts, skeleton=skeleton, track=track)
        )
        frames = [] if kind == "no_frames" else [sio.LabeledFrame(video=video, frame_idx=3, instances=[inst])]
        labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton], tracks=[track])
        p = folder / "labels.slp"
        sio.save_slp(labels, str(p))
        return p

    return build


def _sleap_label_cases() -> list[Case]:
    cases = [Case("sleap_labels", "good", sleap_labels(), import_labels, V, _keypoints_written)]
    cases += [Case("sleap_labels", k, mutated(sleap_labels(), m), import_labels) for k, m in BYTE_MUTATIONS.items()]
    cases += [
        # nothing user-labelled: an empty import or a named error, never a traceback
        Case("sleap_labels", "predicted_only", sleap_labels("predicted"), import_labels, V),
        Case("sleap_labels", "no_frames", sleap_labels("no_frames"), import_labels, V),
    ]
    return cases


register_cases("interop_movement", _movement_cases)
register_cases("interop_nwb", _nwb_cases)
register_cases("interop_dlc_labels", _dlc_label_cases)
register_cases("interop_sleap_labels", _sleap_label_cases)
