"""Shared fixtures: a simulated bench (instruments only, or with the board) and a pyvisa-py manager."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import pyvisa
import pytest

from ionto_console.drivers.sim.scpi import SimulatedBench

T = TypeVar("T")
DEADLINE_S = 5.0


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


def wait_for(get: Callable[[], T], ok: Callable[[T], bool], what: str, deadline_s: float = DEADLINE_S) -> T:
    """Poll ``get`` until ``ok`` holds (no fixed sleeps: the machine is shared and loaded)."""
    end = time.monotonic() + deadline_s
    value = get()
    while not ok(value):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(0.01)
        value = get()
    return value
