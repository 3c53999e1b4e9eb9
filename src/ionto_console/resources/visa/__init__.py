"""pyvisa-sim definitions of the bench instruments (``bench.yaml``).

``pyvisa.ResourceManager(f"{bench_definitions()}@sim")`` gives a DMM, SMU,
LCR meter and decade resistor at the resource names below, no hardware needed.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SIM_DMM = "TCPIP::dmm.bench.sim::5025::SOCKET"
SIM_SMU = "TCPIP::smu.bench.sim::5025::SOCKET"
SIM_LCR = "TCPIP::lcr.bench.sim::5025::SOCKET"
SIM_DECADE = "TCPIP::decade.bench.sim::5025::SOCKET"


def bench_definitions() -> Path:
    """Path of ``bench.yaml`` (the package is installed from files, so this is a real path)."""
    return Path(str(files(__name__).joinpath("bench.yaml")))


def sim_backend() -> str:
    """The pyvisa backend string for the bench definitions."""
    return f"{bench_definitions()}@sim"
