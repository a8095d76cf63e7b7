"""Reporting: matplotlib plots and a dataset inventory.

* :mod:`mosaic.reporting.plots` — pure functions returning ``matplotlib.figure.Figure`` objects
  (trajectories, ethogram, feature distributions, confusion matrix);
* :mod:`mosaic.reporting.inventory` — ``inventory(ds) -> dict`` from the domains' own index readers;
* :mod:`mosaic.reporting.inventory_text` — ``format_inventory(dict) -> str`` and ``print_inventory(ds)``.

Nothing is imported here so that ``import mosaic`` never pulls in matplotlib.
"""
