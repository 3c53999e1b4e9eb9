"""Append-only numeric history of telemetry for plots, written by one thread.

The reader thread appends every sample; the GUI thread reads on a timer. There
is no Qt signal per sample (DESIGN section 3). The arrays only grow: when the
capacity is reached, new arrays of twice the size are allocated and the old
contents copied, so a slice a reader took earlier stays valid. A reader takes
``count`` first and slices up to it, which is safe with a single writer because
the writer fills a slot before publishing the new count.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import numpy as np

from ..core.samples import IMPEDANCE_MIN_CURRENT_MA

#: history identities unique across buffers in this process (see TelemetryView.generation)
_generations = itertools.count(1)

CHANNELS = ("t", "current_ma", "voltage_v", "target_ma", "impedance_kohm")


def impedance_kohm(current_ma: float, voltage_v: float, output_on: bool) -> float | None:
    """Load impedance in kOhm (V / mA), or None when it cannot be measured:
    output off, or too little current for the ratio to mean anything."""
    if not output_on or abs(current_ma) < IMPEDANCE_MIN_CURRENT_MA:
        return None
    return abs(voltage_v / current_ma)


@dataclass(frozen=True)
class TelemetryView:
    """Read-only slices of the history up to one instant."""

    t: np.ndarray
    current_ma: np.ndarray
    voltage_v: np.ndarray
    target_ma: np.ndarray
    impedance_kohm: np.ndarray
    #: identifies this history: differs between buffers and after each clear(), so
    #: a reader that caches per index (the plots' peak envelope) knows when to drop it
    generation: int = 0

    def __len__(self) -> int:
        return len(self.t)


class TelemetryBuffer:
    """Growing float64 time and float32 value arrays for one session's plots."""

    def __init__(self, initial_capacity: int = 65_536) -> None:
        self._lock = threading.Lock()  # only serialises writers and growth
        self._count = 0
        self._generation = next(_generations)
        self._arrays = self._allocate(initial_capacity)

    @staticmethod
    def _allocate(capacity: int) -> dict[str, np.ndarray]:
        return {
            name: np.full(capacity, np.nan, dtype=np.float64 if name == "t" else np.float32)
            for name in CHANNELS
        }

    def append(
        self, t: float, current_ma: float, voltage_v: float, target_ma: float, output_on: bool = True
    ) -> None:
        impedance = impedance_kohm(current_ma, voltage_v, output_on)
        with self._lock:
            i = self._count
            if i == len(self._arrays["t"]):
                self._grow()
            arrays = self._arrays
            arrays["t"][i] = t
            arrays["current_ma"][i] = current_ma
            arrays["voltage_v"][i] = voltage_v
            arrays["target_ma"][i] = target_ma
            arrays["impedance_kohm"][i] = np.nan if impedance is None else impedance
            self._count = i + 1

    def extend(
        self,
        t: np.ndarray,
        current_ma: np.ndarray,
        voltage_v: np.ndarray,
        target_ma: np.ndarray,
        output_on: np.ndarray | bool = True,
    ) -> None:
        """Append a block of samples at once (replay of a stored session, benchmarks):
        the same result as calling :meth:`append` for each, without a Python loop."""
        t = np.asarray(t, dtype=np.float64)
        n = len(t)
        if n == 0:
            return
        current = np.asarray(current_ma, dtype=np.float64)
        voltage = np.asarray(voltage_v, dtype=np.float64)
        on = np.broadcast_to(np.asarray(output_on, dtype=bool), (n,))
        measurable = on & (np.abs(current) >= IMPEDANCE_MIN_CURRENT_MA)
        with np.errstate(divide="ignore", invalid="ignore"):
            impedance = np.where(measurable, np.abs(voltage / np.where(measurable, current, 1.0)), np.nan)
        block = {"t": t, "current_ma": current, "voltage_v": voltage,
                 "target_ma": np.asarray(target_ma, dtype=np.float64), "impedance_kohm": impedance}
        with self._lock:
            i = self._count
            while i + n > len(self._arrays["t"]):
                self._grow()
            for name in CHANNELS:
                self._arrays[name][i : i + n] = block[name]
            self._count = i + n

    def _grow(self) -> None:
        bigger = self._allocate(2 * len(self._arrays["t"]))
        for name, old in self._arrays.items():
            bigger[name][: len(old)] = old
        self._arrays = bigger

    def clear(self) -> None:
        with self._lock:
            self._count = 0
            self._generation = next(_generations)

    def __len__(self) -> int:
        return self._count

    def view(self) -> TelemetryView:
        generation = self._generation  # before count: a clear() in between shows as a shorter history
        count = self._count
        arrays = self._arrays
        return TelemetryView(**{name: arrays[name][:count] for name in CHANNELS}, generation=generation)
