"""Simulated Keithley 2450 sourcing current into the bench load.

The SMU drives the load the model holds (the decade resistor on the bench)
through its own leads: ``V = I * R_dc`` until the voltage limit, then the
current folds back to ``VLIM / R`` (compliance), as a real SMU does. It does
not add to the board's current: the DMM sits in series with the board, not
with the SMU.
"""

from __future__ import annotations

import math

from .instrument import ScpiError, choice, number, scpi_float
from .model_port import BenchModel, ModelInstrument, noisy

MAX_CURRENT_A = 1.05
MAX_VOLTAGE_V = 210.0
SENSE_PATTERNS = {"VOLT": "VOLTage[:DC]", "CURR": "CURRent[:DC]", "RES": "RESistance"}


class SimSmu(ModelInstrument):
    IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,SIM00002,1.7.12b"

    def __init__(self, model: BenchModel, seed: int | None = None) -> None:
        super().__init__(model, seed)
        self.add("SOURce:FUNCtion[:MODE]", lambda a: setattr(self, "source_function",
                                                             choice(a, ["CURRent", "VOLTage"])))
        self.add("SOURce:FUNCtion[:MODE]", lambda a: self.source_function, query=True)
        self.add("SOURce:CURRent[:LEVel][:IMMediate][:AMPLitude]", lambda a: setattr(
            self, "source_current_a", number(a, -MAX_CURRENT_A, MAX_CURRENT_A, 0.0)))
        self.add("SOURce:CURRent[:LEVel][:IMMediate][:AMPLitude]", lambda a: scpi_float(self.source_current_a, 6),
                 query=True)
        self.add("SOURce:CURRent:VLIMit[:LEVel]", lambda a: setattr(
            self, "voltage_limit_v", number(a, 0.02, MAX_VOLTAGE_V, 21.0)))
        self.add("SOURce:CURRent:VLIMit[:LEVel]", lambda a: scpi_float(self.voltage_limit_v, 6), query=True)
        self.add("SOURce:CURRent:VLIMit:TRIPped", lambda a: "1" if self._solve()[2] else "0", query=True)
        self.add("[SENSe]:FUNCtion[:ON]", lambda a: setattr(self, "sense_function",
                                                            choice(a, list(SENSE_PATTERNS.values()))))
        self.add("[SENSe]:FUNCtion[:ON]", lambda a: f'"{self.sense_function}:DC"'
                 if self.sense_function != "RES" else '"RES"', query=True)
        self.add("OUTPut[:STATe]", lambda a: setattr(self, "output", _on_off(a)))
        self.add("OUTPut[:STATe]", lambda a: "1" if self.output else "0", query=True)
        self.add("READ", lambda a: self._read(), query=True, max_args=1)
        self.add("MEASure[:VOLTage][:DC]", lambda a: self._read(), query=True)

    def reset(self) -> None:
        self.source_function = "VOLT"
        self.source_current_a = 0.0
        self.voltage_limit_v = 21.0
        self.sense_function = "CURR"
        self.output = False

    def _solve(self) -> tuple[float, float, bool]:
        """(current A, voltage V, in compliance) the SMU drives into the load now."""
        if not self.output or self.source_function != "CURR":
            return 0.0, 0.0, False
        ohms = self.model.snapshot().circuit.dc_ohm
        current = self.source_current_a
        voltage = current * ohms if math.isfinite(ohms) else math.copysign(math.inf, current or 1.0)
        if abs(voltage) > self.voltage_limit_v:
            voltage = math.copysign(self.voltage_limit_v, current)
            current = voltage / ohms if math.isfinite(ohms) and ohms > 0 else 0.0
            return current, voltage, True
        return current, voltage, False

    def _read(self) -> str:
        current, voltage, _ = self._solve()
        current = noisy(self._rng, current, 20e-9 + abs(current) * 5e-6)
        voltage = noisy(self._rng, voltage, 20e-6 + abs(voltage) * 5e-6)
        if self.sense_function == "CURR":
            return scpi_float(current, 6)
        if self.sense_function == "VOLT":
            return scpi_float(voltage, 6)
        return scpi_float(voltage / current if current else math.inf, 6)


def _on_off(args: list[str]) -> bool:
    token = args[0].strip().upper() if args else ""
    if token in ("ON", "1"):
        return True
    if token in ("OFF", "0"):
        return False
    raise ScpiError(-224 if token else -109, "Illegal parameter value" if token else "Missing parameter")
