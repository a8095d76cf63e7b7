"""Reporting nodes: plots written through kedro-datasets' ``matplotlib.MatplotlibDataset``.

This is a pipeline *fragment*, not a registered pipeline: :func:`create_reporting_pipeline`
returns nodes that a registered pipeline adds to itself (e.g. ``convert`` for the trajectory
plots, ``featurize`` for the feature distributions). The plot functions live in
:mod:`mosaic.reporting.plots`; the nodes only adapt catalog data (lazy partitions, the feature runs view) to them.

Catalog entries: ``conf/base/catalog_reporting.yml`` (``trajectory_plots`` and ``ethogram_plots``,
partitioned sets of PNGs, one per recording; ``feature_distribution_plot``, one PNG). Parameters:
the ``reporting`` key of ``conf/base/parameters_reporting.yml``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import pandas as pd
from kedro.pipeline import Node, Pipeline

from mosaic.core.errors import ConfigError, InvalidNameError
from mosaic.core.safe_names import split_sequence_key, split_sequence_key_safe

log = logging.getLogger(__name__)

TRAJECTORY_COLUMNS = ["frame", "id", "X", "Y", "group", "sequence"]


def _load(value: Any) -> Any:
    return value() if callable(value) else value


def _sequence_of(partition_id: str) -> tuple[str, str]:
    """(group, sequence) of a partition id ``[<prefix>/]<group_safe>__<sequence_safe>``."""
    stem = partition_id.rsplit("/", 1)[-1]
    try:
        return split_sequence_key(stem)
    except InvalidNameError:
        try:
            return split_sequence_key_safe(stem)  # hashed (very long) names do not decode
        except InvalidNameError:
            return stem, ""


def _trajectory_figure(load: Callable[[], pd.DataFrame] | pd.DataFrame, title: str, max_points_per_id: int):
    from mosaic.reporting.plots import plot_trajectories

    df = _load(load)
    cols = [c for c in TRAJECTORY_COLUMNS if c in df.columns]
    return plot_trajectories(df[cols], title=title, max_points_per_id=max_points_per_id)


def plot_tracks_trajectories(tracks: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> dict[str, Callable]:
    """One trajectory figure per recording, built lazily as Kedro saves each partition.

    Parameters
    ----------
    tracks
        ``{partition_id: loader}`` of standardized ``trex_v1`` tables (the ``tracks`` dataset).
    params
        ``max_points_per_id`` (default 20000) and ``max_sequences`` (default all).

    Returns
    -------
    dict
        ``{partition_id: callable -> Figure}``, so one recording is in memory at a time.
    """
    params = dict(params or {})
    max_points = int(params.get("max_points_per_id", 20_000))
    limit = params.get("max_sequences")
    ids = sorted(tracks)
    if limit is not None:
        ids = ids[: int(limit)]
    out: dict[str, Callable] = {}
    for pid in ids:
        group, sequence = _sequence_of(pid)
        title = f"{group} / {sequence}" if sequence else group
        out[pid] = partial(_trajectory_figure, tracks[pid], title, max_points)
    log.info("trajectory plots: %d recording(s)", len(out))
    return out


def sample_feature_tables(
    tables: Iterable[tuple[str, str, pd.DataFrame]], max_rows_per_sequence: int = 5_000, seed: int = 0
) -> pd.DataFrame:
    """Concatenate a random row sample of each recording's feature table, with ``group``/``sequence``.

    ``tables`` yields ``(group, sequence, table)`` one recording at a time, so memory is bounded
    by ``max_rows_per_sequence`` × number of recordings.
    """
    parts = []
    for group, sequence, df in tables:
        if len(df) > max_rows_per_sequence:
            df = df.sample(n=max_rows_per_sequence, random_state=seed).sort_index()
        df = df.assign(**{k: v for k, v in (("group", group), ("sequence", sequence)) if k not in df.columns})
        parts.append(df)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _pick_feature_run(feature_results: Mapping[str, Any], wanted: str | None) -> tuple[str, str | None]:
    """``(feature, run_id)`` of the step named ``wanted`` (step key or feature name; default the first)."""
    results = list((feature_results or {}).get("results") or [])
    if not results:
        raise ConfigError(
            "no feature run to plot",
            expected="feature_results with at least one step",
            found=feature_results,
            hint="configure steps in parameters_featurize.yml",
        )
    if wanted is None:
        chosen = results[0]
    else:
        matches = [r for r in results if wanted in (r.get("key"), r.get("feature"))]
        if not matches:
            raise ConfigError(
                "reporting.feature_distributions.feature names no featurize step",
                expected=[r.get("key") or r.get("feature") for r in results],
                found=wanted,
            )
        chosen = matches[0]
    return str(chosen["feature"]), chosen.get("run_id")


def plot_feature_run_distributions(
    feature_results: Mapping[str, Any], features: Any, params: Mapping[str, Any] | None = None
):
    """Histograms of one feature run's columns per group, over a bounded sample of every recording.

    Parameters
    ----------
    feature_results
        The ``featurize`` summary (``{'results': [{'key', 'feature', 'run_id', ...}]}``).
    features
        The feature runs (catalog entry ``features@store``, a
        :class:`~mosaic.features.store.FeatureStore`); recordings are read one at a time.
    params
        ``feature`` (step key or feature name; default the first step), ``columns`` (default: the
        numeric feature columns), ``group_column`` (``group``), ``bins`` (40),
        ``max_rows_per_sequence`` (5000), ``title`` (default ``<feature> (run <run_id>)``).
    """
    from mosaic.reporting.plots import plot_feature_distributions

    params = dict(params or {})
    feature, run_id = _pick_feature_run(feature_results, params.get("feature"))
    loaders = features.loaders(feature, run_id)
    tables = ((g, s, load()) for (g, s), load in loaders.items())
    sample = sample_feature_tables(tables, int(params.get("max_rows_per_sequence", 5_000)))
    return plot_feature_distributions(
        sample,
        params.get("columns"),
        group_column=params.get("group_column", "group"),
        bins=int(params.get("bins", 40)),
        title=params.get("title") or f"{feature} (run {run_id})",
    )


def _ethogram_figure(load: Callable[[], Mapping[str, Any]] | Mapping[str, Any]):
    from mosaic.reporting.plots import plot_ethogram

    return plot_ethogram(_load(load))


def plot_label_ethograms(labels: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> dict[str, Callable]:
    """One ethogram per recording from label partitions (``{id: loader -> label dict}``), built lazily."""
    limit = (params or {}).get("max_sequences")
    ids = sorted(labels)
    if limit is not None:
        ids = ids[: int(limit)]
    return {pid: partial(_ethogram_figure, labels[pid]) for pid in ids}


def create_reporting_pipeline(
    tracks: str | None = "tracks@parquet",
    feature_results: str | None = "features@runs",
    labels: str | None = None,
    features: str = "features@store",
    params: str = "params:reporting",
) -> Pipeline:
    """Nodes that draw the reporting plots; add them to a registered pipeline.

    Parameters
    ----------
    tracks
        Catalog name of the standardized tracks (partitioned ``trex_v1`` parquet); None leaves the
        trajectory plots out.
    feature_results
        Catalog name of the ``featurize`` summary; None leaves the distribution plot out.
    labels
        Catalog name of partitioned label dicts; None (default) leaves the ethograms out.
    features
        Catalog name of the feature runs view the distribution plot reads.
    params
        Parameters entry with ``trajectories``, ``feature_distributions`` and ``ethograms`` sub-keys.

    Returns
    -------
    Pipeline
        ``plot_trajectories`` (→ ``trajectory_plots``), ``plot_feature_distributions``
        (→ ``feature_distribution_plot``) and ``plot_ethograms`` (→ ``ethogram_plots``), tagged
        ``reporting``.
    """
    wanted = [
        (tracks, plot_tracks_trajectories, [tracks], "trajectories", "trajectory_plots", "plot_trajectories"),
        (
            feature_results,
            plot_feature_run_distributions,
            [feature_results, features],
            "feature_distributions",
            "feature_distribution_plot",
            "plot_feature_distributions",
        ),
        (labels, plot_label_ethograms, [labels], "ethograms", "ethogram_plots", "plot_ethograms"),
    ]
    return Pipeline(
        [
            Node(func, inputs=[*inputs, f"{params}.{key}"], outputs=out, name=name, tags=["reporting"])
            for source, func, inputs, key, out, name in wanted
            if source
        ]
    )
