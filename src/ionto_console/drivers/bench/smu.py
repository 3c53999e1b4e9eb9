"""Keithley 2450 source-measure unit as a current source with a voltage limit.

WHY a voltage limit is part of every current setting: on the bench the SMU
drives a known current into the load (to check the DMM, or to stand in for a
board) and the compliance limit is what keeps a wrong resistor or an open
lead from putting the SMU's full 210 V across it.
"""

from __future__ import annotations

from typing import ClassVar

from .scpi import ScpiInstrument, in_range, measurement, one_of, parse_bool, parse_token, scpi_property

MAX_CURRENT_A = 1.05
MIN_VLIM_V = 0.02
MAX_VLIM_V = 210.0


def _sense_function(reply: str) -> str:
    """``"VOLT:DC"`` -> ``VOLT``."""
    return parse_token(reply).split(":")[0]


class Keithley2450(ScpiInstrument):
    """2450 in SCPI mode. Typical use: ``apply_current(1e-3, 10.0)``, ``output = True``, ``read()``."""

    SUPPORTED_MODELS: ClassVar[tuple[str, ...]] = ("2450",)
    ERROR_QUERY: ClassVar[str] = ":SYST:ERR?"

    source_function = scpi_property(":SOUR:FUNC?", ":SOUR:FUNC {}", one_of({"CURR": "CURR", "VOLT": "VOLT"}),
                                    "What the SMU sources: CURR or VOLT.", parse_token)
    source_current_a = scpi_property(":SOUR:CURR?", ":SOUR:CURR {}", in_range(-MAX_CURRENT_A, MAX_CURRENT_A, "A"),
                                     "Source current level (A), applied while the output is on.")
    voltage_limit_v = scpi_property(":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM {}", in_range(MIN_VLIM_V, MAX_VLIM_V, "V"),
                                    "Compliance voltage while sourcing current (V).")
    sense_function = scpi_property(":SENS:FUNC?", ':SENS:FUNC "{}"',
                                   one_of({"VOLT": "VOLT", "CURR": "CURR", "RES": "RES"}),
                                   "What READ? measures: VOLT, CURR or RES.", _sense_function)
    output = scpi_property(":OUTP?", ":OUTP {}", one_of({True: "ON", False: "OFF"}),
                           "Output relay state (True = on).", parse_bool)
    reading = measurement(":READ?", "One measurement of the sense function (SI units).")

    def apply_current(self, current_a: float, voltage_limit_v: float) -> None:
        """Source ``current_a`` with compliance ``voltage_limit_v``, measuring voltage.

        Both values are validated before anything is sent, so a bad pair
        leaves the SMU untouched.
        """
        type(self).source_current_a.wire_value(self, current_a)
        type(self).voltage_limit_v.wire_value(self, voltage_limit_v)
        self.source_function = "CURR"
        self.voltage_limit_v = voltage_limit_v  # limit before level: never a moment with the old, looser limit
        self.source_current_a = current_a
        self.sense_function = "VOLT"

    def read(self) -> float:
        """``:READ?``: trigger one measurement of the sense function."""
        return float(self.reading)

    def output_off(self) -> None:
        """Turn the output off (safe to call at any time, also after an error)."""
        self.output = False
