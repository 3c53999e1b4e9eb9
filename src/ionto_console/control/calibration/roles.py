"""The calibration bench's instrument roles, and the adapters that fill them with real instruments.

WHY roles: the runner needs "the ammeter in series", "the load", "the optional
impedance reference", not a Keysight or an IET. A test puts a fake in any role
(a meter that reads high, a load that stops answering); a new instrument model
is one new adapter here.
"""

from __future__ import annotations

from typing import Protocol

from ...core.calibration import pick_current_range_a
from ...drivers.bench import DecadeResistor, KeysightDmm, KeysightE4980A
from ...drivers.bench.scpi import Identity

class CurrentMeter(Protocol):
    """The ammeter in series with the load (the truth of the calibration)."""

    identity: str

    def prepare(self, expected_a: float) -> None:
        """Set a fixed range suited to ``expected_a`` before reading."""

    def read_current_a(self) -> float: ...

    def close(self) -> None: ...


class LoadSetter(Protocol):
    """The programmable load (decade resistor)."""

    identity: str

    def set_resistance(self, ohms: float) -> float:
        """Program ``ohms``; returns the value the instrument reports back."""

    def close(self) -> None: ...


class ImpedanceMeter(Protocol):
    """Optional LCR meter: the reference for the impedance check."""

    identity: str

    def measure_ohm(self, freq_hz: float) -> float: ...

    def close(self) -> None: ...


def idn_text(identity: Identity) -> str:
    """The ``*IDN?`` string as the instrument gave it (what a certificate lists)."""
    return ",".join((identity.manufacturer, identity.model, identity.serial, identity.firmware))


class DmmCurrentMeter:
    """A Keysight 34461A/65A as the series ammeter: fixed range per point, 10 NPLC."""

    def __init__(self, dmm: KeysightDmm, nplc: float = 10.0) -> None:
        self.dmm = dmm
        self.nplc = nplc
        self.identity = idn_text(dmm.identity)
        self._range: float | None = None

    def prepare(self, expected_a: float) -> None:
        rng = pick_current_range_a(expected_a)
        if rng != self._range:
            self._range = None  # if configuring fails, configure again next time
            self.dmm.configure_current_dc(rng, nplc=self.nplc)
            self._range = rng

    def read_current_a(self) -> float:
        """One reading, then the error queue: a reading the meter itself flagged must not enter the fit."""
        value = self.dmm.read()
        self.dmm.check_errors("READ?")
        return abs(value)  # magnitude: the board reports magnitudes, polarity is a flag

    def close(self) -> None:
        self.dmm.close()


class DecadeLoadSetter:
    """An IET PRS-200 decade resistor as the load (write, error check, read-back)."""

    def __init__(self, box: DecadeResistor) -> None:
        self.box = box
        self.identity = idn_text(box.identity)

    def set_resistance(self, ohms: float) -> float:
        return self.box.set_resistance(ohms)

    def close(self) -> None:
        self.box.close()


class LcrImpedanceMeter:
    """A Keysight E4980A measuring |Z| of the load (output off) at a test frequency."""

    def __init__(self, lcr: KeysightE4980A, level_v: float = 1.0) -> None:
        self.lcr = lcr
        self.level_v = level_v
        self.identity = idn_text(lcr.identity)
        self._configured_hz: float | None = None

    def measure_ohm(self, freq_hz: float) -> float:
        if self._configured_hz != freq_hz:
            self.lcr.function = "ZTD"
            self.lcr.frequency_hz = freq_hz
            self.lcr.level_v = self.level_v
            self._configured_hz = freq_hz
        return self.lcr.fetch().primary

    def close(self) -> None:
        self.lcr.close()
