"""Reporting: matplotlib plots and a dataset inventory.

* :mod:`mosaic.reporting.plots` — pure functions returning ``matplotlib.figure.Figure`` objects
  (trajectories, ethogram, feature distributions, confusion matrix);
* :mod:`mosaic.reporting.inventory` — ``inventory(ds) -> dict`` and ``format_inventory(dict) -> str``.

Nothing is imported here so that ``import mosaic`` never pulls in matplotlib.
"""
