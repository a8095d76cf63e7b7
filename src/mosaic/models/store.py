"""Model runs on disk: ``models/<model>/<run_id>/`` and ``models/index.csv``.

A run becomes visible all at once: its files are written into a hidden staging folder
(:func:`begin_run`), which :func:`publish_run` renames into place before it writes the run's
index row — last, with the SHA-256 of the model, config and metrics files. Readers
(:func:`load_run`) see only runs listed in the index, and load a file only when its digest
matches the recorded one, so a half-written, torn or foreign file is refused (by name)
rather than unpickled. A killed run leaves only its staging folder, removed by the next
:func:`begin_run` once no live writer holds its lock.

Layout of one run::

    models/<model_safe>/<run_id>/model.joblib        fitted estimator (+ columns, classes)
    models/<model_safe>/<run_id>/config.json         resolved config + resolved inputs
    models/<model_safe>/<run_id>/metrics.json        metrics (classifier) / summary (clustering)
    models/<model_safe>/<run_id>/predictions/<group_safe>__<sequence_safe>.parquet
    models/<model_safe>/<run_id>/plots/*.png
    models/<model_safe>/<run_id>/cluster_means.csv   (clustering)
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_path, atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ModelError
from mosaic.core.indexes import IndexSchema, read_index, upsert_index
from mosaic.core.paths import check_regular_file
from mosaic.core.run_ids import canonical_json, sha256_of_file
from mosaic.core.safe_names import path_in_root, to_safe_name

MODELS_INDEX = IndexSchema(
    name="models",
    columns=("model", "run_id", "kind", "abs_path", "label_kind", "inputs_json", "macro_f1", "n_rows",
             "n_sequences", "created_iso"),
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
STAGING_MARKER = ".staging-"
RETIRED_MARKER = ".retired-"
_LOCK_NAME = ".writer.lock"
#: staging folders of this process -> the open file holding their writer lock
_HELD: dict[str, Any] = {}


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
    return bool(found) and len(found) == len(VERIFIED_FILES) and any(found == {f: s.get(f) for f in VERIFIED_FILES} for s in sets)


# ------------------------------------------------------------------------------ publishing
def _holds_lock(folder: Path) -> bool:
    """True when a live writer (any process, any PID namespace on this host) holds ``folder``'s lock."""
    try:
        fh = open(folder / _LOCK_NAME, "a+")  # closed below
    except OSError:
        return False  # no lock file: never started or already torn down
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        fh.close()
    return False


def sweep_staging(ds: DatasetCore, model: str) -> list[Path]:
    """Remove staging and retired folders of ``model`` left by killed runs; return them.

    A staging folder is removed only when no process holds its writer lock (an advisory
    ``flock``, released by the kernel when its writer dies, whatever its PID namespace).
    Links are removed as links, never followed.
    """
    parent = path_in_root(ds.get_root("models"), to_safe_name(model))
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for p in sorted(parent.iterdir()):
        name = p.name
        if not name.startswith(".") or (STAGING_MARKER not in name and RETIRED_MARKER not in name):
            continue
        if p.is_symlink() or not p.is_dir():
            with contextlib.suppress(OSError):
                p.unlink()
            removed.append(p)
            continue
        if str(p) in _HELD or (STAGING_MARKER in name and _holds_lock(p)):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def begin_run(ds: DatasetCore, model: str, run_id: str) -> Path:
    """Create and return a fresh hidden staging folder for a run of ``model``.

    Write every file of the run into it (model, config, metrics, predictions, plots), then
    call :func:`publish_run`; :func:`abort_run` throws it away. Leftovers of killed runs of
    the same model are swept first.
    """
    final = run_dir(ds, model, run_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_staging(ds, model)
    staging = final.parent / f".{final.name}{STAGING_MARKER}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    fh = open(staging / _LOCK_NAME, "a+")  # held until publish/abort
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    _HELD[str(staging)] = fh
    return staging


def _release(staging: Path) -> None:
    fh = _HELD.pop(str(staging), None)
    if fh is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def abort_run(staging: str | os.PathLike) -> None:
    """Discard a staging folder made by :func:`begin_run` (nothing published)."""
    staging = Path(staging)
    _release(staging)
    if STAGING_MARKER in staging.name and not staging.is_symlink():
        shutil.rmtree(staging, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False when unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # kernel or filesystem without the flag: fall back to two renames
    raise OSError(err, os.strerror(err), str(b))


def publish_run(ds: DatasetCore, model: str, run_id: str, staging: str | os.PathLike, row: dict[str, Any]) -> Path:
    """Make a staged run visible: rename it to ``models/<model>/<run_id>`` and record its index row.

    The row (see :data:`MODELS_INDEX`) is written last and carries the SHA-256 of
    :data:`VERIFIED_FILES`; its ``abs_path`` is set to the final folder. A previous run
    folder of the same id is moved aside first and removed after the new one is in place;
    while they swap, the listed row accepts the digests of either (never a mix of both), so
    readers see the old run or the new one whole at every moment.

    Raises
    ------
    ModelError
        The staging folder lacks the model, config or metrics file.
    """
    staging = Path(staging)
    final = run_dir(ds, model, run_id)
    absent = [f for f in VERIFIED_FILES if not (staging / f).is_file()]
    if absent:
        raise ModelError("model run is incomplete; not published", path=staging, expected=list(VERIFIED_FILES), found=f"missing {absent}")
    digests = {f: sha256_of_file(staging / f) for f in VERIFIED_FILES}
    _release(staging)
    with contextlib.suppress(FileNotFoundError):
        (staging / _LOCK_NAME).unlink()
    row = {**row, "model": model, "run_id": run_id, "abs_path": ds.relative_path(final)}
    old = _digest_sets(_run_row(ds, model, run_id))
    if old and final.is_dir():  # a listed run is replaced: its row accepts both while the folders swap
        record_run(ds, {**row, DIGEST_COLUMN: canonical_json(old[-1:] + [digests])})
    retired = []
    if final.is_dir() and not final.is_symlink() and _exchange(staging, final):
        retired.append(staging)  # now holds the previous run
    for _ in range(0 if retired else 8):  # a concurrent publisher of the same run may slip in between; retry
        if final.exists() or final.is_symlink():
            aside = final.parent / f".{final.name}{RETIRED_MARKER}{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.rename(final, aside)
                retired.append(aside)
            except FileNotFoundError:
                pass
        try:
            os.rename(staging, final)
            break
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    else:
        if not retired:
            raise ModelError("could not publish the model run (its folder keeps being replaced)", path=final)
    record_run(ds, {**row, DIGEST_COLUMN: canonical_json(digests)})
    for aside in retired:
        if aside.is_symlink():
            aside.unlink()
        else:
            shutil.rmtree(aside, ignore_errors=True)
    return final


def save_joblib(obj: Any, path: Path) -> Path:
    """``joblib.dump`` atomically."""
    import joblib

    with atomic_path(path) as tmp:
        joblib.dump(obj, tmp)
    return path


def save_parquet(df: pd.DataFrame, path: Path, meta: dict[str, Any] | None = None) -> Path:
    """Write a DataFrame to parquet atomically; ``meta`` (e.g. the file's identity) goes in its ``mosaic`` metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta:
        md = dict(table.schema.metadata or {})
        md[b"mosaic"] = canonical_json(meta).encode("utf-8")
        table = table.replace_schema_metadata(md)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def record_run(ds: DatasetCore, row: dict[str, Any]) -> pd.DataFrame:
    """Upsert one run row into ``models/index.csv`` (locked, atomic)."""
    return upsert_index(models_index_path(ds), [row], MODELS_INDEX)


def store_model_run(ds: DatasetCore, fitted: Any) -> Path:
    """Write a trained run (:class:`mosaic.models.api.FittedRun`) and list it in ``models/index.csv``.

    The one writer of model runs, for both doors (``train_model`` and the Kedro ``model_run``
    dataset). Every file (predictions per recording, ``model.joblib``, extra files, plots,
    ``config.json``, ``metrics.json``) goes to a staging folder (:func:`begin_run`) that
    :func:`publish_run` makes visible at once, index row last; a failure discards it
    (:func:`abort_run`). A run that already exists (``fitted.existing``) is left as it is.
    """
    if fitted.existing:
        return run_dir(ds, fitted.model, fitted.run_id)
    from mosaic.core.atomic import atomic_write_text
    from mosaic.core.safe_names import sequence_key

    staging = begin_run(ds, fitted.model, fitted.run_id)
    try:
        if fitted.predictions is not None:
            for (g, s), part in fitted.predictions.groupby(["group", "sequence"], sort=True):
                save_parquet(part.reset_index(drop=True), staging / "predictions" / f"{sequence_key(g, s)}.parquet")
        save_joblib(fitted.bundle, staging / MODEL_FILE)
        for name, content in fitted.files.items():
            if isinstance(content, str):
                atomic_write_text(staging / name, content)
            else:
                atomic_write_json(staging / name, content)
        if fitted.figures:
            from mosaic.reporting.plots import save_figure

            for name, fig in fitted.figures.items():
                save_figure(fig, staging / "plots" / f"{name}.png")
        atomic_write_json(staging / CONFIG_FILE, fitted.resolved)
        atomic_write_json(staging / METRICS_FILE, fitted.metrics)
        return publish_run(ds, fitted.model, fitted.run_id, staging, dict(fitted.index_row))
    except BaseException:
        abort_run(staging)
        raise


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
        raise ModelError("cannot identify a model run", expected="'model', 'model/run_id', (model, run_id) or run_id", found=repr(model_run))
    rows = idx[idx["model"] == model]
    if rows.empty:
        raise ModelError(f"model {model!r} has no trained run", path=path, expected=sorted(set(idx["model"])) or "a trained model",
                         found=model, hint="train_model(ds, model, config) first")
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
        raise ModelError("model run has no recorded digests (not published by this project, or written by an older version)",
                         path=d, expected=f"a {DIGEST_COLUMN} entry in models/index.csv", found="none", hint=hint)
    data: dict[str, bytes] = {}
    for f in VERIFIED_FILES:
        path = d / f
        if path.is_symlink() or not path.is_file():
            raise ModelError("model run file is missing or not a regular file", path=path, expected="the file written at training",
                             found="a link" if path.is_symlink() else "nothing", hint=hint)
        try:
            data[f] = path.read_bytes()
        except OSError as exc:
            raise ModelError("model run file is unreadable", path=path, found=f"{type(exc).__name__}: {exc.strerror or exc}",
                             hint=hint) from exc
    found = {f: hashlib.sha256(b).hexdigest() for f, b in data.items()}
    if any(found == {f: s.get(f) for f in VERIFIED_FILES} for s in sets):
        return data
    latest = sets[-1]
    bad = next((f for f in VERIFIED_FILES if found[f] != latest.get(f)), VERIFIED_FILES[0])
    raise ModelError("model run file changed since it was saved (truncated, edited or replaced); refusing to load it", path=d / bad,
                     expected=f"sha256 {latest.get(bad)}", found=f"sha256 {found[bad]} ({len(data[bad])} bytes)", hint=hint)


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
    except Exception as exc:  # noqa: BLE001 - a verified file that still fails to load (library version change)
        raise ModelError("model file cannot be loaded", path=d / MODEL_FILE, found=f"{type(exc).__name__}: {exc}",
                         hint="retrain with the installed library versions (overwrite=True)") from exc
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
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for damaged files
            raise ModelError("model predictions file is unreadable", path=p, found=f"{type(exc).__name__}: {exc}") from exc
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


__all__ = [
    "CONFIG_FILE", "DIGEST_COLUMN", "METRICS_FILE", "MODELS_INDEX", "MODEL_FILE", "VERIFIED_FILES", "abort_run",
    "atomic_write_json", "begin_run", "load_run", "load_run_predictions", "models_index_path", "parse_model_run",
    "publish_run", "read_models_index", "record_run", "run_dir", "run_is_complete", "save_joblib", "save_parquet",
    "store_model_run", "sweep_staging",
]
