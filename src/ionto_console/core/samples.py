"""One telemetry sample as the treatment engine sees it.

The controller turns each ICD TELEMETRY frame into a ``Sample`` in console
units (mA, V, seconds on the console's monotonic clock). WHY a separate type
instead of the ICD message: core/ must not import the drivers package, and the
safety logic should reason in clinical units, not raw µA/mV wire integers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # WHY not at run time: the board driver and the simulator import this module
    import numpy as np  # (fault names), and they have no other use for numpy's import time.

#: Below this measured current (mA) an impedance estimate V/I is mostly noise
#: (the board's current noise is a few µA), so it is reported as unknown.
IMPEDANCE_MIN_CURRENT_MA = 0.05
#: ICD TELEMETRY carries current in µA and voltage in mV as integers.
UA_PER_MA = 1000.0
MV_PER_V = 1000.0


def ma_from_wire(microamps: int) -> float:
    """An ICD current field (µA, integer) in mA: the one wire-to-units rule for currents."""
    return microamps / UA_PER_MA


def v_from_wire(millivolts: int) -> float:
    """An ICD voltage field (mV, integer) in V: the one wire-to-units rule for voltages."""
    return millivolts / MV_PER_V


def impedance_kohm(current_ma: float, voltage_v: float, output_on: bool) -> float | None:
    """Load impedance |V/I| in kΩ (V / mA = kΩ): the one home of the impedance rule.

    None when it cannot be measured: the output is off (the readings are then the
    board's zero offset, not a load), or too little current flows for V/I to mean
    anything (below ``IMPEDANCE_MIN_CURRENT_MA``).
    """
    current = abs(current_ma)
    if not output_on or current < IMPEDANCE_MIN_CURRENT_MA:
        return None
    return abs(voltage_v) / current


def impedance_kohm_array(current_ma: Any, voltage_v: Any, output_on: Any = True) -> "np.ndarray":
    """``impedance_kohm`` over arrays (NaN where it is None), for blocks of samples."""
    import numpy as np

    current = np.abs(np.asarray(current_ma, dtype=np.float64))
    voltage = np.asarray(voltage_v, dtype=np.float64)
    on = np.broadcast_to(np.asarray(output_on, dtype=bool), current.shape)
    measurable = on & (current >= IMPEDANCE_MIN_CURRENT_MA)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(measurable, np.abs(voltage) / np.where(measurable, current, 1.0), np.nan)


class BoardFault(enum.IntEnum):
    """Latched fault codes of the IONTO-1 ICD (section 4) and their names: the one home of both.

    The driver does not keep its own list: ``drivers.board.messages.FaultCode`` is this
    enum, so a code decoded from the wire and a code a treatment rule checks are the
    same object with the same name. ``describe`` is the one wording for people.
    """

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


#: ICD TELEMETRY flags bit5 (pulsed mode) as a session's stored series keeps it: the dose of a
#: recovered session counts ``amplitude x duty`` only for samples with this bit, as the engine did.
STORED_PULSED_FLAG = 1 << 5


@dataclass(frozen=True, slots=True)
class Sample:
    """A board telemetry frame in console units.

    ``current_ma`` is the MEASURED current (pulse amplitude in pulsed mode),
    ``target_ma`` the board's own target, ``lost_before`` how many samples the
    sample counter says went missing just before this one. ``anode`` is the
    board's polarity flag when the controller knows it (None = not reported).
    The treatment engine and the calibration runner read the same samples.
    ``pulsed`` is the board's pulsed-mode flag (ICD bit5; None = not reported): the
    dose counts ``amplitude x duty`` only for samples the board says were pulsed.
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
    pulsed: bool | None = None

    @property
    def impedance_kohm(self) -> float | None:
        """Load impedance in kΩ; None with the output off or too little current (``impedance_kohm``)."""
        return impedance_kohm(self.current_ma, self.voltage_v, self.output_on)
