"""One telemetry sample as the treatment engine sees it.

The controller turns each ICD TELEMETRY frame into a ``Sample`` in console
units (mA, V, seconds on the console's monotonic clock). WHY a separate type
instead of the ICD message: core/ must not import the drivers package, and the
safety logic should reason in clinical units, not raw µA/mV wire integers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: Below this measured current (mA) an impedance estimate V/I is mostly noise
#: (the board's current noise is a few µA), so it is reported as unknown.
IMPEDANCE_MIN_CURRENT_MA = 0.05


class BoardFault(enum.IntEnum):
    """Latched fault codes of the IONTO-1 ICD (section 4), mirrored here so core/ stays driver-free."""

    NONE = 0
    WATCHDOG = 1
    OVERCURRENT = 2
    OPEN_CIRCUIT = 3
    HARDWARE_STOP = 4
    SELF_TEST = 5
    COMPLIANCE = 6

    @classmethod
    def describe(cls, code: int) -> str:
        """Name of a code in plain words, tolerant of codes a newer firmware may add."""
        try:
            return cls(code).name.replace("_", " ").lower()
        except ValueError:
            return f"unknown fault code {code}"


@dataclass(frozen=True, slots=True)
class Sample:
    """A board telemetry frame in console units.

    ``current_ma`` is the MEASURED current (pulse amplitude in pulsed mode),
    ``target_ma`` the board's own target, ``lost_before`` how many samples the
    sample counter says went missing just before this one. ``anode`` is the
    board's polarity flag when the controller knows it (None = not reported).
    The treatment engine and the calibration runner read the same samples.
    """

    t: float
    current_ma: float
    voltage_v: float
    target_ma: float
    output_on: bool
    at_compliance: bool = False
    stop_ramp: bool = False
    fault_code: int = 0
    lost_before: int = 0
    anode: bool | None = None
    #: The board is still moving its output towards the target (calibration waits for this to clear).
    slewing: bool = False
    #: The board's own "fault latched" flag (beside ``fault_code``, as the ICD sends both).
    fault_latched: bool = False

    @property
    def impedance_kohm(self) -> float | None:
        """Load impedance V/I in kΩ (V / mA = kΩ); None when the current is too small to tell."""
        current = abs(self.current_ma)
        if current < IMPEDANCE_MIN_CURRENT_MA:
            return None
        return abs(self.voltage_v) / current
