"""Shared fixtures: a simulated bench (instruments only, or with the board) and a pyvisa-py manager."""

from __future__ import annotations

import pyvisa
import pytest

from ionto_sim.scpi import SimulatedBench


@pytest.fixture(scope="session")
def rm() -> pyvisa.ResourceManager:
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


@pytest.fixture
def bench() -> SimulatedBench:
    """DMM, SMU, LCR and decade on a private model (no board thread), decade at 1 kOhm."""
    with SimulatedBench(with_board=False, seed=7) as b:
        yield b
