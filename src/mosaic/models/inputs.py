"""Reading a model's inputs from the dataset: feature runs and label files, and their identities.

Features are read through the features engine (:func:`mosaic.features.engine.feature_files`);
labels through the labels domain (:func:`mosaic.labels.io.read_labels_index`,
:func:`mosaic.labels.load_labels`). One recording is loaded at a time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mosaic.core.dataset import DatasetCore
from mosaic.core.errors import FeatureError, ModelError
from mosaic.core.run_ids import file_fingerprint

from .align import individual_targets, join_feature_tables, pair_targets


def resolve_feature_runs(ds: DatasetCore, features: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Resolve each ``{'feature', 'run_id'}`` (run_id None = latest) to a concrete run and its files.

    Returns
    -------
    list of dict
        ``{'feature', 'run_id', 'files': {(group, sequence): path}, 'prefix'}`` per input; ``prefix``
        names its columns (``as`` or the feature name; ``<name>@<run_id>`` when a name repeats).

    Raises
    ------
    ModelError
        A feature never ran or the run id is unknown (the message names the feature index).
    """
    from mosaic.features.engine import feature_files, feature_index_path

    out = []
    for spec in features:
        name, rid = spec["feature"], spec.get("run_id")
        try:
            rows = feature_files(ds, name, rid)
        except FeatureError as exc:
            raise ModelError(
                f"model input feature {name!r} is not available",
                path=feature_index_path(ds, name),
                expected=f"a run of {name!r}" + (f" with run_id {rid}" if rid else ""),
                found=exc.problem,
                hint=f"run_feature(ds, {name!r}) first",
            ) from exc
        run_id = str(rows["run_id"].iloc[0]) if len(rows) else rid
        files = {(str(g), str(s)): str(p) for g, s, p in zip(rows["group"], rows["sequence"], rows["path"])}
        out.append({"feature": name, "run_id": run_id, "files": files, "prefix": spec.get("as") or name})
    seen = [r["prefix"] for r in out]
    for r in out:  # the same feature twice (e.g. two rolling runs): prefix columns with the run id
        if seen.count(r["prefix"]) > 1:
            r["prefix"] = f"{r['prefix']}@{r['run_id']}"
    prefixes = [r["prefix"] for r in out]
    if len(set(prefixes)) != len(prefixes):
        raise ModelError("two model inputs resolve to the same feature run", found=prefixes, hint="list each run once")
    return out


def label_files(ds: DatasetCore, kind: str) -> dict[tuple[str, str], str]:
    """``{(group, sequence): path}`` of the label files of ``kind`` (from ``labels/<kind>/index.csv``).

    Raises
    ------
    ModelError
        The kind has no index or no labelled recording.
    """
    from mosaic.labels.io import labels_index_path, read_labels_index

    idx = read_labels_index(ds, kind, missing_ok=True)
    path = labels_index_path(ds, kind)
    if idx.empty:
        root = ds.get_root("labels")
        kinds = sorted(p.name for p in root.iterdir() if (p / "index.csv").exists()) if root.exists() else []
        raise ModelError(
            f"label kind {kind!r} has no labels",
            path=path,
            expected=f"labels of kind {kind!r}",
            found=f"kinds with labels: {kinds}" if kinds else "no labels in the dataset",
            hint="convert annotations first (label pipeline / ds.convert_labels)",
        )
    return {
        (str(g), str(s)): str(ds.resolve_path(p)) for g, s, p in zip(idx["group"], idx["sequence"], idx["abs_path"])
    }


def labels_fingerprint(ds: DatasetCore, kind: str) -> str:
    """Content fingerprint of ``labels/<kind>/index.csv`` (it changes whenever a label file is rewritten)."""
    from mosaic.labels.io import labels_index_path

    return file_fingerprint(labels_index_path(ds, kind))


def read_labels(ds: DatasetCore, group: str, sequence: str, kind: str) -> dict[str, Any]:
    """One recording's labels (``individual_pair_v1`` mapping) through :func:`mosaic.labels.load_labels`."""
    from mosaic.labels import load_labels

    return load_labels(ds, group, sequence, kind)


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
    tables = [(r["prefix"], pd.read_parquet(r["files"][key])) for r in runs]
    df = join_feature_tables(tables, cfg["target"], cfg["pair_reduce"], cfg["pair_distance_column"])
    df.insert(0, "sequence", key[1])
    df.insert(0, "group", key[0])
    return df


def iter_training_tables(
    ds: DatasetCore,
    runs: Sequence[Mapping[str, Any]],
    keys: Sequence[tuple[str, str]],
    cfg: Mapping[str, Any],
) -> Iterator[pd.DataFrame]:
    """Yield, per labelled recording, its feature table with a ``label`` column (label names)."""
    from mosaic.core.progress import progress

    target_fn = pair_targets if cfg["target"] == "pair" else individual_targets
    for key in progress(keys, desc="loading features+labels"):
        df = load_model_input(runs, key, cfg)
        labels = read_labels(ds, key[0], key[1], cfg["label_kind"])
        df["label"] = target_fn(df, labels, cfg["background_label"], cfg["label_priority"])
        yield df


def vocabulary_order(ds: DatasetCore, kind: str, background: str, present: Sequence[str]) -> list[str]:
    """Class order for reports: the kind's vocabulary order, background first, then unseen names sorted."""
    try:
        from mosaic.labels.vocab import get_label_map

        vocab = [n for _, n in sorted(get_label_map(ds, kind).items())]
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
