"""Shared test set-up."""

from __future__ import annotations

import pytest

from simulation.model import clear_burn_in_cache


@pytest.fixture(autouse=True)
def _own_burn_in():
    """Each test burns in its own models: no test reuses the burn-in cached by another
    (a test that wants the cache fills it itself)."""
    clear_burn_in_cache()
    yield
    clear_burn_in_cache()
