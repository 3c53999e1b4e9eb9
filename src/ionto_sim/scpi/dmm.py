"""Simulated Keysight 34461A: the ammeter in series with the board's output.

It reads the model's ``mean_current_a`` (what a DC ammeter averages, also in
pulsed mode), the output voltage, or the load's DC resistance. Ranges and
overload follow the real meter: a reading over 120 % of the range, or over
the top range, answers ``+9.90000000E+37``. Noise is a few ppm of range,
falling with the integration time (NPLC), so a calibration point read at
10 NPLC on the 10 mA range scatters by ~50 nA.
"""

from __future__ import annotations

import math

from .instrument import OVERLOAD, ScpiError, choice, number, scpi_float
from .model_port import BenchModel, ModelInstrument, noisy

RANGES = {
    "CURR": (100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0),
    "VOLT": (0.1, 1.0, 10.0, 100.0, 1000.0),
    "RES": (100.0, 1e3, 10e3, 100e3, 1e6, 10e6, 100e6),
}
NPLC = (0.02, 0.2, 1.0, 10.0, 100.0)
OVER_RANGE = 1.2
#: Noise at 10 NPLC as a fraction of the range.
NOISE_OF_RANGE = 5e-6
FUNCTION_PATTERNS = {"CURR": "CURRent[:DC]", "VOLT": "VOLTage[:DC]", "RES": "RESistance"}


class SimDmm(ModelInstrument):
    IDN = "Keysight Technologies,34461A,SIM00001,A.02.14-02.40-02.14-00.49-01-01"

    def __init__(self, model: BenchModel, seed: int | None = None) -> None:
        super().__init__(model, seed)
        for func, pattern in FUNCTION_PATTERNS.items():
            self.add(f"CONFigure:{pattern}", lambda a, f=func: self._configure(f, a))
            self.add(f"[SENSe]:{pattern}:RANGe", lambda a, f=func: self._set_range(f, a))
            self.add(f"[SENSe]:{pattern}:RANGe", lambda a, f=func: self._range_text(f), query=True)
            self.add(f"[SENSe]:{pattern}:RANGe:AUTO", lambda a, f=func: self._set_auto(f, a))
            self.add(f"[SENSe]:{pattern}:NPLCycles", lambda a, f=func: self._set_nplc(f, a))
            self.add(f"[SENSe]:{pattern}:NPLCycles", lambda a, f=func: scpi_float(self.nplc[f]), query=True)
            self.add(f"MEASure:{pattern}", lambda a, f=func: self._measure_now(f, a), query=True, max_args=1)
        self.add("[SENSe]:FUNCtion[:ON]", lambda a: self._set_function(a))
        self.add("[SENSe]:FUNCtion[:ON]", lambda a: f'"{self.function}"', query=True)
        self.add("TRIGger:DELay", lambda a: setattr(self, "trigger_delay_s", number(a, 0.0, 3600.0, 0.0)))
        self.add("TRIGger:DELay", lambda a: scpi_float(self.trigger_delay_s), query=True)
        self.add("READ", lambda a: self._read(), query=True)
        self.add("INITiate[:IMMediate]", lambda a: None, max_args=0)
        self.add("FETCh", lambda a: self._read(), query=True)

    def reset(self) -> None:
        self.function = "VOLT"
        self.range: dict[str, float | None] = {f: None for f in RANGES}  # None = autorange
        self.nplc = {f: 10.0 for f in RANGES}
        self.trigger_delay_s = 0.0

    # --- settings -------------------------------------------------------------

    def _pick_range(self, func: str, args: list[str]) -> float | None:
        """``AUTO``/``DEF``/nothing -> autorange; a number -> the smallest range that holds it."""
        if not args or args[0].strip().upper() in ("AUTO", "DEF", "DEFAULT"):
            return None
        ranges = RANGES[func]
        value = abs(number(args, -ranges[-1], ranges[-1]))
        return next(r for r in ranges if value <= r * (1 + 1e-9))

    def _configure(self, func: str, args: list[str]) -> None:
        picked = self._pick_range(func, args)
        self.function, self.range[func] = func, picked

    def _set_range(self, func: str, args: list[str]) -> None:
        if not args:
            raise ScpiError(-109, "Missing parameter")
        self.range[func] = self._pick_range(func, args)

    def _set_auto(self, func: str, args: list[str]) -> None:
        token = args[0].strip().upper() if args else ""
        if token in ("ON", "1"):
            self.range[func] = None
        elif token in ("OFF", "0"):
            self.range[func] = self.range[func] or RANGES[func][-1]
        else:
            raise ScpiError(-224, "Illegal parameter value")

    def _set_nplc(self, func: str, args: list[str]) -> None:
        value = number(args, NPLC[0], NPLC[-1], 10.0)
        self.nplc[func] = next(n for n in NPLC if value <= n * (1 + 1e-9))  # the meter rounds up

    def _set_function(self, args: list[str]) -> None:
        self.function = choice(args, [FUNCTION_PATTERNS[f] for f in RANGES])

    def _range_text(self, func: str) -> str:
        fixed = self.range[func]
        return scpi_float(fixed if fixed is not None else self._auto_range(func, self._true(func)))

    # --- readings -------------------------------------------------------------

    def _true(self, func: str) -> float:
        snap = self.model.snapshot()
        if func == "CURR":
            return snap.mean_current_a
        if func == "VOLT":
            return snap.voltage_v
        return snap.circuit.dc_ohm

    @staticmethod
    def _auto_range(func: str, value: float) -> float:
        ranges = RANGES[func]
        return next((r for r in ranges if abs(value) <= r), ranges[-1])

    def _reading(self, func: str) -> float:
        true = self._true(func)
        rng = self.range[func] if self.range[func] is not None else self._auto_range(func, true)
        if not math.isfinite(true) or abs(true) > rng * OVER_RANGE:
            return OVERLOAD
        sigma = rng * NOISE_OF_RANGE * math.sqrt(10.0 / self.nplc[func])
        return noisy(self._rng, true, sigma)

    def _read(self) -> str:
        return scpi_float(self._reading(self.function))

    def _measure_now(self, func: str, args: list[str]) -> str:
        self._configure(func, args)
        return self._read()
