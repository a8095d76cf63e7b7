"""A model's inputs: feature runs, labels and the model store, read through one small interface.

:class:`ModelInputs` bundles three read-only views — feature runs
(:class:`~mosaic.features.store.FeatureStore`), labels (:class:`~mosaic.labels.store.LabelStore`)
and stored model runs (:class:`~mosaic.models.store.ModelStore`). The facade builds it over its
dataset (:meth:`ModelInputs.from_dataset`); the Kedro ``train`` node from the catalog entries
``features@store``, ``labels_index@store`` and ``model_store`` (:meth:`ModelInputs.from_catalog`).
The functions below read through it, one recording at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import ConfigError, FeatureError, ModelError
from mosaic.features.store import FeatureStore
from mosaic.labels.store import LabelStore

from .align import individual_targets, join_feature_tables, pair_targets
from .store import ModelStore


@dataclass(frozen=True)
class ModelInputs:
    """What a model reads: feature runs, labels (classifiers) and the store of trained runs."""

    features: FeatureStore
    labels: LabelStore | None = None
    models: ModelStore | None = None

    @classmethod
    def from_dataset(cls, ds: DatasetCore) -> ModelInputs:
        """The three views over one dataset (the facade's door)."""
        return cls(FeatureStore(ds), LabelStore(ds), ModelStore(ds))

    @classmethod
    def from_catalog(
        cls, features: FeatureStore, labels: LabelStore | None = None, models: ModelStore | None = None
    ) -> ModelInputs:
        """The views the catalog loaded (the Kedro door); they must all view one dataset folder.

        Raises
        ------
        ConfigError
            A view is not the expected kind, or two views are of different dataset folders.
        """
        expected = (
            ("features", features, FeatureStore),
            ("labels", labels, LabelStore),
            ("models", models, ModelStore),
        )
        for name, view, cls_ in expected:
            if view is not None and not isinstance(view, cls_):
                raise ConfigError(f"model input {name!r} is not a {cls_.__name__}", found=type(view).__name__)
        folders = {str(v.ds.folder) for _, v, _ in expected if v is not None}
        if len(folders) > 1:
            raise ConfigError(
                "the model's catalog inputs view different dataset folders",
                expected="features@store, labels_index@store and model_store of one dataset folder",
                found=sorted(folders),
            )
        return cls(features, labels, models)

    @property
    def ds(self) -> DatasetCore:
        """The dataset the views read."""
        return self.features.ds


def as_model_inputs(source: DatasetCore | ModelInputs) -> ModelInputs:
    """``source`` itself, or the views over a dataset."""
    return source if isinstance(source, ModelInputs) else ModelInputs.from_dataset(source)


def resolve_feature_runs(features: FeatureStore, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Resolve each ``{'feature', 'run_id'}`` (run_id None = latest) to a concrete run and its files.

    Returns
    -------
    list of dict
        ``{'feature', 'run_id', 'files': {(group, sequence): path}, 'loaders', 'prefix'}`` per input;
        ``prefix`` names its columns (``as`` or the feature name; ``<name>@<run_id>`` when a name repeats).

    Raises
    ------
    ModelError
        A feature never ran or the run id is unknown (the message names the feature index).
    """
    from mosaic.features.engine import feature_index_path

    out = []
    for spec in specs:
        name, rid = spec["feature"], spec.get("run_id")
        try:
            run = features.run(name, rid)
        except FeatureError as exc:
            raise ModelError(
                f"model input feature {name!r} is not available",
                path=feature_index_path(features.ds, name),
                expected=f"a run of {name!r}" + (f" with run_id {rid}" if rid else ""),
                found=exc.problem,
                hint=f"run_feature(ds, {name!r}) first",
            ) from exc
        out.append(
            {
                "feature": name,
                "run_id": run.run_id,
                "files": run.files,
                "loaders": run.loaders(),
                "prefix": spec.get("as") or name,
            }
        )
    seen = [r["prefix"] for r in out]
    for r in out:  # the same feature twice (e.g. two rolling runs): prefix columns with the run id
        if seen.count(r["prefix"]) > 1:
            r["prefix"] = f"{r['prefix']}@{r['run_id']}"
    prefixes = [r["prefix"] for r in out]
    if len(set(prefixes)) != len(prefixes):
        raise ModelError("two model inputs resolve to the same feature run", found=prefixes, hint="list each run once")
    return out


def label_files(labels: LabelStore, kind: str) -> dict[tuple[str, str], str]:
    """``{(group, sequence): path}`` of the label files of ``kind`` (from ``labels/<kind>/index.csv``).

    Raises
    ------
    ModelError
        The kind has no index or no labelled recording.
    """
    files = labels.files(kind)
    if not files:
        kinds = labels.kinds()
        raise ModelError(
            f"label kind {kind!r} has no labels",
            path=labels.index_path(kind),
            expected=f"labels of kind {kind!r}",
            found=f"kinds with labels: {kinds}" if kinds else "no labels in the dataset",
            hint="convert annotations first (label pipeline / ds.convert_labels)",
        )
    return files


def covered(runs: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """The recordings every feature run of ``runs`` has an output for."""
    common = set(runs[0]["files"]) if runs else set()
    for r in runs[1:]:
        common &= set(r["files"])
    return common


def in_scope(keys, groups: Sequence[str] | None, sequences: Sequence[str] | None) -> list[tuple[str, str]]:
    """Keys ``(group, sequence)`` filtered by the config's ``groups``/``sequences`` (sorted)."""
    out = []
    for g, s in keys:
        if groups is not None and g not in groups:
            continue
        if sequences is not None and s not in sequences:
            continue
        out.append((g, s))
    return sorted(out)


def check_features_cover(
    runs: Sequence[Mapping[str, Any]], keys: Sequence[tuple[str, str]], what: str = "labelled"
) -> None:
    """Raise :class:`ModelError` naming the recordings a feature run lacks."""
    for r in runs:
        missing = [k for k in keys if k not in r["files"]]
        if missing:
            shown = ", ".join(f"{g}/{s}" for g, s in missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise ModelError(
                f"feature {r['feature']!r} (run {r['run_id']}) is missing for {len(missing)} {what} recording(s)",
                expected=f"feature outputs for every {what} recording",
                found=f"missing {shown}",
                hint=f"run_feature(ds, {r['feature']!r}) over those recordings, or restrict groups/sequences",
            )
        for k in keys:
            if not os.path.exists(r["files"][k]):
                raise ModelError(
                    f"feature output of {r['feature']!r} listed in its index is missing",
                    path=r["files"][k],
                    group=k[0],
                    sequence=k[1],
                    hint="rerun the feature with overwrite=True",
                )


def load_model_input(runs: Sequence[Mapping[str, Any]], key: tuple[str, str], cfg: Mapping[str, Any]) -> pd.DataFrame:
    """The joined feature table of one recording (see :func:`~mosaic.models.align.join_feature_tables`)."""
    tables = [(r["prefix"], r["loaders"][key]()) for r in runs]
    df = join_feature_tables(tables, cfg["target"], cfg["pair_reduce"], cfg["pair_distance_column"])
    df.insert(0, "sequence", key[1])
    df.insert(0, "group", key[0])
    return df


def iter_training_tables(
    labels: LabelStore,
    runs: Sequence[Mapping[str, Any]],
    keys: Sequence[tuple[str, str]],
    cfg: Mapping[str, Any],
) -> Iterator[pd.DataFrame]:
    """Yield, per labelled recording, its feature table with a ``label`` column (label names)."""
    from mosaic.core.progress import progress

    target_fn = pair_targets if cfg["target"] == "pair" else individual_targets
    for key in progress(keys, desc="loading features+labels"):
        df = load_model_input(runs, key, cfg)
        lab = labels.read(cfg["label_kind"], key[0], key[1])
        df["label"] = target_fn(df, lab, cfg["background_label"], cfg["label_priority"])
        yield df


def vocabulary_order(labels: LabelStore, kind: str, background: str, present: Sequence[str]) -> list[str]:
    """Class order for reports: the kind's vocabulary order, background first, then unseen names sorted."""
    try:
        vocab = [n for _, n in sorted(labels.vocabulary(kind).items())]
    except Exception:
        vocab = []
    present = [str(p) for p in present]
    order = [background] + [n for n in vocab if n != background]
    order = [n for n in order if n in present or n == background]
    return order + sorted(set(present) - set(order))


def stack(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-recording tables (columns union; missing columns NaN)."""
    tables = [t for t in tables if len(t)]
    if not tables:
        return pd.DataFrame()
    return pd.concat(tables, ignore_index=True, sort=False)


def design_matrix(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``df[columns]`` as float64 (absent columns NaN)."""
    return df.reindex(columns=list(columns)).to_numpy(dtype=np.float64, na_value=np.nan)
