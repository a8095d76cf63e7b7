"""Build a complete demo dataset folder with :func:`make_demo_dataset`.

Layout (paths relative to the dataset folder)::

    dataset.yaml                                   name 'mosaic-demo', meta fps_default, cm_per_pixel
    tracks_raw/trex/<group>/<sequence>_fish<k>.npz TRex per-individual exports
    tracks_raw/calms21/calms21_demo.npy            CalMS21-style resident/intruder file
    media_raw/<group>/<sequence>.mp4               rendered videos (mp4v)
    annotations/boris_aggregated/<sequence>.csv    BORIS aggregated events of the true bouts
    annotations/boris_tabular/<sequence>.csv       BORIS tabular events of the same bouts
    ground_truth/bouts.csv, <group>__<sequence>.npz, calms21_bouts.csv, sequences.csv
    ground_truth/demo.json                         completion marker (size, seed, conventions)

Every file is written atomically; the manifest is written last, after the completion
marker, so an interrupted build never looks like a complete demo (calling
:func:`make_demo_dataset` again rebuilds it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_write_json, atomic_write_text
from mosaic.core.dataset import MANIFEST_NAMES, DatasetCore
from mosaic.core.errors import ConfigError
from mosaic.core.paths import safe_rmtree
from mosaic.core.progress import progress
from mosaic.core.safe_names import sequence_key, to_safe_name

from .boris import write_boris_aggregated, write_boris_tabular
from .calms21 import simulate_calms21, write_calms21_npy
from .corrupt import CorruptionConfig, corrupt_sequence, write_corruption
from .simulate import BEHAVIORS, PAIR_BEHAVIORS, SimConfig, SimSequence, simulate, subject_name
from .trex import write_trex_npz
from .truth import write_calms21_truth, write_ground_truth
from .video import render_video

log = logging.getLogger(__name__)

DEMO_NAME = "mosaic-demo"
DEMO_FPS = 30.0
SIZES: dict[str, dict] = {
    "tiny": dict(n_groups=2, n_sequences=2, n_animals=(2, 4), n_frames=1800, calms21_sequences=2, calms21_frames=1800),
    "small": dict(n_groups=3, n_sequences=3, n_animals=(2, 5), n_frames=3600, calms21_sequences=4, calms21_frames=3600),
    "medium": dict(
        n_groups=4, n_sequences=5, n_animals=(2, 6), n_frames=9000, calms21_sequences=8, calms21_frames=9000
    ),
    "large": dict(
        n_groups=10, n_sequences=10, n_animals=(2, 6), n_frames=18000, calms21_sequences=20, calms21_frames=18000
    ),
}
MARKER = "ground_truth/demo.json"
CALMS21_FILE = "tracks_raw/calms21/calms21_demo.npy"
TIME_CONVENTION = (
    "BORIS Start (s) = start_frame / fps, Stop (s) = stop_frame / fps with stop_frame exclusive, "
    "3 decimals, time offset 0; invert with start_frame = round(Start * fps), stop_frame = round(Stop * fps)"
)
# folders a demo owns (removed on overwrite of an existing demo)
_OWNED = (
    "tracks_raw/trex",
    "tracks_raw/calms21",
    "media_raw",
    "annotations/boris_aggregated",
    "annotations/boris_tabular",
    "ground_truth",
)


def _manifest(folder: Path) -> Path | None:
    for name in MANIFEST_NAMES:
        if (folder / name).exists():
            return folder / name
    return None


def _check_existing(
    folder: Path, size: str, seed: int, overwrite: bool, videos: bool, config: dict, corruption: dict | None = None
) -> DatasetCore | None:
    manifest = _manifest(folder)
    marker = folder / MARKER
    if manifest is None:
        return None
    if not marker.exists():
        if overwrite:
            return None
        raise ConfigError(
            "folder holds a dataset that is not a complete mosaic demo",
            path=manifest,
            expected=f"a demo folder with {MARKER}",
            found="a manifest without the demo marker",
            hint="use an empty folder, or pass overwrite=True to write the demo into it",
        )
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        info = {}
    same = (
        info.get("size") == size
        and info.get("seed") == seed
        and info.get("config") == config
        and info.get("corruption") == corruption
    )
    if not overwrite:
        if same and (info.get("videos") or not videos):
            return DatasetCore.open(manifest)
        if not same:
            raise ConfigError(
                "folder holds a demo built with other parameters",
                path=marker,
                expected=f"size={size!r}, seed={seed}, config={config}",
                found=f"size={info.get('size')!r}, seed={info.get('seed')}, config={info.get('config')}",
                hint="pass overwrite=True to rebuild it",
            )
        log.info("the demo at %s has no videos yet: rebuilding it with videos", folder)
    manifest.unlink()  # a demo being rebuilt must not look complete until it is
    for rel in _OWNED:
        with contextlib.suppress(OSError):
            safe_rmtree(folder / rel, root=folder)  # never through a link out of the folder
    return None


def _write_sequence(
    sim: SimSequence, folder: Path, layout: DatasetCore, corr: CorruptionConfig | None, seed: int, videos: bool
) -> dict[str, Any]:
    """Write one simulated recording's raw files (tracks, annotations, video); return its ``sequences.csv`` row."""
    tracks_raw, media_raw = layout.get_root("tracks_raw"), layout.get_root("media_raw")
    g, s = to_safe_name(sim.group), to_safe_name(sim.sequence)
    observed = sim
    if corr is not None:
        observed, record = corrupt_sequence(sim, corr, seed=seed)
        write_corruption(
            record, observed, folder / "ground_truth" / "corruption" / f"{sequence_key(sim.group, sim.sequence)}.npz"
        )
    trex = write_trex_npz(observed, tracks_raw / "trex" / g, basename=s)
    media_rel = f"{layout.relative_path(media_raw / g / f'{s}.mp4')}"
    agg = write_boris_aggregated(sim, folder / "annotations" / "boris_aggregated" / f"{s}.csv", media_file=media_rel)
    tab = write_boris_tabular(sim, folder / "annotations" / "boris_tabular" / f"{s}.csv", media_file=media_rel)
    if videos:
        render_video(sim, media_raw / g / f"{s}.mp4")
    return {
        "group": sim.group,
        "sequence": sim.sequence,
        "key": sequence_key(sim.group, sim.sequence),
        "n_animals": sim.n_animals,
        "n_frames": sim.n_frames,
        "fps": sim.fps,
        "subjects": ";".join(subject_name(k) for k in range(sim.n_animals)),
        "trex_paths": ";".join(layout.relative_path(x) for x in trex),
        "video_path": media_rel if videos else "",
        "boris_aggregated_path": layout.relative_path(agg),
        "boris_tabular_path": layout.relative_path(tab),
    }


def _marker(
    size: str,
    seed: int,
    videos: bool,
    cfg: SimConfig,
    p: dict[str, Any],
    cfg_dict: dict[str, Any],
    corr_dict: dict[str, Any] | None,
) -> dict[str, Any]:
    """The demo marker: what was built, with which parameters (compared on the next call)."""
    marker = {
        "name": DEMO_NAME,
        "size": size,
        "seed": seed,
        "videos": videos,
        "fps": DEMO_FPS,
        "cm_per_pixel": float(cfg.cm_per_pixel),
        "arena_size": list(cfg.arena_size),
        "body_length": cfg.body_length,
        "behaviors": list(BEHAVIORS),
        "pair_behaviors": list(PAIR_BEHAVIORS),
        "subjects": "fish<k>",
        "boris_time_convention": TIME_CONVENTION,
        "boris_target": "partner subject name in 'Modifiers' (aggregated) and 'Comment' (tabular)",
        "calms21_file": CALMS21_FILE,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()},
        "config": cfg_dict,
    }
    if corr_dict is not None:  # only then: the default demo's files stay byte-identical
        marker["corruption"] = corr_dict
    return marker


def _create_manifest(folder: Path, meta: dict[str, Any]) -> DatasetCore:
    """The demo's manifest (an existing one, with overwrite, gets the demo ``meta`` added)."""
    ds = DatasetCore.create(folder, name=DEMO_NAME, meta=meta)
    if any(ds.meta.get(k) != v for k, v in meta.items()):  # an existing manifest (overwrite=True)
        ds.meta.update(meta)
        ds.save()
    return ds


def make_demo_dataset(
    folder: str | os.PathLike,
    size: str = "tiny",
    seed: int = 0,
    overwrite: bool = False,
    videos: bool = True,
    config: SimConfig | None = None,
    corruption: CorruptionConfig | bool | None = None,
) -> DatasetCore:
    """Create (or return) a complete demo dataset with known ground truth.

    Parameters
    ----------
    folder
        Dataset folder (created).
    size
        ``'tiny'`` (tests, default), ``'small'``, ``'medium'`` or ``'large'`` (benchmarks); see :data:`SIZES`.
    seed
        Seed of the simulation; the same size and seed give identical files.
    overwrite
        Rebuild even when a complete demo exists (an existing demo's manifest and own
        folders are removed first); with a foreign dataset in ``folder``, write the demo
        files into it and add the demo ``meta`` to its manifest.
    videos
        Render the videos (``media_raw``); switch off for fast, track-only datasets.
    config
        Physical simulation parameters.
    corruption
        ``None``/``False`` (default): the TRex exports hold the simulated tracks as they are.
        ``True`` or a :class:`~mosaic.demo.corrupt.CorruptionConfig`: the exports carry
        tracker errors (identity swaps at crossings, one-frame jumps, dropout bursts,
        jitter); the clean truth stays in ``ground_truth/`` and what was corrupted is saved
        as ``ground_truth/corruption/<group_safe>__<sequence_safe>.npz``.

    Returns
    -------
    DatasetCore
        The dataset. An existing complete demo with the same size, seed and config is returned as is
        (one built without videos is rebuilt when videos are asked for).

    Raises
    ------
    ConfigError
        Unknown ``size``; or ``folder`` holds another dataset / a demo with other
        parameters and ``overwrite`` is False.
    """
    if size not in SIZES:
        raise ConfigError("unknown demo size", expected=sorted(SIZES), found=size)
    folder = Path(folder).absolute()
    cfg = config or SimConfig()
    corr = CorruptionConfig() if corruption is True else (corruption or None)
    existing = _check_existing(folder, size, int(seed), overwrite, bool(videos), _as_stored(cfg), _as_stored(corr))
    if existing is not None:
        return existing
    return _build_demo(folder, size, int(seed), bool(videos), cfg, corr)


def _as_stored(config: SimConfig | CorruptionConfig | None) -> dict[str, Any] | None:
    """A config as the marker stores it (tuples become lists), or None."""
    return json.loads(json.dumps(asdict(config))) if config is not None else None


def _build_demo(
    folder: Path, size: str, seed: int, videos: bool, cfg: SimConfig, corr: CorruptionConfig | None
) -> DatasetCore:
    """Simulate and write every file of the demo; the marker, then the manifest, last."""
    p = SIZES[size]
    meta = {"fps_default": DEMO_FPS, "cm_per_pixel": float(cfg.cm_per_pixel)}
    layout = DatasetCore(manifest_path=folder / "dataset.yaml", name=DEMO_NAME, meta=meta)  # not saved yet

    sims = simulate(p["n_groups"], p["n_sequences"], p["n_animals"], p["n_frames"], DEMO_FPS, seed, cfg)
    rows = [_write_sequence(sim, folder, layout, corr, seed, videos) for sim in progress(sims, desc="demo sequences")]
    calms = simulate_calms21(p["calms21_sequences"], p["calms21_frames"], DEMO_FPS, seed + 1)
    write_calms21_npy(calms, folder / CALMS21_FILE)

    gt = folder / "ground_truth"
    write_ground_truth(sims, gt)
    write_calms21_truth(calms, gt / "calms21_bouts.csv", file=CALMS21_FILE)
    atomic_write_text(gt / "sequences.csv", pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
    atomic_write_json(folder / MARKER, _marker(size, seed, videos, cfg, p, _as_stored(cfg), _as_stored(corr)))
    ds = _create_manifest(folder, meta)  # manifest last
    log.info("demo dataset (%s, seed %s) ready at %s", size, seed, folder)
    return ds
