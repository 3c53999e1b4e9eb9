"""Simulated SCPI bench instruments on TCP sockets, sharing the board simulator's physical model.

``SimulatedBench`` starts the board (pty) plus DMM, SMU, LCR meter and decade
resistor; ``python -m ionto_sim.scpi.cli`` does it from a shell.
"""

from .bench import INSTRUMENTS, SimulatedBench
from .control import BenchControl, send_control
from .decade import SimDecade
from .dmm import SimDmm
from .instrument import FAULTS, ScpiError, SimInstrument
from .lcr import SimLcr
from .server import ScpiSocketServer
from .smu import SimSmu

__all__ = ["FAULTS", "INSTRUMENTS", "BenchControl", "ScpiError", "ScpiSocketServer", "SimDecade", "SimDmm",
           "SimInstrument", "SimLcr", "SimSmu", "SimulatedBench", "send_control"]
