"""The station: one board link, its live telemetry history, and its state.

Qt-free. The GUI never receives a callback from here; it polls ``snapshot()``
and reads ``buffer`` on a timer, and calls ``connect``/``disconnect`` as
intents. Link listeners run on the link's reader thread and only store
numbers, so they stay fast at 1000 Hz.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..core.samples import BoardFault, impedance_kohm, ma_from_wire, v_from_wire
from ..drivers.board import messages as m
from ..drivers.board.link import LinkState, TelemetryEvent
from .board_port import BoardPort, LinkFactory, board_link
from ..drivers.board.errors import BoardError
from .board_time import BoardTimeline
from .telemetry_buffer import TelemetryBuffer

#: The board monitor runs all day: it keeps the newest 2^21 samples (35 min at 1000 Hz,
#: about 50 MB) instead of growing without end. Sessions keep their whole history.
STATION_HISTORY_SAMPLES = 1 << 21
#: Output reported on while no treatment runs is tolerated this long after one last ran: the
#: session's own STOP/OUTPUT 0 needs a few ms to reach the board and show in telemetry.
UNEXPECTED_OUTPUT_GRACE_S = 0.5
#: While the board keeps reporting an unexpected output, OUTPUT 0 is repeated this often.
UNEXPECTED_OUTPUT_RESEND_S = 0.2
#: A STOP ramp (bit6) with the output on is left to finish for at most the ICD's longest ramp
#: (STOP's ramp-down time, 0..5000 ms) plus the grace; beyond that the bit is not believed.
STOP_RAMP_TOLERANCE_S = m.STOP_RAMP_RANGE_MS[1] / 1000.0 + UNEXPECTED_OUTPUT_GRACE_S

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveValues:
    """The latest telemetry, in display units."""

    current_ma: float
    voltage_v: float
    target_ma: float
    flags: m.Flags
    latched_fault: int

    @property
    def output_on(self) -> bool:
        return bool(self.flags & m.Flags.OUTPUT_ENABLED)

    @property
    def impedance_kohm(self) -> float | None:
        return impedance_kohm(self.current_ma, self.voltage_v, self.output_on)


@dataclass(frozen=True)
class StationSnapshot:
    """Everything the shell shows, copied at one instant."""

    port: str | None
    state: LinkState
    reason: str
    ident: m.Ident | None
    live: LiveValues | None
    telemetry_received: int
    samples_lost: int
    frames_dropped: int
    last_fault: str = ""


@dataclass
class _Shared:
    reason: str = "not connected"
    live: LiveValues | None = None
    last_fault: str = ""
    timeline: BoardTimeline = field(default_factory=BoardTimeline)


class Station:
    """Composition of the board link with what the console displays."""

    def __init__(self, link_factory: LinkFactory = board_link) -> None:
        self._link_factory = link_factory
        self._link: BoardPort | None = None
        self._port: str | None = None
        self._simulated = False
        self._shared = _Shared()
        self._lock = threading.Lock()
        self._lent = False
        self._lent_drives = False
        self.buffer = TelemetryBuffer(max_samples=STATION_HISTORY_SAMPLES)
        #: Whether a treatment (or anything else allowed to drive current) runs now; set by the desk.
        #: Called on the link's reader thread for every sample: it must be quick.
        self.output_expected: Callable[[], bool] = lambda: False
        #: Told (reader thread) when an output nobody asked for was commanded off; the desk alarms.
        self.on_unexpected_output: Callable[[str], None] | None = None
        self._output_tolerated_until = -math.inf
        self._last_unexpected_cut = -math.inf
        #: host time of the first sample of the STOP ramp now reported with no session (None: none)
        self._stop_ramp_since: float | None = None

    @property
    def link(self) -> BoardPort | None:
        return self._link

    @property
    def board_simulated(self) -> bool:
        """The board was connected as simulated (the simulator process, or any board in demo mode)."""
        return self._simulated

    def connect(self, port: str, *, simulated: bool = False) -> None:
        """Open the board at ``port``; failures show up as state, never raise.

        ``simulated``: how the composition root connected it (never guessed from the
        board's answer); sessions on it are recorded as simulated."""
        self.disconnect()
        self.buffer.clear()
        self._port = port
        self._simulated = simulated
        with self._lock:
            self._shared = _Shared(reason=f"connecting to {port}")
        link = self._link_factory(port)
        link.add_telemetry_listener(self._on_telemetry)
        link.add_fault_listener(self._on_fault)
        link.add_state_listener(self._on_state)
        self._link = link
        link.open(wait=False)  # never block the GUI; progress shows as state

    def lend(self, port: str) -> BoardPort | None:
        """The station's port when it is connected to the board at ``port`` (None otherwise).

        WHY: a serial port has one owner. A calibration of the board the station
        is connected to borrows this port (adds its listeners, removes them after)
        instead of opening the device a second time; the station keeps it open.
        While lent, ``lent`` is True (no treatment starts on a board being
        calibrated) until ``give_back``. Raises ValueError while it is lent already:
        one borrower at a time, or the first one's ``give_back`` would end the
        second one's lend (the wizard closes an old runner while a new one connects)."""
        link = self._link
        if link is None or port != self._port or link.state is not LinkState.CONNECTED:
            return None
        with self._lock:
            if self._lent:
                raise ValueError("the board is already lent to another calibration run: "
                                 "wait for that run to close, then connect again")
            self._lent = True
        return link

    def lent_output(self, driving: bool) -> None:
        """The borrower of the port drives the output now (True) or no longer (False).

        WHY apart from ``lend``: a calibration borrows the port when the wizard connects
        and keeps it until the run ends or the window closes; only its sweep drives the
        output. The unexpected-output guard looks away only while the borrower says so."""
        self._lent_drives = driving and self._lent

    def give_back(self) -> None:
        """The borrower is done with the port (see ``lend``)."""
        self._lent = False
        self._lent_drives = False

    @property
    def lent(self) -> bool:
        """The port is lent to a calibration run."""
        return self._lent

    def disconnect(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
        with self._lock:
            self._shared.reason = "not connected"
            self._shared.live = None

    def snapshot(self) -> StationSnapshot:
        link = self._link
        with self._lock:
            shared = self._shared
            reason, live, last_fault = shared.reason, shared.live, shared.last_fault
        if link is None:
            return StationSnapshot(self._port, LinkState.DISCONNECTED, reason, None, None, 0, 0, 0)
        stats = link.stats
        return StationSnapshot(
            port=self._port,
            state=link.state,
            reason=link.reason,
            ident=link.ident,
            live=live,
            telemetry_received=stats.telemetry_received,
            samples_lost=stats.samples_lost,
            frames_dropped=stats.frames_dropped,
            last_fault=last_fault,
        )

    # --- listeners: run on the link's reader thread --------------------------

    def _on_telemetry(self, event: TelemetryEvent) -> None:
        msg = event.msg
        live = LiveValues(
            current_ma=ma_from_wire(msg.current_ua),
            voltage_v=v_from_wire(msg.voltage_mv),
            target_ma=ma_from_wire(msg.target_ua),
            flags=m.Flags(msg.flags),
            latched_fault=msg.latched_fault,
        )
        shared = self._shared
        t = shared.timeline.seconds(msg.board_time_us, rebooted=event.board_rebooted)
        self.buffer.append(t, live.current_ma, live.voltage_v, live.target_ma, live.output_on)
        with self._lock:
            shared.live = live
        self._guard_output(live, event.host_time)

    def _guard_output(self, live: LiveValues, now: float) -> None:
        """An output on with no treatment running gets OUTPUT 0 and an alarm (field report F6).

        WHY here: the station hears every sample whether or not a session runs, and its
        link's heartbeats keep the board's watchdog fed, so without this a board that
        switched its output on by itself (or kept it after a console fault) would go on
        driving current unnoticed. A STOP ramp in progress (bit6) is the end of a session
        being obeyed and is left to finish, for no longer than the ICD's longest ramp."""
        if self._lent_drives or self.output_expected():  # a session, or a calibration sweep, owns it
            self._output_tolerated_until = now + UNEXPECTED_OUTPUT_GRACE_S
            self._stop_ramp_since = None
            return
        if not live.output_on:
            self._stop_ramp_since = None
            return
        if live.flags & m.Flags.STOP_RAMP:
            # WHY bounded: a board whose bit6 is stuck (or that never ends its ramp) would
            # otherwise drive current for ever with this guard looking away.
            if self._stop_ramp_since is None:
                self._stop_ramp_since = now
            if now - self._stop_ramp_since <= STOP_RAMP_TOLERANCE_S:
                return
        else:
            self._stop_ramp_since = None
        if now <= self._output_tolerated_until:
            return
        if now - self._last_unexpected_cut < UNEXPECTED_OUTPUT_RESEND_S:
            return
        self._last_unexpected_cut = now
        link = self._link
        if link is not None:
            try:
                link.write_now(m.Output(0))
            except BoardError as exc:
                log.warning("unexpected output: OUTPUT 0 could not be written (%s)", exc)
        text = (f"The board reported its output on ({live.current_ma:.2f} mA) with no treatment "
                "running: output switched off")
        log.warning(text)
        if self.on_unexpected_output is not None:
            try:
                self.on_unexpected_output(text)
            except Exception:
                log.exception("the unexpected-output alarm could not be raised")

    def _on_fault(self, fault: m.Fault, host_time: float) -> None:
        text = (
            f"Board fault: {fault_name(fault.code)} at "
            f"{time.strftime('%H:%M:%S')} (measured {fault.detail} µA)"
        )
        log.warning(text)
        with self._lock:
            self._shared.last_fault = text

    def _on_state(self, state: LinkState, reason: str) -> None:
        if state is not LinkState.CONNECTED:
            with self._lock:
                self._shared.live = None


fault_name = BoardFault.describe
