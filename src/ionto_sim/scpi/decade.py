"""Simulated IET PRS-200 programmable decade resistor: the load of the bench.

``SOUR:DATA <ohms>`` puts a ``ResistorLoad`` of that value into the shared
model, so the board drives into it, the DMM reads that current and the LCR
meter measures it. Resolution 0.1 ohm; out of range queues -222.
"""

from __future__ import annotations

from ..model import ResistorLoad
from .instrument import SimInstrument, number
from .model_port import BenchModel

MAX_OHMS = 99_999_999.9
RESOLUTION_OHMS = 0.1


class SimDecade(SimInstrument):
    IDN = "IET LABS,PRS-200,SIM00004,1.0"

    def __init__(self, model: BenchModel, initial_ohms: float | None = None) -> None:
        super().__init__()
        self.model = model
        self.ohms = 0.0
        if initial_ohms is not None:
            self.program(initial_ohms)
        self.add("SOURce:DATA", lambda a: self.program(number(a, 0.0, MAX_OHMS)))
        self.add("SOURce:DATA", lambda a: f"{self.ohms:.1f}", query=True)

    def program(self, ohms: float) -> None:
        """Switch the decades to ``ohms`` (rounded to the resolution) and load the model with it."""
        with self._lock:
            self.ohms = round(ohms / RESOLUTION_OHMS) * RESOLUTION_OHMS
            self.model.set_load(ResistorLoad(self.ohms))
