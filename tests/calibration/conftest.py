"""Fixtures of the calibration tests: the whole simulated bench (board on a pty, instruments on TCP)."""

from __future__ import annotations

import pytest

from ionto_sim.scpi import SimulatedBench


@pytest.fixture
def bench():
    with SimulatedBench(load_ohms=1000.0, seed=11) as b:
        yield b
