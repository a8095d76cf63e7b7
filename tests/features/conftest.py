"""Fixtures for feature tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_registry():
    """Every test starts and ends with the built-in feature registry."""
    from mosaic.features.registry import reset_registry

    reset_registry()
    yield
    reset_registry()
