"""Fixtures for the board simulator tests (the harness itself is in sim_harness.py)."""

import pytest

from sim_harness import Bench


@pytest.fixture
def bench() -> Bench:
    return Bench()
