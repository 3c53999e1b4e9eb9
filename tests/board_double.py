"""An in-memory board behind the ``BoardPort`` interface: no serial port, no pty, no simulator thread.

WHY: a controller or desk test that is about what goes on the wire (which
command, how many times, in which order) should not depend on a pseudo-
terminal and a simulator keeping a 250 ms watchdog fed on a loaded machine.
The double ACKs every command (or raises what a test told it to), keeps a log
of what was requested and what was written without waiting, and lets the test
push telemetry, faults and state changes to the listeners from its own thread
(standing in for the link's reader thread).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardDisconnected
from ionto_console.drivers.board.link import LinkState, LinkStats, TelemetryEvent

IDENT = m.Ident(1, 1, 0, 0, "DOUBLE-001", 25_000, 90_000, 1.0, 0.0, 1_700_000_000)


class BoardDouble:
    """Implements ``ionto_console.control.board_port.BoardPort`` in memory."""

    def __init__(self, ident: m.Ident = IDENT) -> None:
        self._ident = ident
        self._state = LinkState.DISCONNECTED
        self._reason = "not opened"
        self._lock = threading.Lock()
        #: (how, message) in wire order; how is "request" or "write_now".
        self.wire: list[tuple[str, m.Message]] = []
        #: message type -> exception the next request of that type raises (then forgotten).
        self.refuse: dict[type, Exception] = {}
        self.on_write_now: Callable[[m.Message], None] = lambda msg: None
        self._telemetry: tuple = ()
        self._faults: tuple = ()
        self._states: tuple = ()
        self._counter = 0
        self._board_time_us = 0
        self.telemetry_sent = 0

    # --- BoardPort ---------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason

    @property
    def ident(self) -> m.Ident | None:
        return self._ident if self._state is LinkState.CONNECTED else None

    @property
    def stats(self) -> LinkStats:
        return LinkStats(telemetry_received=self.telemetry_sent)

    def add_telemetry_listener(self, cb) -> None:
        self._telemetry += (cb,)

    def add_fault_listener(self, cb) -> None:
        self._faults += (cb,)

    def add_state_listener(self, cb) -> None:
        self._states += (cb,)

    def remove_listener(self, cb) -> None:
        self._telemetry = tuple(x for x in self._telemetry if x != cb)
        self._faults = tuple(x for x in self._faults if x != cb)
        self._states = tuple(x for x in self._states if x != cb)

    def open(self, *, wait: bool = True) -> None:
        self.set_state(LinkState.CONNECTED, "connected to the board double")

    def close(self) -> None:
        self.set_state(LinkState.DISCONNECTED, "link closed")

    def request(self, msg: m.Message, timeout: float | None = None) -> m.Message:
        self._require_connected()
        with self._lock:
            self.wire.append(("request", msg))
            error = self.refuse.pop(type(msg), None)
        if error is not None:
            raise error
        if isinstance(msg, m.Hello):
            return self._ident
        if isinstance(msg, m.GetStatus):
            return m.Status(0, 0, 0, 0, 0, 0, 0, 0)
        return m.Ack(int(msg.TYPE))

    def write_now(self, msg: m.Message) -> int:
        self._require_connected()
        with self._lock:
            self.wire.append(("write_now", msg))
            seq = len(self.wire)
        self.on_write_now(msg)
        return seq

    # --- what a test does ---------------------------------------------------------------

    def set_state(self, state: LinkState, reason: str) -> None:
        self._state, self._reason = state, reason
        for cb in self._states:
            cb(state, reason)

    def send_telemetry(self, current_ua: int = 0, voltage_mv: int = 0, target_ua: int = 0, flags: int = 0,
                       latched_fault: int = 0, dt_us: int = 5_000) -> None:
        """One TELEMETRY frame to every listener, from the calling thread."""
        self._counter += 1
        self._board_time_us += dt_us
        msg = m.Telemetry(self._board_time_us, self._counter, current_ua, voltage_mv, target_ua, flags,
                          latched_fault)
        self.telemetry_sent += 1
        event = TelemetryEvent(msg, time.monotonic(), 0)
        for cb in self._telemetry:
            cb(event)

    def sent(self, kind: type | None = None, how: str | None = None) -> list[m.Message]:
        """Messages on the wire so far, optionally of one type and one way of sending."""
        with self._lock:
            return [msg for h, msg in self.wire if (kind is None or isinstance(msg, kind)) and (how in (None, h))]

    def _require_connected(self) -> None:
        if self._state is not LinkState.CONNECTED:
            raise BoardDisconnected(f"not connected: {self._reason}")
