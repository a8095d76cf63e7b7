"""Stored model runs: layout, ``models/index.csv`` and verified reading.

:func:`load_run` reads only runs listed in the index, and each file only when its SHA-256 is
the one recorded when :mod:`mosaic.models.store` published the run (see there for the layout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ModelError
from mosaic.core.indexes import IndexSchema, read_index
from mosaic.core.paths import check_regular_file
from mosaic.core.run_ids import sha256_of_file
from mosaic.core.safe_names import path_in_root, to_safe_name

MODELS_INDEX = IndexSchema(
    name="models",
    columns=(
        "model",
        "run_id",
        "kind",
        "abs_path",
        "label_kind",
        "inputs_json",
        "macro_f1",
        "n_rows",
        "n_sequences",
        "created_iso",
    ),
    key=("model", "run_id"),
    text_columns=("model", "run_id", "kind", "abs_path", "label_kind", "inputs_json", "created_iso", "files_sha256"),
)
MODEL_FILE = "model.joblib"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
#: files whose SHA-256 the index row records (verified on every load)
VERIFIED_FILES = (MODEL_FILE, CONFIG_FILE, METRICS_FILE)
#: extra index column: JSON ``{file name: sha256}`` of :data:`VERIFIED_FILES`
DIGEST_COLUMN = "files_sha256"


def models_index_path(ds: DatasetCore) -> Path:
    """``models/index.csv``."""
    return ds.get_root("models") / "index.csv"


def read_models_index(ds: DatasetCore) -> pd.DataFrame:
    """``models/index.csv`` (empty table with the declared columns when absent)."""
    return read_index(models_index_path(ds), MODELS_INDEX, missing_ok=True)


def run_dir(ds: DatasetCore, model: str, run_id: str) -> Path:
    """``models/<model_safe>/<run_id>`` (not created)."""
    return path_in_root(ds.get_root("models"), to_safe_name(model), to_safe_name(run_id))


def _run_row(ds: DatasetCore, model: str, run_id: str) -> dict[str, Any] | None:
    idx = read_models_index(ds)
    if idx.empty:
        return None
    hit = idx[(idx["model"] == model) & (idx["run_id"] == run_id)]
    return None if hit.empty else hit.iloc[-1].to_dict()


def _digest_sets(row: dict[str, Any] | None) -> list[dict[str, str]]:
    """The digest sets the index row accepts: one, or two while a retrain of the run is being swapped in."""
    raw = "" if row is None else str(row.get(DIGEST_COLUMN, "") or "")
    try:
        val = json.loads(raw) if raw else []
    except ValueError:
        return []
    sets = val if isinstance(val, list) else [val]
    return [d for d in sets if isinstance(d, dict)]


def _run_files_digests(d: Path) -> dict[str, str] | None:
    try:
        return {f: sha256_of_file(d / f) for f in VERIFIED_FILES if (d / f).is_file() and not (d / f).is_symlink()}
    except OSError:
        return None


def run_is_complete(ds: DatasetCore, model: str, run_id: str) -> bool:
    """True when the index lists the run and its files match the digests recorded at publication."""
    sets = _digest_sets(_run_row(ds, model, run_id))
    found = _run_files_digests(run_dir(ds, model, run_id)) if sets else None
    return (
        bool(found)
        and len(found) == len(VERIFIED_FILES)
        and any(found == {f: s.get(f) for f in VERIFIED_FILES} for s in sets)
    )


def parse_model_run(ds: DatasetCore, model_run: Any) -> tuple[str, str]:
    """Resolve ``model_run`` to ``(model, run_id)``.

    Accepts ``(model, run_id)``, ``"model/run_id"``, ``"model"`` (its latest run), a bare run id
    listed in the index, or a mapping with ``model`` and ``run_id``.

    Raises
    ------
    ModelError
        No such model or run in ``models/index.csv``.
    """
    idx = read_models_index(ds)
    path = models_index_path(ds)
    if isinstance(model_run, dict):
        model_run = (model_run.get("model"), model_run.get("run_id"))
    if isinstance(model_run, (tuple, list)) and len(model_run) == 2:
        model, rid = str(model_run[0]), (None if model_run[1] is None else str(model_run[1]))
    elif isinstance(model_run, str):
        model, sep, rid = model_run.partition("/")
        if not sep:
            if (idx["run_id"] == model_run).any() and not (idx["model"] == model_run).any():
                model = str(idx.loc[idx["run_id"] == model_run, "model"].iloc[0])
                rid = model_run
            else:
                rid = None
    else:
        raise ModelError(
            "cannot identify a model run",
            expected="'model', 'model/run_id', (model, run_id) or run_id",
            found=repr(model_run),
        )
    rows = idx[idx["model"] == model]
    if rows.empty:
        raise ModelError(
            f"model {model!r} has no trained run",
            path=path,
            expected=sorted(set(idx["model"])) or "a trained model",
            found=model,
            hint="train_model(ds, model, config) first",
        )
    if rid is None:
        rid = str(rows.sort_values("created_iso", kind="stable")["run_id"].iloc[-1])
    elif not (rows["run_id"] == rid).any():
        raise ModelError(f"model {model!r} has no run {rid!r}", path=path, expected=sorted(rows["run_id"]), found=rid)
    return model, rid


def _verified_run_bytes(d: Path, sets: list[dict[str, str]], model: str) -> dict[str, bytes]:
    """The bytes of the run's files, refused unless together they match one recorded digest set."""
    import hashlib

    hint = f"retrain: train_model(ds, {model!r}, config, overwrite=True)"
    if not sets:
        raise ModelError(
            "model run has no recorded digests (not published by this project, or written by an older version)",
            path=d,
            expected=f"a {DIGEST_COLUMN} entry in models/index.csv",
            found="none",
            hint=hint,
        )
    data: dict[str, bytes] = {}
    for f in VERIFIED_FILES:
        path = d / f
        if path.is_symlink() or not path.is_file():
            raise ModelError(
                "model run file is missing or not a regular file",
                path=path,
                expected="the file written at training",
                found="a link" if path.is_symlink() else "nothing",
                hint=hint,
            )
        try:
            data[f] = path.read_bytes()
        except OSError as exc:
            raise ModelError(
                "model run file is unreadable",
                path=path,
                found=f"{type(exc).__name__}: {exc.strerror or exc}",
                hint=hint,
            ) from exc
    found = {f: hashlib.sha256(b).hexdigest() for f, b in data.items()}
    if any(found == {f: s.get(f) for f in VERIFIED_FILES} for s in sets):
        return data
    latest = sets[-1]
    bad = next((f for f in VERIFIED_FILES if found[f] != latest.get(f)), VERIFIED_FILES[0])
    raise ModelError(
        "model run file changed since it was saved (truncated, edited or replaced); refusing to load it",
        path=d / bad,
        expected=f"sha256 {latest.get(bad)}",
        found=f"sha256 {found[bad]} ({len(data[bad])} bytes)",
        hint=hint,
    )


def _json_bytes(data: bytes, path: Path) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError("model run file is not valid JSON", path=path, found=str(exc).splitlines()[0]) from exc


def load_run(ds: DatasetCore, model_run: Any) -> dict[str, Any]:
    """Load a trained run: ``{'model', 'run_id', 'dir', 'bundle', 'config', 'metrics'}``.

    ``bundle`` is what ``model.joblib`` holds (estimator, columns, classes, ...). Only runs
    listed in ``models/index.csv`` are loaded, and each file only when its SHA-256 is the one
    recorded when the run was published (nothing else is unpickled).

    Raises
    ------
    ModelError
        Unknown run; a file missing, unreadable, changed since training or not valid.
    """
    import io

    import joblib

    model, rid = parse_model_run(ds, model_run)
    d = run_dir(ds, model, rid)
    for f in (MODEL_FILE, CONFIG_FILE, METRICS_FILE):
        if (d / f).exists():
            check_regular_file(d / f, ModelError)  # a FIFO or an unreadable file: named, never a hang
    data = _verified_run_bytes(d, _digest_sets(_run_row(ds, model, rid)), model)
    try:
        bundle = joblib.load(io.BytesIO(data[MODEL_FILE]))
    except Exception as exc:
        raise ModelError(
            "model file cannot be loaded",
            path=d / MODEL_FILE,
            found=f"{type(exc).__name__}: {exc}",
            hint="retrain with the installed library versions (overwrite=True)",
        ) from exc
    return {
        "model": model,
        "run_id": rid,
        "dir": d,
        "bundle": bundle,
        "config": _json_bytes(data[CONFIG_FILE], d / CONFIG_FILE),
        "metrics": _json_bytes(data[METRICS_FILE], d / METRICS_FILE),
    }


def load_run_predictions(ds: DatasetCore, model_run: Any) -> pd.DataFrame:
    """Every per-sequence predictions file of a run as one table (``group``, ``sequence`` first)."""
    model, rid = parse_model_run(ds, model_run)
    d = run_dir(ds, model, rid) / "predictions"
    parts = []
    for p in sorted(d.glob("*.parquet")):
        try:
            parts.append(pd.read_parquet(p))
        except Exception as exc:
            raise ModelError(
                "model predictions file is unreadable", path=p, found=f"{type(exc).__name__}: {exc}"
            ) from exc
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
