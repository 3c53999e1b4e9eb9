"""IET PRS-200 style programmable decade resistor: the calibration load.

WHY a read-back after every setting: a decade box that silently kept its old
value would put every calibration point of a run at the wrong load, and the
certificate would list resistances that were never there. ``set_resistance``
therefore writes, drains the error queue and reads the value back.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .errors import InstrumentGarbage
from .scpi import ScpiInstrument, in_range, scpi_property

MIN_OHMS = 0.0
MAX_OHMS = 99_999_999.9
RESOLUTION_OHMS = 0.1


class DecadeResistor(ScpiInstrument):
    """``SOUR:DATA <ohms>`` / ``SOUR:DATA?`` with the box's range limits."""

    SUPPORTED_MODELS: ClassVar[tuple[str, ...]] = ("PRS-200", "PRS-202")
    MIN_OHMS: ClassVar[float] = MIN_OHMS
    MAX_OHMS: ClassVar[float] = MAX_OHMS

    resistance_ohm = scpi_property("SOUR:DATA?", "SOUR:DATA {}", in_range(MIN_OHMS, MAX_OHMS, "ohm", "{:.1f}"),
                                   "Programmed resistance (ohm, 0.1 ohm resolution).")

    def set_resistance(self, ohms: float) -> float:
        """Program ``ohms`` and return the read-back; a different read-back raises ``InstrumentGarbage``."""
        self.resistance_ohm = ohms
        actual = float(self.resistance_ohm)
        if not math.isclose(actual, ohms, rel_tol=1e-6, abs_tol=RESOLUTION_OHMS):
            raise InstrumentGarbage(self.resource_name, "SOUR:DATA?", actual, f"the programmed {ohms:g} ohm")
        return actual
