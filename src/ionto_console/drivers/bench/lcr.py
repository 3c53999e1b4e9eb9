"""Keysight E4980A precision LCR meter: load impedance at a test frequency.

WHY the status field is checked: ``:FETCH?`` returns ``primary,secondary,status``
and the numbers are meaningless unless status is 0 (an open fixture reads as
overload, status +1). A bad status raises instead of returning numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .errors import InstrumentError, InstrumentOverload
from .scpi import ScpiInstrument, in_range, one_of, parse_token, scpi_property

MIN_FREQ_HZ = 20.0
MAX_FREQ_HZ = 2.0e6
MAX_LEVEL_V = 2.0
#: Measurement functions this driver knows how to label: primary/secondary units.
FUNCTIONS = {"ZTD": ("ohm", "deg"), "ZTR": ("ohm", "rad"), "RX": ("ohm", "ohm"), "CPD": ("F", ""),
             "CSRS": ("F", "ohm"), "CPRP": ("F", "ohm")}
STATUS_TEXT = {-1: "no data in the buffer", 1: "overload", 3: "signal source overloaded",
               4: "automatic level control unable to regulate"}


@dataclass(frozen=True)
class ImpedanceReading:
    """One ``:FETCH?`` result: e.g. ZTD -> primary = |Z| (ohm), secondary = theta (deg)."""

    function: str
    primary: float
    secondary: float
    status: int

    @property
    def units(self) -> tuple[str, str]:
        return FUNCTIONS.get(self.function, ("", ""))


def parse_fetch(reply: str) -> tuple[float, float, int]:
    parts = [p.strip() for p in reply.split(",")]
    if len(parts) < 3:
        raise ValueError(f"expected primary,secondary,status: {reply!r}")
    return float(parts[0]), float(parts[1]), int(parts[2])


class KeysightE4980A(ScpiInstrument):
    """E4980A: choose a function, frequency and level, then ``fetch()``."""

    SUPPORTED_MODELS: ClassVar[tuple[str, ...]] = ("E4980A", "E4980AL")
    ERROR_QUERY: ClassVar[str] = ":SYST:ERR?"

    function = scpi_property(":FUNC:IMP:TYPE?", ":FUNC:IMP:TYPE {}", one_of({f: f for f in FUNCTIONS}),
                             "Measurement function: ZTD (|Z|, deg), ZTR, RX, CPD, CSRS, CPRP.", parse_token)
    frequency_hz = scpi_property(":FREQ:CW?", ":FREQ:CW {}", in_range(MIN_FREQ_HZ, MAX_FREQ_HZ, "Hz"),
                                 "Test signal frequency (Hz).")
    level_v = scpi_property(":VOLT:LEV?", ":VOLT:LEV {}", in_range(0.0, MAX_LEVEL_V, "V"),
                            "Test signal level (V rms).")

    def fetch(self) -> ImpedanceReading:
        """``:FETCH?`` with the function it was taken in; a non-zero status raises."""
        function = self.function
        primary, secondary, status = self.ask(":FETCH?", parse_fetch, "primary,secondary,status")
        if status == 1:
            raise InstrumentOverload(self.resource_name, ":FETCH?", "impedance over range (open fixture?)")
        if status != 0:
            raise InstrumentError(self.resource_name,
                                  [(status, STATUS_TEXT.get(status, "measurement status not 0"))], ":FETCH?")
        return ImpedanceReading(function, primary, secondary, status)
