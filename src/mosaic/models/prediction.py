"""Applying a trained run: :func:`predict` writes its output as the feature ``<model>__pred``.

:func:`plan_prediction` loads the run and resolves its input feature runs and output files
into a :class:`PredictionRun` (tasks of paths and parameters, nothing computed); its ``run``
predicts each pending recording with :func:`apply_bundle` (pure) in a worker that loads the
model file once per process, then lists the written recordings in the feature's index once.
:func:`predict` is ``plan_prediction(...).run()``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mosaic.core.atomic import atomic_write_json
from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ModelError
from mosaic.core.executor import ExecutorConfig
from mosaic.core.run_ids import canonical_json
from mosaic.core.safe_names import sequence_key, to_safe_name

from . import inputs as mi
from .evaluation import SEQ_SEP, sequence_keys, smooth_bouts
from .store import MODEL_FILE, load_run, save_parquet

if TYPE_CHECKING:
    from .inputs import ModelInputs

Key = tuple[str, str]

PRED_SUFFIX = "__pred"
MODEL_VERSION = "1"


def prediction_feature_name(model: str) -> str:
    """Name of the feature a model's predictions are written as: ``<model>__pred``."""
    return f"{model}{PRED_SUFFIX}"


def _track_cols(target: str) -> list[str]:
    return ["id", "id2"] if target == "pair" else ["id"]


def _smooth(df: pd.DataFrame, values: np.ndarray, target: str, min_bout: int) -> np.ndarray:
    """Bout smoothing of ``values`` aligned with ``df`` (any row order)."""
    if min_bout <= 1 or len(df) == 0:
        return np.asarray(values, dtype=object)
    track = sequence_keys(df["group"], df["sequence"])
    for c in _track_cols(target):
        track = track + SEQ_SEP + df[c].astype(str).to_numpy(dtype=object)
    order = np.lexsort((df["frame"].to_numpy(), pd.factorize(track)[0]))
    out = np.empty(len(df), dtype=object)
    out[order] = smooth_bouts(np.asarray(values, dtype=object)[order], track[order], min_bout)
    return out


def predict(
    ds: DatasetCore | ModelInputs,
    model_run: Any,
    sequences: Any = None,
    groups: Any = None,
    overwrite: bool = False,
    parallel_mode: str = "serial",
    parallel_workers: int | None = None,
    dask_address: str | None = None,
    memory_limit: str | int | None = None,
):
    """Apply a trained run and write its output as the feature ``<model>__pred``.

    ``plan_prediction(...).run()``: the Kedro ``train`` pipeline plans in its node and runs the
    plan when the ``behavior_predictions`` catalog entry saves it.

    Parameters
    ----------
    ds
        The dataset (or the model's inputs, :class:`~mosaic.models.inputs.ModelInputs`).
    model_run
        ``'model'`` (latest run), ``'model/run_id'``, ``(model, run_id)``, a run id or a
        :class:`~mosaic.models.store.StoredRun`.
    sequences, groups
        Restrict to these recordings (default: every recording all input features cover).
    overwrite
        Rewrite prediction files that exist.
    parallel_mode, parallel_workers, dask_address, memory_limit
        How recordings are predicted (see :mod:`mosaic.core.executor`); each worker loads
        the model file once, reads its recording's features and writes its predictions.

    Returns
    -------
    mosaic.features.base.Result
        ``Result(feature='<model>__pred', run_id=<model run_id>, paths=...)``; columns
        ``frame, id[, id2], pred, pred_code`` and ``prob_<class>`` (classifier) or
        ``frame, id[, id2], cluster`` (clustering).

    Raises
    ------
    ModelError
        Unknown model/run, or requested recordings lack an input feature.
    """
    executor = ExecutorConfig(parallel_mode, parallel_workers, dask_address, memory_limit)
    return plan_prediction(ds, model_run, sequences, groups, overwrite, executor).run()


@dataclass
class PredictionRun:
    """A planned prediction, nothing computed: the stored run, its recordings, output paths and tasks.

    Each task carries paths and parameters (never tables). :meth:`run` executes the pending
    tasks on the shared executor and lists the written recordings in the feature index once.
    """

    ds: DatasetCore
    stored: dict[str, Any]
    keys: list[Key]
    paths: dict[Key, Path]
    tasks: list[tuple]
    config: ExecutorConfig

    @property
    def feature(self) -> str:
        """``<model>__pred``."""
        return prediction_feature_name(self.stored["model"])

    def result(self):
        """The :class:`~mosaic.features.base.Result` of the prediction (known before it runs)."""
        from mosaic.features.base import Result

        return Result(self.feature, self.stored["run_id"], tuple(self.paths[k] for k in self.keys))

    def summary(self) -> dict[str, Any]:
        """``{'feature', 'run_id', 'paths'}`` with paths relative to the dataset folder."""
        return {
            "feature": self.feature,
            "run_id": self.stored["run_id"],
            "paths": [self.ds.relative_path(self.paths[k]) for k in self.keys],
        }

    def run(self):
        """Predict the pending recordings, record them in the feature index, return :meth:`result`.

        Raises
        ------
        MosaicError
            The first recording that failed (the written ones are indexed first).
        """
        from mosaic.core.executor import run_tasks

        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        run = self.stored
        _remember_bundle(run["dir"] / MODEL_FILE, run["bundle"])  # serial and thread modes reuse the loaded model
        results, errors = {}, []
        for r in run_tasks(_predict_one, self.tasks, self.config, desc=f"predict {run['model']}"):
            if isinstance(r, Exception):
                errors.append(r)
            else:
                results[r[0]] = r[1]
        written = [k for k in self.keys if k in results]
        _record_predictions(self.ds, run, self.feature, written, self.paths, results, created)
        if errors:  # the written recordings are indexed; the first failure is raised, named
            raise errors[0]
        return self.result()


def plan_prediction(
    source: DatasetCore | ModelInputs,
    model_run: Any,
    sequences: Any = None,
    groups: Any = None,
    overwrite: bool = False,
    executor: ExecutorConfig | None = None,
) -> PredictionRun:
    """Plan :func:`predict`: load the run, resolve its inputs and outputs; nothing is written.

    ``executor`` is the :class:`~mosaic.core.executor.ExecutorConfig` the plan runs on (default
    serial); the other arguments are :func:`predict`'s.
    """
    from mosaic.features.engine import feature_root

    from .store import ModelStore, StoredRun

    inputs = mi.as_model_inputs(source)
    if isinstance(model_run, StoredRun):
        model_run = (model_run.model, model_run.run_id)
    run = (inputs.models or ModelStore(inputs.ds)).load(model_run)
    runs = mi.resolve_feature_runs(inputs.features, run["config"]["inputs"])
    keys = _prediction_keys(runs, sequences, groups)
    fname = prediction_feature_name(run["model"])
    out_dir = feature_root(inputs.ds, fname) / run["run_id"]
    paths = {k: out_dir / f"{sequence_key(*k)}.parquet" for k in keys}
    done = _predicted_keys(inputs.features, fname, run["run_id"], overwrite)
    tasks = [_task(inputs.ds, run, runs, key, paths[key], fname) for key in keys if key not in done]
    return PredictionRun(inputs.ds, run, keys, paths, tasks, executor or ExecutorConfig("serial"))


def _prediction_keys(runs: list[dict], sequences: Any, groups: Any) -> list[tuple[str, str]]:
    """The recordings to predict: those every input feature covers, within ``sequences``/``groups``."""
    common = mi.covered(runs)
    seqs = [sequences] if isinstance(sequences, str) else sequences
    grps = [groups] if isinstance(groups, str) else groups
    keys = mi.in_scope(common, grps, seqs)
    if seqs is not None:
        missing = sorted(set(seqs) - {s for _, s in keys})
        if missing:
            lacking = {r["feature"]: sorted(set(missing) - {s for _, s in r["files"]}) for r in runs}
            raise ModelError(
                "requested sequences lack the model's input features",
                expected=f"sequences covered by {[r['feature'] + '/' + str(r['run_id']) for r in runs]}",
                found={f: m for f, m in lacking.items() if m} or missing,
            )
    if not keys:
        raise ModelError(
            "no recording to predict",
            expected="recordings covered by the model's input features",
            found={"groups": groups, "sequences": sequences},
        )
    return keys


def _predicted_keys(features: Any, fname: str, run_id: str, overwrite: bool) -> set[tuple[str, str]]:
    """Recordings the index lists for this run whose prediction file exists (none when ``overwrite``)."""
    idx = features.index(fname)
    if overwrite or not len(idx):
        return set()
    mine = idx[idx["run_id"] == run_id]
    ds = features.ds
    return {(g, s) for g, s, p in zip(mine["group"], mine["sequence"], mine["abs_path"]) if ds.resolve_path(p).exists()}


def _task(ds: DatasetCore, run: Mapping[str, Any], runs: list[dict], key: Key, out_path: Path, fname: str) -> tuple:
    """One recording's task: the run's identity and model file, its feature loaders, the output path."""
    model, run_id = run["model"], run["run_id"]
    mine = [{"prefix": r["prefix"], "loaders": {key: r["loaders"][key]}} for r in runs]
    info = {"feature": fname, "run_id": run_id, "group": key[0], "sequence": key[1]}
    return (ds, model, run_id, str(run["dir"] / MODEL_FILE), mine, key, run["config"]["config"], str(out_path), info)


def _record_predictions(
    ds: DatasetCore,
    run: Mapping[str, Any],
    fname: str,
    written: list[tuple[str, str]],
    paths: Mapping[tuple[str, str], Any],
    results: Mapping[tuple[str, str], int],
    created: str,
) -> None:
    """List the ``written`` recordings (in recording order) in the feature index, after ``run.json``."""
    from mosaic.core.indexes import upsert_index
    from mosaic.features.engine import FEATURES_INDEX, feature_index_path

    run_id = run["run_id"]
    out_dir = next(iter(paths.values())).parent if paths else None
    params = {"model": run["model"], "model_run_id": run_id}
    inputs_json = canonical_json(run["config"]["inputs"])
    rows = []
    for key in written:
        rows.append(
            {
                "feature": fname,
                "version": MODEL_VERSION,
                "run_id": run_id,
                "group": key[0],
                "sequence": key[1],
                "group_safe": to_safe_name(key[0]),
                "sequence_safe": to_safe_name(key[1]),
                "abs_path": ds.relative_path(paths[key]),
                "n_rows": results[key],
                "params_json": canonical_json(params),
                "inputs_json": inputs_json,
                "filters_json": canonical_json({}),
                "created_iso": created,
            }
        )
    if rows:  # run.json first, the index rows last
        atomic_write_json(
            out_dir / "run.json",
            {
                "feature": fname,
                "version": MODEL_VERSION,
                "run_id": run_id,
                "params": params,
                "inputs": run["config"]["inputs"],
                "classes": run["bundle"]["classes"],
                "created_iso": created,
            },
        )
        upsert_index(feature_index_path(ds, fname), rows, FEATURES_INDEX)


#: models loaded in this process, by (path, mtime, size): a worker loads a model file once
_BUNDLES: dict[tuple[str, int, int], Any] = {}


def _bundle_key(path: Any) -> tuple[str, int, int]:
    st = os.stat(path)
    return str(path), st.st_mtime_ns, st.st_size


def _remember_bundle(path: Any, bundle: Any) -> None:
    _BUNDLES.clear()
    _BUNDLES[_bundle_key(path)] = bundle


def _predict_one(task: tuple) -> tuple[tuple[str, str], int]:
    """One recording in a worker: load the model (verified, once per process), predict, write; return (key, n_rows)."""
    ds, model, run_id, model_file, runs, key, cfg, out_path, info = task
    k = _bundle_key(model_file)
    if k not in _BUNDLES:
        bundle = load_run(ds, (model, run_id))["bundle"]  # checks the file against the digest recorded at training
        _BUNDLES.clear()
        _BUNDLES[k] = bundle
    df = mi.load_model_input(runs, key, cfg)
    res = apply_bundle(_BUNDLES[k], df, cfg)
    save_parquet(res, out_path, info)
    return key, len(res)


def apply_bundle(bundle: Mapping[str, Any], df: pd.DataFrame, cfg: Mapping[str, Any]) -> pd.DataFrame:
    """Predictions of a loaded run for one recording's joined feature table (pure; no files)."""
    key = ["frame"] + _track_cols(bundle["target"])
    out = df[key].reset_index(drop=True).copy()
    X = mi.design_matrix(df, bundle["columns"])
    if bundle["kind"] == "classifier":
        est = bundle["estimator"]
        if len(df):
            from .fitting import thread_limit

            with thread_limit(bundle.get("n_threads", 1)):
                proba = est.predict_proba(X)
            est_classes = np.asarray(est.classes_).astype(str)
            pred = est_classes[proba.argmax(axis=1)].astype(object)
        else:
            proba, est_classes, pred = (
                np.zeros((0, len(bundle["classes"]))),
                np.asarray(bundle["classes"]),
                np.zeros(0, object),
            )
        if bundle.get("min_bout", 0) > 1:
            tmp = (
                df[["group", "sequence"] + key].reset_index(drop=True)
                if "group" in df
                else out.assign(group="", sequence="")
            )
            pred = _smooth(tmp, pred, bundle["target"], bundle["min_bout"])
        code = {c: i for i, c in enumerate(bundle["classes"])}
        out["pred"] = pred.astype(str) if len(pred) else pd.Series([], dtype=object)
        out["pred_code"] = pd.Series(pred, dtype=object).map(code).fillna(-1).astype(np.int64).to_numpy()
        for j, c in enumerate(est_classes):
            out[f"prob_{c}"] = proba[:, j] if len(df) else np.zeros(0)
        return out
    from .fitting import thread_limit
    from .unsupervised import assign_clusters

    with thread_limit(bundle.get("n_threads", 1)):
        out["cluster"] = assign_clusters(bundle, X) if len(df) else np.zeros(0, np.int64)
    return out
