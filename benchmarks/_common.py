"""Helpers shared by the benchmark scripts (not a benchmark: run_all skips names starting with "_").

- statistics the scripts print the same way (median / p99 / max);
- polling with a deadline; the process's resident memory;
- the short protocol the treatment benchmarks run;
- fault injection in the simulator; the console's real window for the benchmarks that
  drive it is in ``_console.py``.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from typing import Any, Callable

from ionto_console.core.protocols import Protocol, load_library

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> tuple[float, float, float]:
    """(median, p99, max) of ``values`` (all NaN when empty)."""
    if not values:
        nan = float("nan")
        return nan, nan, nan
    return statistics.median(values), percentile(values, 0.99), max(values)


def summary_line(label: str, values: list[float], unit: str = "ms", width: int = 34) -> str:
    med, p99, worst = summary(values)
    return (f"  {label:{width}s} median {med:8.2f} {unit}   p99 {p99:8.2f} {unit}   max {worst:8.2f} {unit}"
            f"   (n={len(values)})")


def wait_until(predicate: Callable[[], Any], timeout: float, poll: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())


def rss_mb() -> float:
    """Resident set size of this process now (not the peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def quick_protocol(**changes: Any) -> Protocol:
    """Dexamethasone from the library, starting at 1 mA at once, with a dose of ``dose_target_ma_min``
    (default 20 mA·min: the session is still running when a benchmark stops it)."""
    base = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
    data = base.model_dump(mode="json")
    data.update({"dose_target_ma_min": 20.0, "ramp_start_ma": 1.0, "ramp_rate_ma_s": 5.0, "ramp_down_s": 0.5})
    data.update(changes)
    return Protocol.model_validate(data)


#: Faults at the patient end and in the board: simulator method that injects it, and the one that
#: undoes it (None: the simulated regulator recovers by itself once the output is off).
PATIENT_AND_BOARD_FAULTS: dict[str, tuple[str, str | None]] = {
    "lift": ("lift_electrode", "restore_electrode"),
    "short": ("short_electrodes", "clear_short"),
    "overcurrent": ("inject_overcurrent", None),
    "hw_stop": ("press_hw_stop", "release_hw_stop"),
}


def inject_fault(server: Any, fault: str) -> None:
    """Inject one of ``PATIENT_AND_BOARD_FAULTS`` into a ``SimulatedBoardServer``."""
    getattr(server, PATIENT_AND_BOARD_FAULTS[fault][0])()


def undo_faults(server: Any) -> None:
    """Undo every fault of ``PATIENT_AND_BOARD_FAULTS`` the simulator may still hold."""
    for _, undo in PATIENT_AND_BOARD_FAULTS.values():
        if undo is not None:
            getattr(server, undo)()


def load_line() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
