"""Harness stages beyond ``convert``: label, featurize, sample_frames (registered on import).

Each stage runs the same library functions as its Kedro pipeline, through the facade where it
has a method (``convert_all_labels``, ``extract_frames``) and through the feature plan runner
(``mosaic.features.plan.run_feature_plan``, what the ``featurize`` node calls) otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.crash import Stage, ingest_demo, register_stage

BEHAVIORS = ["rest", "explore", "approach", "contact"]
PAIR_BEHAVIORS = ["approach", "contact"]
LABEL_PARAMS = {
    "paths": ["annotations/boris_aggregated"],
    "behaviors": BEHAVIORS,
    "pair_behaviors": PAIR_BEHAVIORS,
    "point_events": True,
    "on_issue": "warn",
}

FEATURE_PLAN = {
    "parallel_mode": "thread",
    "steps": [
        {
            "key": "kinematics",
            "feature": "kinematics",
            "params": {"outputs": ["velocity", "speed", "acceleration", "heading", "angular_velocity"]},
        },
        {"key": "pair", "feature": "pair", "params": {"outputs": ["distance", "facing", "relative_speed"]}},
        {
            "key": "kinematics_rolling",
            "feature": "rolling",
            "inputs": ["kinematics"],
            "params": {"windows": [15], "stats": ["mean", "std"], "columns": ["speed_px_s"]},
        },
    ],
}


def _converted(ds) -> None:
    ingest_demo(ds)
    ds.convert_all_tracks()


def _label(ds) -> None:
    ds.convert_all_labels(kind="behavior", overwrite=True, source_format="boris_csv", params=LABEL_PARAMS)


def _label_resume(ds) -> None:
    ds.convert_all_labels(kind="behavior", overwrite=False, source_format="boris_csv", params=LABEL_PARAMS)


def _featurize(ds, overwrite: bool = True) -> None:
    from mosaic.features.plan import run_feature_plan

    run_feature_plan(ds, {**FEATURE_PLAN, "overwrite": overwrite})


def _featurize_resume(ds) -> None:
    _featurize(ds, overwrite=False)


def featurize_some(ds, rows: list[dict]) -> None:
    """Featurize the given recordings one at a time (concurrency workers)."""
    for r in rows:
        ds.run_feature(
            {"name": "kinematics", "params": {"outputs": ["speed", "heading"]}},
            groups=[r["group"]],
            sequences=[r["sequence"]],
            overwrite=True,
        )


def _frames_prepare(ds) -> None:
    _converted(ds)
    ds.index_media(["media_raw"])


def _frames_prepare_kedro(ds) -> None:
    """As :func:`_frames_prepare`, plus ``media/index_report.json`` (the ``ingest`` output ``sample_frames`` reads)."""
    from mosaic.core.atomic import atomic_write_json
    from mosaic.media.index import index_media_from_config

    _converted(ds)
    report = index_media_from_config(ds, {"search_dirs": ["media_raw"]})
    atomic_write_json(ds.get_root("media") / "index_report.json", report)


def _sample_frames(ds) -> None:
    ds.extract_frames(6, "uniform", overwrite=True, parallel_workers=1)


def _sample_frames_resume(ds) -> None:
    ds.extract_frames(6, "uniform", overwrite=False, parallel_workers=1)


def _sample_frames_kmeans(ds) -> None:
    ds.extract_frames(6, "kmeans", overwrite=True, parallel_workers=1, kmeans_max_candidates=300)


def frames_check(folder: Path) -> list[str]:
    """Every indexed frame run lists frames that exist and read, as many as the index says."""
    import pandas as pd
    from PIL import Image

    problems = []
    idx_path = folder / "frames" / "index.csv"
    if not idx_path.exists():
        return problems
    idx = pd.read_csv(idx_path, dtype=str, keep_default_na=False)
    for i, row in idx.iterrows():
        info_p = folder / row["run_info_path"]
        if not info_p.is_file():
            problems.append(f"frames index row {i}: run_info missing {row['run_info_path']}")
            continue
        info = json.loads(info_p.read_text())
        files = [f["file"] for f in info.get("frames", [])]
        if str(len(files)) != row["n_frames"]:
            problems.append(f"frames index row {i}: n_frames {row['n_frames']} but run_info lists {len(files)}")
        for f in files:
            p = folder / row["frames_dir_path"] / f
            try:
                with Image.open(p) as im:
                    im.load()
            except Exception as exc:
                problems.append(f"frames index row {i}: frame {f} unreadable: {type(exc).__name__}")
    return problems


VOL_FEATURES = frozenset({"created_iso", "stats"})
VOL_FRAMES = frozenset({"created_iso", "timing", "select_s"})
LABEL_GLOBS = ("labels/*/*.npz", "labels/*/index.csv")
FEATURE_GLOBS = ("features/*/*/*.parquet", "features/*/index.csv", "features/*/*/run.json")
FRAME_GLOBS = ("frames/*/*/*/*.png", "frames/*/*/*/run_info.json", "frames/index.csv")


def _kedro(pipeline: str, overrides: str):
    def cli(folder: Path) -> list[str]:
        import sys

        kedro = Path(sys.executable).with_name("kedro")
        return [str(kedro), "run", "--pipelines", pipeline, "--params", f"dataset_dir={folder},{overrides}"]

    return cli


KEDRO_MARK = "Loading data from"

for _st in (
    Stage("label", _label, _converted, ("labels",), LABEL_GLOBS, frozenset({"created_iso"}), warm_start=True),
    # a resumed run reports the recordings it skipped instead of written: compare files, not that list
    Stage(
        "label_resume",
        _label_resume,
        _converted,
        ("labels",),
        LABEL_GLOBS,
        frozenset({"created_iso", "written", "skipped"}),
    ),
    Stage("featurize", _featurize, _converted, ("features",), FEATURE_GLOBS, VOL_FEATURES, warm_start=True),
    Stage("featurize_resume", _featurize_resume, _converted, ("features",), FEATURE_GLOBS, VOL_FEATURES),
    Stage(
        "sample_frames",
        _sample_frames,
        _frames_prepare,
        ("frames",),
        FRAME_GLOBS,
        VOL_FRAMES,
        videos=True,
        extra_check=frames_check,
        warm_start=True,
    ),
    Stage(
        "sample_frames_resume",
        _sample_frames_resume,
        _frames_prepare,
        ("frames",),
        FRAME_GLOBS,
        VOL_FRAMES,
        videos=True,
        extra_check=frames_check,
    ),
    Stage(
        "sample_frames_kmeans",
        _sample_frames_kmeans,
        _frames_prepare,
        ("frames",),
        FRAME_GLOBS,
        VOL_FRAMES,
        videos=True,
        extra_check=frames_check,
        warm_start=True,
    ),
    # the Kedro door (soak with --kedro): same library functions, catalog datasets do the saving
    Stage(
        "label_kedro",
        _label,
        _converted,
        ("labels",),
        LABEL_GLOBS,
        frozenset({"created_iso"}),
        warm_start=True,
        cli=_kedro("label", "label.overwrite=true"),
        ready_marker=KEDRO_MARK,
    ),
    Stage(
        "featurize_kedro",
        _featurize,
        _converted,
        ("features",),
        FEATURE_GLOBS,
        VOL_FEATURES,
        warm_start=True,
        cli=_kedro("featurize", "featurize.overwrite=true"),
        ready_marker=KEDRO_MARK,
    ),
    Stage(
        "sample_frames_kedro",
        _sample_frames,
        _frames_prepare_kedro,
        ("frames",),
        FRAME_GLOBS,
        VOL_FRAMES,
        videos=True,
        extra_check=frames_check,
        warm_start=True,
        cli=_kedro("sample_frames", "sample_frames.overwrite=true"),
        ready_marker=KEDRO_MARK,
    ),
):
    register_stage(_st)
