"""A read-only view of a dataset's feature runs, addressed by ``(feature, run_id | latest)``.

Feature run ids are content hashes known only at run time, so a consumer (a model, a plot)
names a run by its feature and run id (or ``None`` / ``'latest'``) and gets one lazy loader per
recording. :class:`FeatureStore` is that view for both doors: ``mosaic.Dataset`` builds it over
its folder, and the Kedro catalog entry ``features@store`` loads it. It delegates to the
engine's readers (:func:`~mosaic.features.engine.feature_files` resolves the run from the
feature index; each loader reads one file and checks its identity), so it never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import pandas as pd

from mosaic.core.dataset import DatasetCore

Key = tuple[str, str]


@dataclass(frozen=True)
class FeatureRunFiles:
    """One resolved feature run: its ``feature``, concrete ``run_id`` and ``{(group, sequence): path}``."""

    feature: str
    run_id: str
    files: dict[Key, str] = field(default_factory=dict)

    def loaders(self, columns: list[str] | None = None) -> dict[Key, Callable[[], pd.DataFrame]]:
        """``{(group, sequence): loader}``; each loader reads one recording's table when called.

        A loader raises :class:`~mosaic.core.errors.FeatureError` naming the file when it is
        missing, unreadable or lacks ``columns``, and
        :class:`~mosaic.core.errors.IdentityError` when it records another run or recording.
        """
        from .engine.load import read_listed_file

        identity = {"feature": self.feature, "run_id": self.run_id}
        return {
            key: partial(read_listed_file, path, key[0], key[1], columns, identity) for key, path in self.files.items()
        }


def _latest(run_id: str | None) -> str | None:
    return None if run_id in (None, "", "latest") else str(run_id)


@dataclass(frozen=True)
class FeatureStore:
    """Feature runs of the dataset ``ds`` (read-only).

    Parameters
    ----------
    ds
        The dataset whose ``features`` root is read.
    """

    ds: DatasetCore

    def run(self, feature: str, run_id: str | None = None) -> FeatureRunFiles:
        """Resolve ``(feature, run_id)`` (``None`` or ``'latest'``: the latest run) to its files.

        Raises
        ------
        FeatureError
            The feature never ran, or the run id is not in ``features/<feature>/index.csv``.
        """
        from .engine import feature_files

        rows = feature_files(self.ds, feature, _latest(run_id))
        rid = str(rows["run_id"].iloc[0]) if len(rows) else str(run_id)
        files = {
            (str(g), str(s)): str(p) for g, s, p in zip(rows["group"], rows["sequence"], rows["path"], strict=True)
        }
        return FeatureRunFiles(str(feature), rid, files)

    def loaders(
        self, feature: str, run_id: str | None = None, columns: list[str] | None = None
    ) -> dict[Key, Callable[[], pd.DataFrame]]:
        """``{(group, sequence): loader}`` of one run (see :meth:`FeatureRunFiles.loaders`)."""
        return self.run(feature, run_id).loaders(columns)

    def index(self, feature: str) -> pd.DataFrame:
        """``features/<feature>/index.csv`` (empty table when the feature never ran)."""
        from .engine import read_feature_index

        return read_feature_index(self.ds, feature)
