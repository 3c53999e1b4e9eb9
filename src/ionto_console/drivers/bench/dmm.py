"""Keysight 34461A / 34465A digital multimeter (the ammeter in series during calibration).

WHY ranges are explicit: the calibration runner picks the range for each
current point so the reading is not taken on autorange (autorange changes the
shunt between points and adds its own offset). ``read()`` turns the SCPI
overload value into ``InstrumentOverload`` so an over-range reading can never
enter a calibration fit as the number 9.9E37.
"""

from __future__ import annotations

from typing import ClassVar

from .scpi import (ScpiInstrument, check_overload, choices_from, in_range, measurement, one_of, parse_float,
                   parse_token, scpi_property, validate)

AUTO = "AUTO"
#: DC current ranges of the 3 A terminals (A).
CURRENT_RANGES_A = (100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)
VOLTAGE_RANGES_V = (0.1, 1.0, 10.0, 100.0, 1000.0)
RESISTANCE_RANGES_OHM = (100.0, 1e3, 10e3, 100e3, 1e6, 10e6, 100e6)
NPLC_34461A = (0.02, 0.2, 1.0, 10.0, 100.0)
NPLC_34465A = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0)


def _ranges(values: tuple[float, ...], unit: str) -> one_of:
    return one_of({**{v: f"{v:g}" for v in values}, AUTO: AUTO}, unit)


class KeysightDmm(ScpiInstrument):
    """34461A/34465A over SCPI. ``configure_*`` then ``read()``; settings are checked against the error queue."""

    SUPPORTED_MODELS: ClassVar[tuple[str, ...]] = ("34461A", "34465A")

    _CURRENT_RANGE = _ranges(CURRENT_RANGES_A, "A")
    _VOLTAGE_RANGE = _ranges(VOLTAGE_RANGES_V, "V")
    _RESISTANCE_RANGE = _ranges(RESISTANCE_RANGES_OHM, "ohm")

    function = measurement("FUNC?", "Active function, e.g. CURR (CURR:DC reads as CURR), VOLT, RES.", parse_token)
    current_dc_nplc = scpi_property("CURR:DC:NPLC?", "CURR:DC:NPLC {}", choices_from("nplc_choices", "PLC"),
                                    "Integration time of DC current in power-line cycles.")
    voltage_dc_nplc = scpi_property("VOLT:DC:NPLC?", "VOLT:DC:NPLC {}", choices_from("nplc_choices", "PLC"),
                                    "Integration time of DC voltage in power-line cycles.")
    resistance_nplc = scpi_property("RES:NPLC?", "RES:NPLC {}", choices_from("nplc_choices", "PLC"),
                                    "Integration time of 2-wire resistance in power-line cycles.")
    trigger_delay_s = scpi_property("TRIG:DEL?", "TRIG:DEL {}", in_range(0.0, 3600.0, "s"),
                                    "Delay between trigger and measurement (settling of the source).")

    def __init__(self, resource: object) -> None:
        super().__init__(resource)
        #: Integration times this model accepts (the 34465A goes down to 0.001 PLC).
        self.nplc_choices = NPLC_34465A if "34465" in self.identity.model else NPLC_34461A

    def configure_current_dc(self, range_a: float | str = AUTO, nplc: float | None = None) -> None:
        """``CONF:CURR:DC <range>`` (then ``CURR:DC:NPLC`` if given)."""
        self.configure(f"CONF:CURR:DC {validate(self, 'range_a', self._CURRENT_RANGE, range_a)}")
        if nplc is not None:
            self.current_dc_nplc = nplc

    def configure_voltage_dc(self, range_v: float | str = AUTO, nplc: float | None = None) -> None:
        """``CONF:VOLT:DC <range>`` (then ``VOLT:DC:NPLC`` if given)."""
        self.configure(f"CONF:VOLT:DC {validate(self, 'range_v', self._VOLTAGE_RANGE, range_v)}")
        if nplc is not None:
            self.voltage_dc_nplc = nplc

    def configure_resistance(self, range_ohm: float | str = AUTO, nplc: float | None = None) -> None:
        """``CONF:RES <range>`` (2-wire; then ``RES:NPLC`` if given)."""
        self.configure(f"CONF:RES {validate(self, 'range_ohm', self._RESISTANCE_RANGE, range_ohm)}")
        if nplc is not None:
            self.resistance_nplc = nplc

    def read(self) -> float:
        """``READ?``: one reading in SI units of the configured function; over range raises."""
        return check_overload(self.ask("READ?", parse_float, "a number"), self.resource_name, "READ?")
