"""Simulated Keysight E4980A measuring the load impedance the model holds.

``:FETCH?`` answers ``primary,secondary,status`` computed from the load's
equivalent circuit at the test frequency (skin: Rs + Rp||C, so the phase is
negative and frequency dependent; a resistor: phase 0). An open circuit (a
lifted electrode) answers the overload value with status +1.
"""

from __future__ import annotations

import cmath
import math

from .instrument import OVERLOAD, choice, number, scpi_float
from .model_port import BenchModel, ModelInstrument

FUNCTIONS = ("ZTD", "ZTR", "RX", "CPD", "CSRS", "CPRP")
MAX_Z_OHM = 100e6
REL_NOISE = 2e-4
PHASE_NOISE_RAD = 2e-5


class SimLcr(ModelInstrument):
    IDN = "Keysight Technologies,E4980A,SIM00003,A.02.20"

    def __init__(self, model: BenchModel, seed: int | None = None) -> None:
        super().__init__(model, seed)
        self.add("[SENSe]:FUNCtion:IMPedance[:TYPE]", lambda a: setattr(self, "function", choice(a, FUNCTIONS)))
        self.add("[SENSe]:FUNCtion:IMPedance[:TYPE]", lambda a: self.function, query=True)
        self.add("[SOURce]:FREQuency[:CW]", lambda a: setattr(self, "frequency_hz", number(a, 20.0, 2e6, 1e3)))
        self.add("[SOURce]:FREQuency[:CW]", lambda a: scpi_float(self.frequency_hz, 6), query=True)
        self.add("[SOURce]:VOLTage[:LEVel]", lambda a: setattr(self, "level_v", number(a, 0.0, 2.0, 1.0)))
        self.add("[SOURce]:VOLTage[:LEVel]", lambda a: scpi_float(self.level_v, 6), query=True)
        self.add("FETCh[:IMPedance][:FORMatted]", lambda a: self._fetch(), query=True)
        self.add("TRIGger[:IMMediate]", lambda a: None, max_args=0)
        self.add("INITiate[:IMMediate]", lambda a: None, max_args=0)

    def reset(self) -> None:
        self.function = "CPD"  # the E4980A's power-on function
        self.frequency_hz = 1e3
        self.level_v = 1.0

    def _fetch(self) -> str:
        z = self.model.snapshot().impedance(self.frequency_hz)
        if not cmath.isfinite(z) or abs(z) > MAX_Z_OHM:
            return f"{scpi_float(OVERLOAD, 5)},{scpi_float(OVERLOAD, 5)},+1"
        z = cmath.rect(abs(z) * (1 + self._rng.gauss(0.0, REL_NOISE)), cmath.phase(z) + self._rng.gauss(0.0, PHASE_NOISE_RAD))
        primary, secondary = _convert(self.function, z, 2 * math.pi * self.frequency_hz)
        return f"{scpi_float(primary, 5)},{scpi_float(secondary, 5)},+0"


def _convert(function: str, z: complex, omega: float) -> tuple[float, float]:
    """Impedance -> the function's two parameters (inf where a parameter does not exist, e.g. D of a resistor)."""
    if function == "ZTD":
        return abs(z), math.degrees(cmath.phase(z))
    if function == "ZTR":
        return abs(z), cmath.phase(z)
    if function == "RX":
        return z.real, z.imag
    y = 1 / z if z != 0 else complex(math.inf, 0)
    if function == "CPD":
        return y.imag / omega, (y.real / y.imag if y.imag else math.inf)
    if function == "CPRP":
        return y.imag / omega, (1 / y.real if y.real else math.inf)
    # CSRS
    return (-1 / (omega * z.imag) if z.imag else math.inf), z.real
