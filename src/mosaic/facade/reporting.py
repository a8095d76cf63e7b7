"""`Dataset` methods for reporting: thin delegation to `mosaic.reporting`."""

from __future__ import annotations

from typing import Any


class ReportingMixin:
    """Reporting part of the :class:`mosaic.Dataset` facade (inventory and plots)."""

    def inventory(self, print_it: bool = True) -> dict[str, Any]:
        """Print (unless ``print_it=False``) and return what the dataset holds.

        See :func:`mosaic.reporting.inventory.inventory` for the dict layout.
        """
        from mosaic.reporting.inventory_text import print_inventory

        return print_inventory(self, print_it=print_it)

    def plot_trajectories(self, group: str, sequence: str, **kwargs: Any):
        """Figure of the trajectories of one recording, coloured by id (loads its standardized tracks)."""
        from mosaic.reporting.dataset_plots import plot_sequence_trajectories

        return plot_sequence_trajectories(self, group, sequence, **kwargs)

    def plot_ethogram(self, group: str, sequence: str, kind: str = "behavior", **kwargs: Any):
        """Figure of the behaviour bouts of one recording over time, one row per individual."""
        from mosaic.reporting.dataset_plots import plot_sequence_ethogram

        return plot_sequence_ethogram(self, group, sequence, kind=kind, **kwargs)
