"""Model runs on disk: ``models/<model>/<run_id>/`` and ``models/index.csv``.

A run becomes visible all at once: its files are written into a hidden staging folder
(:func:`begin_run`), which :func:`publish_run` renames into place before it writes the run's
index row — last, with the SHA-256 of the model, config and metrics files. Readers
(:func:`load_run`, whose home is :mod:`mosaic.models.runs`) see only runs listed in the index,
and load a file only when its digest matches the recorded one, so a half-written, torn or foreign file is refused (by name)
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
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mosaic.core.atomic import atomic_path, atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ModelError
from mosaic.core.indexes import upsert_index
from mosaic.core.run_ids import canonical_json, sha256_of_file
from mosaic.core.safe_names import path_in_root, to_safe_name

from .runs import (  # the layout, the index and the verified readers, public through this module too
    CONFIG_FILE,
    DIGEST_COLUMN,
    METRICS_FILE,
    MODEL_FILE,
    MODELS_INDEX,
    VERIFIED_FILES,
    _digest_sets,
    _run_row,
    load_run,
    load_run_predictions,
    models_index_path,
    parse_model_run,
    read_models_index,
    run_dir,
    run_is_complete,
)

STAGING_MARKER = ".staging-"
RETIRED_MARKER = ".retired-"
_LOCK_NAME = ".writer.lock"
#: staging folders of this process -> the open file holding their writer lock
_HELD: dict[str, Any] = {}


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
        raise ModelError(
            "model run is incomplete; not published",
            path=staging,
            expected=list(VERIFIED_FILES),
            found=f"missing {absent}",
        )
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
    """Write a trained run (:class:`mosaic.models.FittedRun`) and list it in ``models/index.csv``.

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


@dataclass(frozen=True)
class ModelStore:
    """A read-only view of the dataset's stored model runs (``models/``), for both doors.

    ``mosaic.Dataset`` builds it over its folder; the Kedro catalog entry ``model_store`` loads
    it. It checks whether a run is stored whole and reads stored runs, verified
    (:func:`load_run`); it never writes (:func:`store_model_run` does).
    """

    ds: DatasetCore

    def is_complete(self, model: str, run_id: str) -> bool:
        """True when ``models/index.csv`` lists the run and its files match their recorded digests."""
        return run_is_complete(self.ds, model, run_id)

    def resolve(self, model_run: Any) -> tuple[str, str]:
        """``(model, run_id)`` of ``model_run`` (see :func:`parse_model_run`)."""
        return parse_model_run(self.ds, model_run)

    def load(self, model_run: Any) -> dict[str, Any]:
        """The stored run: ``{'model', 'run_id', 'dir', 'bundle', 'config', 'metrics'}`` (:func:`load_run`)."""
        return load_run(self.ds, model_run)

    def predictions(self, model_run: Any) -> pd.DataFrame:
        """The run's training predictions, one table (:func:`load_run_predictions`)."""
        return load_run_predictions(self.ds, model_run)

    def run(self, model_run: Any) -> StoredRun:
        """A handle on one stored run (resolved now, read when asked)."""
        model, run_id = self.resolve(model_run)
        return StoredRun(self, model, run_id)


@dataclass(frozen=True)
class StoredRun:
    """One stored model run (what the ``model_run`` catalog entry loads): read lazily, verified."""

    store: ModelStore
    model: str
    run_id: str

    def load(self) -> dict[str, Any]:
        """``{'model', 'run_id', 'dir', 'bundle', 'config', 'metrics'}``; raises :class:`ModelError` when not stored whole."""
        return self.store.load((self.model, self.run_id))

    def predictions(self) -> pd.DataFrame:
        """The run's training predictions (``group``, ``sequence`` first)."""
        return self.store.predictions((self.model, self.run_id))

    def is_complete(self) -> bool:
        """True when the run is stored whole."""
        return self.store.is_complete(self.model, self.run_id)


__all__ = [
    "CONFIG_FILE",
    "DIGEST_COLUMN",
    "METRICS_FILE",
    "MODELS_INDEX",
    "MODEL_FILE",
    "ModelStore",
    "StoredRun",
    "VERIFIED_FILES",
    "abort_run",
    "atomic_write_json",
    "begin_run",
    "load_run",
    "load_run_predictions",
    "models_index_path",
    "parse_model_run",
    "publish_run",
    "read_models_index",
    "record_run",
    "run_dir",
    "run_is_complete",
    "save_joblib",
    "save_parquet",
    "store_model_run",
    "sweep_staging",
]
