"""The board's telemetry as the calibration runner needs it: recent samples, faults, a lost link.

WHY a tap and not the treatment controller's queue: the runner sequences a
sweep ("after this command, wait for the output to settle, then take the next
N samples"), so it needs samples addressed by index and a way to wait for
them. The samples themselves are the treatment's: each TELEMETRY frame goes
through ``control.samples.SampleConverter`` (the one wire-to-units
conversion), not a second reading of raw µA and flag bits.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from ...core.samples import Sample
from ...drivers.board import messages as m
from ...drivers.board.link import LinkState, TelemetryEvent
from ..board_port import BoardPort
from ..samples import SampleConverter
from .units import describe
from .wording import RunAborted, describe_fault


class TelemetryTap:
    """Keeps the recent telemetry and notices faults and disconnects (link listener side).

    Listeners run on the link's reader thread: they only convert, append and
    notify. Samples are addressed by an absolute index so the runner can say
    "the samples that came after this command".
    """

    def __init__(self, keep: int = 5_000) -> None:
        self._cond = threading.Condition()
        self._samples: deque[Sample] = deque(maxlen=keep)
        self._count = 0
        self._converter = SampleConverter()
        self.fault: m.Fault | None = None
        self.lost: str = ""

    def attach(self, link: BoardPort) -> None:
        link.add_telemetry_listener(self.on_telemetry)
        link.add_fault_listener(self.on_fault)
        link.add_state_listener(self.on_state)

    def detach(self, link: BoardPort) -> None:
        """Stop listening (a lent port goes back to its owner, still open)."""
        for listener in (self.on_telemetry, self.on_fault, self.on_state):
            link.remove_listener(listener)

    # listener side
    def on_telemetry(self, event: TelemetryEvent) -> None:
        sample = self._converter.convert(event)
        with self._cond:
            self._samples.append(sample)
            self._count += 1
            if event.board_rebooted:
                self.lost = "the board restarted (its sample counter went back): its settings were lost"
            self._cond.notify_all()

    def on_fault(self, fault: m.Fault, host_time: float) -> None:
        with self._cond:
            self.fault = fault
            self._cond.notify_all()

    def on_state(self, state: LinkState, reason: str) -> None:
        if state is not LinkState.CONNECTED:
            with self._cond:
                self.lost = reason or "the board link closed"
                self._cond.notify_all()

    # runner side
    def mark(self) -> int:
        """Index of the next sample to arrive."""
        with self._cond:
            return self._count

    def latest(self) -> Sample | None:
        with self._cond:
            return self._samples[-1] if self._samples else None

    def check(self) -> None:
        """Raise RunAborted if the board latched a fault or the link went away."""
        if self.fault is not None:
            raise RunAborted(describe_fault(self.fault))
        if self.lost:
            raise RunAborted(f"the board link was lost: {self.lost}")

    def wait(self, since: int, accept: Callable[[Sample], bool | None], what: str, timeout_s: float,
             cancelled: threading.Event) -> int:
        """Wait for a sample after ``since`` for which ``accept`` is True; returns the index after it.

        ``accept`` may raise RunAborted to stop at a sample (e.g. at compliance)."""
        deadline = time.monotonic() + timeout_s
        index = since
        with self._cond:
            while True:
                self.check()
                if cancelled.is_set():
                    raise RunAborted("cancelled by the engineer")
                first = self._count - len(self._samples)
                index = max(index, first)
                while index < self._count:
                    sample = self._samples[index - first]
                    index += 1
                    if accept(sample):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    # what the board last said: "output off, target 0" points at whoever switched it off
                    last = f" (last sample: {describe(self._samples[-1])})" if self._samples else " (no samples)"
                    raise RunAborted(f"the board's telemetry did not show {what} within {timeout_s:.0f} s{last}")
                self._cond.wait(min(remaining, 0.05))

    def collect(self, since: int, count: int, check: Callable[[Sample], None], timeout_s: float,
                cancelled: threading.Event) -> list[Sample]:
        """The ``count`` samples after index ``since`` (each passed through ``check``)."""
        taken: list[Sample] = []

        def take(sample: Sample) -> bool:
            check(sample)
            taken.append(sample)
            return len(taken) >= count

        self.wait(since, take, f"{count} samples", timeout_s, cancelled)
        return taken
