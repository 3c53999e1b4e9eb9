"""The console's link to an IONTO-1 board over any pyserial URL.

Why it is shaped this way:

- One *supervisor* thread owns the connection: it opens the port, says HELLO,
  sends HEARTBEAT on schedule while connected, notices a dead or silent port
  and retries every ``reconnect_period_s``. Opening never raises into the GUI;
  a missing port is a state with a reason, not an exception.
- One *reader* thread per open port decodes frames and dispatches them. It
  never dies on garbage: bad frames are counted, unknown or mis-sized frames
  are counted and logged, listener exceptions are logged.
- Replies are matched to commands by ``seq`` (and by command type, so a late
  reply to a timed-out command cannot complete a newer one).
- Writes are serialized by a lock held only for the write itself; no lock is
  ever held while waiting for a reply (qudi's deadlock lesson). A stop path
  uses :meth:`BoardLink.write_now`, which puts the frame on the wire from the
  calling thread without waiting for anything.

Listeners run on the reader thread, at up to 1000 telemetry frames per
second: they must be quick (copy numbers, put on a queue) and must not call
:meth:`BoardLink.request` (they would wait for a reply that only the reader
thread they are blocking could deliver).
"""

from __future__ import annotations

import enum
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Callable

import serial

from . import messages as m
from .errors import BoardDisconnected, BoardNakError, ReplyTimeout, command_name
from .framing import FrameDecoder, RawFrame, encode_frame
from .ports import resolve_port
from .sequence import Kind, judge

log = logging.getLogger(__name__)

#: ICD section 4 power-on default; the heartbeat must be at most a third of it.
DEFAULT_WATCHDOG_MS = 250
_U32 = 0xFFFF_FFFF
#: Read timeout of the reader thread: bounds how long ``close()`` waits for it.
_READ_POLL_S = 0.05
#: A write that cannot complete in this time means the port is wedged.
#: pyserial counts a host stall that happens after a successful write against
#: this timeout (VMs freeze whole processes for ~0.6 s, measured), so it must be
#: well above such stalls; a genuinely wedged port still shows within seconds,
#: and the board's watchdog ends any output meanwhile.
_WRITE_TIMEOUT_S = 3.0
_HELLO_ATTEMPTS = 3
#: A board that restarts again and again is re-identified at most this often (one HELLO
#: per interval, one warning per log throttle window), not once per telemetry frame.
REHANDSHAKE_MIN_INTERVAL_S = 1.0
#: After a link fault the next connection attempt waits at least this long, so a board
#: that keeps sending contradictory telemetry is not re-handshaken at the telemetry rate.
FAULT_HOLDOFF_S = 1.0
#: A heartbeat this late means our own process was not scheduled (loaded host).
_STARVED_S = 0.2
_REPLY_TYPES = {
    m.MsgType.ACK: None,  # matched by the command byte it carries
    m.MsgType.NAK: None,
    m.MsgType.IDENT: m.MsgType.HELLO,
    m.MsgType.STATUS: m.MsgType.GET_STATUS,
}


class LinkState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


@dataclass(frozen=True)
class TelemetryEvent:
    """One TELEMETRY frame as received.

    ``lost_before`` is the number of samples missing between the previous
    frame and this one (sample-counter gap, u32 wrap aware). When the counter
    went backwards the board restarted: ``board_rebooted`` is True and
    ``lost_before`` is 0; the board is then back at its power-on defaults and
    a running treatment must stop.
    """

    msg: m.Telemetry
    host_time: float  # time.monotonic() when the bytes were read
    lost_before: int
    board_rebooted: bool = False


@dataclass(frozen=True)
class LinkStats:
    """Counters since the link was created (copied at one instant)."""

    frames_received: int = 0  # valid frames (COBS, length, CRC) of any type
    frames_dropped: int = 0  # rejected by the decoder: bad COBS/CRC/length
    frames_rejected: int = 0  # CRC-valid but unknown type, wrong size or direction
    telemetry_received: int = 0
    telemetry_duplicates: int = 0  # exact repeats of the previous TELEMETRY frame, dropped (sequence.judge)
    samples_lost: int = 0
    board_reboots: int = 0
    replies_unmatched: int = 0  # late or stray ACK/NAK/reply frames
    reconnects: int = 0
    rehandshakes: int = 0  # HELLOs sent to re-identify a board after it restarted
    link_faults: int = 0  # sessions ended because the board broke an ICD rule (see ``LINK_FAULT``)
    last_error: str = ""


#: Directions of the raw bytes a wire listener sees (the black box's ``ionto-wire/1`` values).
WIRE_TO_BOARD, WIRE_FROM_BOARD = 0, 1

TelemetryListener = Callable[[TelemetryEvent], None]
WireListener = Callable[[int, float, bytes], None]
FaultListener = Callable[[m.Fault, float], None]
StateListener = Callable[[LinkState, str], None]


#: Reasons of a session the link ended because the board broke an ICD rule start with this.
LINK_FAULT = "board fault"


def ident_problem(ident: m.Ident) -> str:
    """Why this IDENT cannot be a board the console may treat with ("" when it can).

    WHY one function: the first connect and every re-identification (after a reboot,
    after WRITE_CAL) must apply exactly the same rules; a board that comes back from a
    "reboot" speaking another revision or with a NaN gain is no more trustworthy than
    one that says so at first connect."""
    if ident.protocol_revision != m.PROTOCOL_REVISION:
        return (f"the board speaks ICD revision {ident.protocol_revision}, "
                f"this console speaks revision {m.PROTOCOL_REVISION}")
    serial_number = ident.serial_number
    if not serial_number or not serial_number.isascii() or not serial_number.isprintable():
        return f"the board reports an unreadable serial number {serial_number!r}"
    if not (math.isfinite(ident.cal_gain) and ident.cal_gain > 0 and math.isfinite(ident.cal_offset_ua)):
        return (f"the board reports unusable calibration constants "
                f"(gain {ident.cal_gain!r}, offset {ident.cal_offset_ua!r} µA)")
    return ""


def _calibration(ident: m.Ident) -> tuple[float, float, int]:
    return (ident.cal_gain, ident.cal_offset_ua, ident.cal_date)


class _Pending:
    """A command on the wire waiting for its reply (or consumed silently)."""

    __slots__ = ("seq", "msg", "waiter", "done", "reply", "error", "rehandshake")

    def __init__(self, seq: int, msg: m.Message, waiter: bool, rehandshake: bool = False) -> None:
        self.seq = seq
        self.msg = msg
        self.waiter = waiter
        self.rehandshake = rehandshake
        self.done = threading.Event()
        self.reply: m.Message | None = None
        self.error: str = ""

    def accepts(self, reply: m.Message) -> bool:
        if isinstance(reply, (m.Ack, m.Nak)):
            return reply.command == self.msg.TYPE
        return _REPLY_TYPES.get(reply.TYPE) == self.msg.TYPE


class _Session:
    """One open port: its reader thread and why it ended."""

    def __init__(self, port: serial.SerialBase) -> None:
        self.port = port
        self.dead = threading.Event()
        self.reason = ""
        self.last_rx = time.monotonic()
        self.reader: threading.Thread | None = None
        #: the first telemetry after a (re)connect re-baselines the counter checks
        self.resync = True
        #: the board restarted and has not been re-identified yet (reader sets, supervisor acts)
        self.rehandshake_due = False
        self.reident_deadline: float | None = None


class _Throttle:
    """Lets one log line per key through per interval, so a garbage flood or a
    failing listener at 1000 Hz cannot flood the log."""

    def __init__(self, interval_s: float = 5.0) -> None:
        self._interval = interval_s
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self._interval) < self._interval:
            return False
        self._last[key] = now
        return True


class BoardLink:
    """Thread-safe command/reply and telemetry link to one IONTO-1 board."""

    def __init__(
        self,
        url: str,
        *,
        reply_timeout_s: float = 0.1,
        heartbeat_period_s: float = 0.05,
        reconnect_period_s: float = 0.5,
        silence_timeout_s: float | None = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``silence_timeout_s``: with the port open but no valid frame for this
        long (telemetry comes at >= 10 Hz and every heartbeat is ACKed), the
        board is treated as gone and the link reconnects. ``None`` disables it.

        ``clock`` stamps what listeners receive (``TelemetryEvent.host_time``, fault and
        wire times); a replay at accelerated speed gives the link and the controller the
        same scaled clock. Heartbeats and silence always run on the real monotonic clock."""
        if reply_timeout_s <= 0 or reconnect_period_s <= 0:
            raise ValueError("reply_timeout_s and reconnect_period_s must be positive")
        self.url = url
        self._clock = clock
        self._reply_timeout = reply_timeout_s
        self._reconnect_period = reconnect_period_s
        self._silence_timeout = silence_timeout_s
        self._watchdog_ms = DEFAULT_WATCHDOG_MS
        self._requested_heartbeat = 0.0
        self.set_heartbeat_period(heartbeat_period_s)

        self._state = LinkState.DISCONNECTED
        self._reason = "not opened"
        self._state_lock = threading.RLock()  # also orders state notifications
        self._ident: m.Ident | None = None
        self._session: _Session | None = None
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._first_attempt = threading.Event()

        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._next_seq = 0

        self._telemetry_listeners: tuple[TelemetryListener, ...] = ()
        self._fault_listeners: tuple[FaultListener, ...] = ()
        self._state_listeners: tuple[StateListener, ...] = ()
        self._wire_listeners: tuple[WireListener, ...] = ()

        self._last_counter: int | None = None
        self._last_time_us: int | None = None
        self._last_telemetry_at: float | None = None  # host time the last accepted TELEMETRY was read
        self._next_rehandshake = -math.inf
        self._fault_holdoff_until = -math.inf
        self._counts = dict.fromkeys(
            ("frames_received", "frames_dropped", "frames_rejected", "telemetry_received", "telemetry_duplicates",
             "samples_lost", "board_reboots", "replies_unmatched", "reconnects", "rehandshakes",
             "link_faults"),
            0,
        )
        self._last_error = ""
        self._throttle = _Throttle()
        self._ever_connected = False
        self._last_serial: str | None = None

    # --- public API ----------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def reason(self) -> str:
        """Plain-words explanation of the current state."""
        return self._reason

    @property
    def ident(self) -> m.Ident | None:
        """IDENT of the board currently connected (None while not connected)."""
        return self._ident

    @property
    def stats(self) -> LinkStats:
        return LinkStats(**self._counts, last_error=self._last_error)

    @property
    def heartbeat_period(self) -> float:
        """Seconds between HEARTBEATs: the requested period, lowered to a third of
        the board's watchdog when a SET_LIMITS made the watchdog shorter."""
        return min(self._requested_heartbeat, self._watchdog_ms / 3000.0)

    def set_heartbeat_period(self, period_s: float) -> None:
        """Change the heartbeat period; it must be <= watchdog/3 (ICD section 5)."""
        limit = self._watchdog_ms / 3000.0
        if not 0 < period_s <= limit + 1e-9:
            raise ValueError(
                f"heartbeat period {period_s * 1000:.0f} ms must be above 0 and at most a third "
                f"of the board watchdog ({self._watchdog_ms} ms -> {limit * 1000:.0f} ms)"
            )
        self._requested_heartbeat = period_s

    def add_telemetry_listener(self, cb: TelemetryListener) -> None:
        """``cb(event)`` runs on the reader thread for every TELEMETRY: keep it quick."""
        self._telemetry_listeners += (cb,)

    def add_fault_listener(self, cb: FaultListener) -> None:
        """``cb(fault, host_time)`` runs on the reader thread for every FAULT frame."""
        self._fault_listeners += (cb,)

    def add_state_listener(self, cb: StateListener) -> None:
        """``cb(state, reason)`` on every change of state or reason (any thread).

        A board reboot is reported as ``(CONNECTED, "board rebooted: ...")``."""
        self._state_listeners += (cb,)

    def add_wire_listener(self, cb: WireListener) -> None:
        """``cb(direction, host_time, data)`` for every chunk of raw bytes written or read
        (``WIRE_TO_BOARD`` / ``WIRE_FROM_BOARD``), garbage included: the session's black box.
        Runs on the writing thread (under the write lock, so the order is the wire's) or the
        reader thread: it must only append."""
        self._wire_listeners += (cb,)

    def remove_listener(self, cb: Callable[..., None]) -> None:
        """Forget ``cb`` wherever it was added (a controller leaving at the end of its session).

        The listener tuples are replaced, never mutated, so the reader thread
        iterating the old tuple is unaffected."""
        self._telemetry_listeners = tuple(x for x in self._telemetry_listeners if x != cb)
        self._fault_listeners = tuple(x for x in self._fault_listeners if x != cb)
        self._state_listeners = tuple(x for x in self._state_listeners if x != cb)
        self._wire_listeners = tuple(x for x in self._wire_listeners if x != cb)

    def open(self, *, wait: bool = True) -> None:
        """Start connecting; never raises for a missing or silent board.

        With ``wait`` the call returns after the first attempt (port opened and
        IDENT received, or the reason it failed); the link keeps retrying every
        ``reconnect_period_s`` in the background until :meth:`close`.
        """
        if self._supervisor is not None and self._supervisor.is_alive():
            return
        self._closing.clear()
        self._first_attempt.clear()
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"board-link {self.url}", daemon=True
        )
        self._supervisor.start()
        if wait:
            self._first_attempt.wait(self._handshake_timeout() * (_HELLO_ATTEMPTS + 1) + 5.0)

    def close(self) -> None:
        """Stop heartbeats, close the port and fail pending requests.

        Closing does not command the output off: that is the controller's job
        (and with heartbeats gone, the board's watchdog ends an enabled output).
        """
        self._closing.set()
        with self._state_lock:
            session = self._session
        if session is not None:
            self._session_failed(session, "link closed")
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout=5.0)
        self._set_state(LinkState.DISCONNECTED, "link closed")

    def request(self, msg: m.Message, timeout: float | None = None) -> m.Message:
        """Send a command and wait for its ACK / IDENT / STATUS (thread-safe).

        Raises BoardNakError, ReplyTimeout or BoardDisconnected. Do not call it
        from a listener (it would wait on the thread that delivers replies).
        """
        timeout = self._reply_timeout if timeout is None else timeout
        session = self._live_session()
        if session.reader is threading.current_thread():
            raise RuntimeError("request() called from a link listener: it would block the reader")
        _, pending = self._send(session, msg, waiter=True)
        return self._await(pending, timeout_s=timeout)

    def write_now(self, msg: m.Message) -> int:
        """Put a command on the wire now, from this thread, without waiting.

        For stop paths. Returns the seq used; the reply is still matched and
        consumed (a NAK is logged and kept in ``stats.last_error``). Raises
        BoardDisconnected when the frame could not be written.
        """
        seq, _ = self._send(self._live_session(), msg, waiter=False)
        return seq

    # --- sending -------------------------------------------------------------

    def _live_session(self) -> _Session:
        # No lock: a stop path must not wait behind a slow state listener.
        session = self._session
        if session is None or session.dead.is_set():
            raise BoardDisconnected(f"board not connected: {self._reason}")
        return session

    def _send(
        self, session: _Session, msg: m.Message, waiter: bool, rehandshake: bool = False
    ) -> tuple[int, _Pending]:
        if msg.TYPE not in m.COMMAND_TYPES:
            raise ValueError(f"{type(msg).__name__} is not a host-to-board command")
        payload = msg.payload()  # ValueError for a field that does not fit, before any seq is used
        with self._pending_lock:
            seq = self._next_seq
            self._next_seq = (seq + 1) & 0xFF
            pending = self._pending[seq] = _Pending(seq, msg, waiter, rehandshake)
        if isinstance(msg, m.SetLimits) and msg.watchdog_ms < self._watchdog_ms:
            self._watchdog_ms = msg.watchdog_ms  # heartbeat faster before the board expects it
        frame = encode_frame(msg.TYPE, seq, payload)
        error = self._write(session, frame)
        if error:
            self._forget(pending)
            raise BoardDisconnected(f"{command_name(msg.TYPE)} not sent: {error}")
        return seq, pending

    def _write(self, session: _Session, frame: bytes) -> str:
        """Write one frame; returns an error text instead of raising."""
        if session.dead.is_set():
            return session.reason or "port closed"
        with self._write_lock:
            try:
                session.port.write(frame)
                if self._wire_listeners:
                    now = self._clock()
                    for cb in self._wire_listeners:
                        self._call(cb, WIRE_TO_BOARD, now, frame)
                return ""
            except serial.SerialTimeoutException:
                error = f"board disconnected: write to {self.url} blocked for {_WRITE_TIMEOUT_S:.1f} s"
            except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
                error = f"board disconnected: write to {self.url} failed ({exc})"
        self._session_failed(session, error)
        return error

    def _await(self, pending: _Pending, timeout_s: float) -> m.Message:
        if not pending.done.wait(timeout_s):
            self._forget(pending)
            if not pending.done.is_set():  # the reply may have won the race
                raise ReplyTimeout(pending.msg.TYPE, timeout_s)
        if pending.error:
            raise BoardDisconnected(pending.error)
        reply = pending.reply
        if isinstance(reply, m.Nak):
            raise BoardNakError(reply.command, reply.error)
        assert reply is not None
        return reply

    def _forget(self, pending: _Pending) -> None:
        with self._pending_lock:
            if self._pending.get(pending.seq) is pending:
                del self._pending[pending.seq]

    def _fail_pending(self, reason: str) -> None:
        with self._pending_lock:
            pendings, self._pending = list(self._pending.values()), {}
        for pending in pendings:
            pending.error = reason
            pending.done.set()

    # --- connection supervision -----------------------------------------------

    def _handshake_timeout(self) -> float:
        # The board answers in 20 ms; a loaded host may take longer to schedule us.
        return max(self._reply_timeout, 0.3)

    def _supervise(self) -> None:
        while not self._closing.is_set():
            session = None
            try:
                session = self._connect_once()
            except Exception:  # never let the thread die: log and retry
                log.exception("unexpected error while connecting to %s", self.url)
            finally:
                self._first_attempt.set()
            if session is not None:
                try:
                    self._serve(session)
                except Exception:
                    log.exception("unexpected error in the heartbeat loop of %s", self.url)
                    self._session_failed(session, "internal error in the board link (see log)")
                self._teardown(session)
            holdoff = max(self._reconnect_period, self._fault_holdoff_until - time.monotonic())
            if self._closing.wait(holdoff):
                break

    def _connect_once(self) -> _Session | None:
        try:
            device = resolve_port(self.url)  # a usb:VID:PID[:SERIAL] board is looked up on every attempt
        except (LookupError, ValueError) as exc:
            self._set_state(LinkState.DISCONNECTED, f"board not found: {exc}")
            return None
        try:
            port = serial.serial_for_url(
                device, baudrate=921600, timeout=_READ_POLL_S, write_timeout=_WRITE_TIMEOUT_S,
                exclusive=True,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            self._set_state(LinkState.DISCONNECTED, _open_error_text(self.url, exc))
            return None
        _ask_low_latency(port)
        session = _Session(port)
        with self._state_lock:
            if self._closing.is_set():
                port.close()
                return None
            self._session = session
        self._set_state(LinkState.CONNECTING, f"port {self.url} open, waiting for the board to answer HELLO")
        session.reader = threading.Thread(
            target=self._read_loop, args=(session,), name=f"board-reader {self.url}", daemon=True
        )
        session.reader.start()
        ident = self._handshake(session)
        if ident is None:
            self._teardown(session)
            return None
        with self._state_lock:
            alive = not session.dead.is_set()  # close() or an unplug may have won the race
            if alive:
                self._mark_connected(ident)
        if not alive:
            self._teardown(session)
            return None
        return session

    def _mark_connected(self, ident: m.Ident) -> None:
        with self._state_lock:
            self._ident = ident
            if self._ever_connected:
                self._counts["reconnects"] += 1
            if ident.serial_number != self._last_serial:
                self._last_counter = self._last_time_us = None  # another board: not comparable
            self._ever_connected = True
            self._last_serial = ident.serial_number
            self._set_state(
                LinkState.CONNECTED,
                f"connected to {self.url}: IONTO-1 serial {ident.serial_number}, firmware {ident.firmware}",
            )

    def _handshake(self, session: _Session) -> m.Ident | None:
        for _ in range(_HELLO_ATTEMPTS):
            try:
                _, pending = self._send(session, m.Hello(), waiter=True)
                reply = self._await(pending, self._handshake_timeout())
            except ReplyTimeout:
                continue
            except (BoardDisconnected, BoardNakError) as exc:
                self._session_failed(session, f"handshake with {self.url} failed: {exc}")
                return None
            if not isinstance(reply, m.Ident):
                continue
            problem = ident_problem(reply)
            if problem:
                self._session_failed(session, f"board at {self.url} refused: {problem}")
                return None
            return reply
        self._session_failed(
            session, f"no IONTO-1 board answered HELLO on {self.url} (is this the right port?)"
        )
        return None

    def _serve(self, session: _Session) -> None:
        """Heartbeat on schedule and watch for silence until the session ends."""
        next_beat = time.monotonic()
        watching_since = next_beat  # silence is only judged over time this thread was awake
        while True:
            next_beat += self.heartbeat_period
            now = time.monotonic()
            if next_beat < now:  # fell behind (loaded host): beat now, do not burst
                if now - next_beat > _STARVED_S:
                    watching_since = now  # the whole process was frozen, not the board silent
                next_beat = now
            if session.dead.wait(next_beat - now) or self._closing.is_set():
                return
            try:
                self._send(session, m.Heartbeat(), waiter=False)
                self._reidentify_if_due(session)
            except BoardDisconnected:
                return
            if self._is_silent(session, watching_since):
                return

    def _reidentify_if_due(self, session: _Session) -> None:
        """Say HELLO again after a board restart, at most once per REHANDSHAKE_MIN_INTERVAL_S.

        Runs on the supervisor thread; the IDENT is judged by ``_on_reply`` on the reader
        thread. No IDENT by the deadline is a link fault: a board that restarted and does
        not say who it is now cannot be trusted with a patient."""
        now = time.monotonic()
        deadline = session.reident_deadline
        if deadline is not None and now > deadline:
            self._link_fault(session, "the board did not identify itself again after it restarted")
            return
        if not session.rehandshake_due:
            return
        if now < self._next_rehandshake:
            if self._throttle.allow("rehandshake deferred"):
                log.warning("%s: board restarted again within %.0f s; re-identification deferred "
                            "(repeats muted for 5 s)", self.url, REHANDSHAKE_MIN_INTERVAL_S)
            return
        session.rehandshake_due = False
        self._next_rehandshake = now + REHANDSHAKE_MIN_INTERVAL_S
        session.reident_deadline = now + self._handshake_timeout() * _HELLO_ATTEMPTS
        self._counts["rehandshakes"] += 1
        self._send(session, m.Hello(), waiter=False, rehandshake=True)

    def _link_fault(self, session: _Session, problem: str) -> None:
        """The board broke an ICD rule: end this session as a fault.

        WHY the link writes OUTPUT 0 itself: once the session is failed nothing can be
        written, so the controller's own cut (sent when it hears DISCONNECTED) would not
        reach the wire and only the board's watchdog would end an output. The link then
        waits ``FAULT_HOLDOFF_S`` before it connects again."""
        if session.dead.is_set():
            return
        reason = f"{LINK_FAULT}: {problem}"
        self._counts["link_faults"] += 1
        self._fault_holdoff_until = time.monotonic() + FAULT_HOLDOFF_S
        with self._state_lock:
            self._last_counter = self._last_time_us = None
        try:
            self._send(session, m.Output(0), waiter=False)
        except BoardDisconnected:
            pass
        if self._throttle.allow(LINK_FAULT):
            log.warning("%s on %s; output commanded off, reconnecting (repeats muted for 5 s)",
                        reason, self.url)
        self._session_failed(session, reason)

    def _is_silent(self, session: _Session, watching_since: float) -> bool:
        """True (and the session failed) when the open port brought nothing for too long.

        Bytes still waiting in the port mean the reader is behind, not that the
        board is gone: a starved reader must not cause a reconnect that then
        really loses samples."""
        if self._silence_timeout is None:
            return False
        silent_for = time.monotonic() - max(session.last_rx, watching_since)
        if silent_for <= self._silence_timeout:
            return False
        try:
            if session.port.in_waiting:
                return False
        except Exception:  # a dead port: the reader reports it with its own reason
            return False
        self._session_failed(session, f"board disconnected: no frame from {self.url} for {silent_for:.1f} s")
        return True

    def _teardown(self, session: _Session) -> None:
        self._session_failed(session, session.reason or "port closed")
        reader = session.reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout=5.0)
        with self._write_lock:
            try:
                session.port.close()
            except Exception as exc:  # a vanished device may refuse even close()
                log.debug("closing %s: %s", self.url, exc)
        with self._state_lock:
            if self._session is session:
                self._session = None

    def _session_failed(self, session: _Session, reason: str) -> None:
        """First failure wins: pending requests fail at once, state goes DISCONNECTED."""
        with self._state_lock:
            if session.dead.is_set():
                return
            session.reason = reason
            session.dead.set()
            self._ident = None
            self._fail_pending(reason)
            self._last_error = reason
            if self._session is session:
                self._set_state(LinkState.DISCONNECTED, reason)

    def _set_state(self, state: LinkState, reason: str) -> None:
        with self._state_lock:
            if (state, reason) == (self._state, self._reason):
                return
            self._state, self._reason = state, reason
            level = logging.WARNING if "disconnected" in reason or "not found" in reason else logging.INFO
            log.log(level, "board link %s: %s", state.value, reason)
            for cb in self._state_listeners:
                self._call(cb, state, reason)

    # --- receiving -------------------------------------------------------------

    def _read_loop(self, session: _Session) -> None:
        decoder = FrameDecoder()
        port = session.port
        try:
            while not session.dead.is_set():
                try:
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
                    self._session_failed(session, f"board disconnected: {self.url} closed ({exc})")
                    return
                if not data:
                    continue
                received = time.monotonic()
                now = self._clock()
                for cb in self._wire_listeners:
                    self._call(cb, WIRE_FROM_BOARD, now, data)
                dropped = decoder.dropped
                for frame in decoder.feed(data):
                    if session.dead.is_set():
                        break  # a link fault ended the session: nothing after it is delivered
                    session.last_rx = received
                    try:
                        self._dispatch(frame, now, session)
                    except Exception:  # one odd frame must not end the link
                        if self._throttle.allow("dispatch"):
                            log.exception("board frame %r could not be handled (ignored)", frame)
                if decoder.dropped != dropped:
                    self._counts["frames_dropped"] += decoder.dropped - dropped
                    self._note(f"dropped frame: {decoder.last_error}", level=logging.DEBUG)
        except Exception:
            log.exception("board reader for %s stopped on an unexpected error", self.url)
            self._session_failed(session, "internal error in the board reader (see log)")

    def _dispatch(self, frame: RawFrame, now: float, session: _Session) -> None:
        self._counts["frames_received"] += 1
        try:
            msg = m.parse(frame)
        except KeyError:
            self._reject(f"frame of unknown type {frame.type:#04x} ignored")
            return
        except m.PayloadError as exc:
            self._reject(f"frame ignored: {exc}")
            return
        if isinstance(msg, m.Telemetry):
            self._on_telemetry(msg, now, session)
        elif isinstance(msg, m.Fault):
            for cb in self._fault_listeners:
                self._call(cb, msg, now)
        elif msg.TYPE in _REPLY_TYPES:
            self._on_reply(frame.seq, msg, session)
        else:
            self._reject(f"unexpected {command_name(msg.TYPE)} frame from the board ignored")

    def _reject(self, text: str) -> None:
        self._counts["frames_rejected"] += 1
        self._note(text, level=logging.WARNING)

    def _on_reply(self, seq: int, reply: m.Message, session: _Session) -> None:
        with self._pending_lock:
            pending = self._pending.get(seq)
            if pending is None or not pending.accepts(reply):
                pending = None
            else:
                del self._pending[seq]
        if pending is None:
            self._counts["replies_unmatched"] += 1
            self._note(f"reply {command_name(reply.TYPE)} seq {seq} matches no command", logging.DEBUG)
            return
        if isinstance(reply, m.Ident) and not self._accept_ident(session, reply, pending.rehandshake):
            pending.error = session.reason
            pending.done.set()
            return
        if isinstance(pending.msg, m.SetLimits) and isinstance(reply, m.Ack):
            self._watchdog_ms = pending.msg.watchdog_ms
        if isinstance(reply, m.Nak) and not pending.waiter:
            self._note(str(BoardNakError(reply.command, reply.error)), logging.WARNING)
        pending.reply = reply
        pending.done.set()

    def _accept_ident(self, session: _Session, ident: m.Ident, after_restart: bool) -> bool:
        """Judge an IDENT that came after the connect (re-identification, or a HELLO request).

        The same rules as the first connect (``ident_problem``); the serial number must
        be the connected board's, and after a restart the calibration must be the one it
        had (ICD section 3, "Reboot"). Anything else ends the session as a link fault."""
        known = self._ident
        if known is None:
            return True  # the connect handshake: ``_handshake`` judges it and marks it connected
        problem = ident_problem(ident)
        if not problem and ident.serial_number != known.serial_number:
            problem = (f"a different board (serial {ident.serial_number}) answered in place of "
                       f"serial {known.serial_number}")
        if not problem and after_restart and _calibration(ident) != _calibration(known):
            problem = (f"the board's calibration changed across its restart (gain {known.cal_gain} -> "
                       f"{ident.cal_gain}, offset {known.cal_offset_ua} -> {ident.cal_offset_ua} µA, "
                       f"date {known.cal_date} -> {ident.cal_date})")
        if problem:
            self._link_fault(session, problem)
            return False
        self._ident = ident
        if after_restart:
            session.reident_deadline = None
            self._set_state(
                LinkState.CONNECTED,
                f"connected to {self.url}: IONTO-1 serial {ident.serial_number} identified again after "
                "a restart (settings at power-on defaults)",
            )
        return True

    def _on_telemetry(self, msg: m.Telemetry, now: float, session: _Session) -> None:
        self._counts["telemetry_received"] += 1
        last = None if self._last_counter is None or self._last_time_us is None else (
            self._last_counter, self._last_time_us)
        gap = None if self._last_telemetry_at is None else now - self._last_telemetry_at
        verdict = judge(last, msg.counter, msg.board_time_us, session.resync, gap)
        session.resync = False
        if verdict.kind is Kind.FAULT:
            self._link_fault(session, verdict.problem)
            return  # a frame that breaks the ICD's counter/clock rules is not delivered
        if verdict.kind is Kind.DUPLICATE:
            self._counts["telemetry_duplicates"] += 1  # the same sample again: counted once, not a restart
            return
        rebooted = verdict.kind is Kind.RESTART
        self._last_counter, self._last_time_us = msg.counter, msg.board_time_us
        self._last_telemetry_at = now
        self._counts["samples_lost"] += verdict.lost
        event = TelemetryEvent(msg, now, verdict.lost, rebooted)
        if rebooted:
            self._on_reboot(session)
        for cb in self._telemetry_listeners:
            self._call(cb, event)

    def _on_reboot(self, session: _Session) -> None:
        """The board restarted: defaults are back; it is re-identified by the supervisor.

        WHY a fixed reason text: a board restarting at the telemetry rate must not cause a
        state notification (and a log line) per frame; the reason changes again when the
        board is identified."""
        self._counts["board_reboots"] += 1
        self._watchdog_ms = DEFAULT_WATCHDOG_MS  # the board is back at power-on defaults
        reason = "board rebooted: its settings are back to power-on defaults; identifying it again"
        self._last_error = reason
        if self._throttle.allow("board rebooted"):
            log.warning("%s on %s (repeats muted for 5 s)", reason, self.url)
        session.rehandshake_due = True
        self._set_state(self._state, reason)

    def _call(self, cb: Callable, *args) -> None:
        try:
            cb(*args)
        except Exception:
            name = getattr(cb, "__qualname__", repr(cb))
            if self._throttle.allow(f"listener {name}"):
                log.exception("board link listener %s raised (ignored; repeats muted for 5 s)", name)

    def _note(self, text: str, level: int) -> None:
        self._last_error = text
        key = text.split(":")[0]
        if self._throttle.allow(key):
            log.log(level, "%s: %s (repeats muted for 5 s)", self.url, text)


def _ask_low_latency(port: serial.SerialBase) -> None:
    """Ask a USB-UART bridge for its lowest receive latency (Linux ASYNC_LOW_LATENCY).

    WHY: an FTDI bridge holds received bytes until 62 have gathered or its latency
    timer (16 ms by default) runs out, so every board-to-host frame, ACK and
    telemetry alike, can arrive up to 16 ms late; the ftdi_sio driver maps the
    low-latency flag to a 1 ms timer (docs/engineer-guide.md, "FTDI latency timer").
    CDC-ACM ports, pseudo-terminals and sockets do not support the request: that is fine."""
    setter = getattr(port, "set_low_latency_mode", None)
    if setter is None:
        return
    try:
        setter(True)
    except (OSError, ValueError, serial.SerialException) as exc:
        log.debug("%s: no low-latency mode (%s)", getattr(port, "port", port), exc)


def _open_error_text(url: str, exc: Exception) -> str:
    """'cannot open /dev/ttyUSB0: No such file or directory' rather than pyserial's nesting."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else getattr(exc, "errno", None)
    if isinstance(code, int):
        return f"board not found: cannot open {url}: {os.strerror(code)}"
    text = re.sub(rf"^could not open port {re.escape(url)}: ", "", str(exc), flags=re.IGNORECASE)
    return f"board not found: cannot open {url}: {text}"
