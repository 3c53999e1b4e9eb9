"""BoardPort: what control/ needs from a treatment board, as a typed interface.

WHY an interface in front of ``drivers.board.link.BoardLink``: the controller,
the desk, the station and the calibration runner need a handful of operations
(ask and wait for the ACK, write a stop now, listen to telemetry, faults and
state, know the board's IDENT). Depending on those operations rather than on
the serial link lets a test drive a controller against an in-memory double
(``tests/control/board_double.py``) and would let a second board family plug
in without control/ changing. Only the station factory (``board_link``)
builds a concrete ``BoardLink``.

The vocabulary (ICD messages, ``LinkState``, ``TelemetryEvent``) is still the
IONTO-1 ICD's: board vocabulary stays in drivers/ and control/.
"""

from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from ..drivers.board import messages as m
from ..drivers.board.link import BoardLink, LinkState, LinkStats, TelemetryEvent

TelemetryListener = Callable[[TelemetryEvent], None]
FaultListener = Callable[[m.Fault, float], None]
StateListener = Callable[[LinkState, str], None]


@runtime_checkable
class BoardPort(Protocol):
    """A command/reply and telemetry connection to one board (thread-safe)."""

    @property
    def state(self) -> LinkState: ...

    @property
    def reason(self) -> str:
        """Plain-words explanation of the current state."""
        ...

    @property
    def ident(self) -> m.Ident | None:
        """IDENT of the board currently connected (None while not connected)."""
        ...

    @property
    def stats(self) -> LinkStats: ...

    def add_telemetry_listener(self, cb: TelemetryListener) -> None:
        """``cb(event)`` for every TELEMETRY, on the port's reader thread: keep it quick."""

    def add_fault_listener(self, cb: FaultListener) -> None:
        """``cb(fault, host_time)`` for every FAULT frame, on the reader thread."""

    def add_state_listener(self, cb: StateListener) -> None:
        """``cb(state, reason)`` on every change of state or reason (any thread)."""

    def remove_listener(self, cb: Callable[..., None]) -> None:
        """Forget ``cb`` wherever it was added."""

    def open(self, *, wait: bool = True) -> None:
        """Start connecting; never raises for a missing or silent board."""

    def close(self) -> None:
        """Stop heartbeats and close; does not command the output off."""

    def request(self, msg: m.Message, timeout: float | None = None) -> m.Message:
        """Send a command and wait for its reply; raises a ``BoardError`` when refused or unanswered."""
        ...

    def write_now(self, msg: m.Message) -> int:
        """Put a command on the wire now from this thread, without waiting (stop paths)."""
        ...


LinkFactory = Callable[[str], BoardPort]


def board_link(url: str, **options: float) -> BoardPort:
    """The one place control/ builds a concrete link: an IONTO-1 ``BoardLink`` on ``url``.

    ``options`` are ``BoardLink``'s keyword settings (``reply_timeout_s``,
    ``reconnect_period_s``, ...). The station uses it with the defaults; the
    calibration bench (``ionto-cal``, the wizard) with a longer reply timeout."""
    return BoardLink(url, **options)
