"""TreatmentController: runs one treatment engine on its own thread against a board link.

Why this shape (DESIGN section 2):
- Every telemetry sample goes from the link's reader thread into a queue and
  is run through the engine (interlocks, dose, ramp) on the controller thread;
  whatever commands the engine returns go to the board from that thread. The
  Qt event loop is never in this path.
- ``stop(reason)`` is callable from any thread. It writes STOP (side effect)
  or OUTPUT 0 (emergency) to the port at once from the caller's thread via
  ``BoardPort.write_now``, then tells the engine. A busy GUI or a busy
  controller thread cannot delay the stop.
- Commands that end current (STOP, OUTPUT 0) are written without waiting;
  the others are requests that must be ACKed. A refused or unanswered command
  during a session interrupts it and cuts the output: the console never keeps
  treating on a board whose state it no longer knows.
- The GUI polls ``snapshot()`` and reads ``history``; it never gets a callback.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol as TypingProtocol

from ..core import engine as e
from ..core.alarms import AlarmManager, AlarmPriority
from ..core.markers import kind_words
from ..core.interlocks import TripAction
from ..core.samples import Sample
from ..core.session import EMERGENCY, IllegalTransition, SessionState, SideEffect, StopCause
from ..drivers.board import messages as m
from ..drivers.board.errors import BoardDisconnected, BoardError, ReplyTimeout
from ..drivers.board.link import LinkState, TelemetryEvent
from .board_port import BoardPort
from .samples import SampleConverter
from .telemetry_buffer import TelemetryBuffer

log = logging.getLogger(__name__)

#: The engine's tick: setpoint updates and the lost-telemetry check (200 ms) need it well below that.
TICK_S = 0.02
#: A tick later than this means our own process stalled, not the board.
STALL_S = 0.1
#: How long to wait for an ACK (the ICD promises 20 ms; the host may be busy).
REPLY_TIMEOUT_S = 0.25
#: Telemetry rate during a treatment: one sample every 5 ms to the interlocks.
TREATMENT_RATE_HZ = 200
#: SET_WAVEFORM needs in-range pulse fields even for DC, where the board ignores them.
DC_PLACEHOLDER_WAVEFORM = (1000, 50)
#: Longest wait, after a session ended, for the board to report its output off (the dose final):
#: a side-effect or trip ramp is 250 ms plus a 100 ms cut margin; a lost link never reports it.
DOSE_SETTLE_TIMEOUT_S = 1.5
#: Never treat unrecorded: with the output on, a record writer that has committed nothing for this
#: long (a hung server, a lock, a dead network) ends the output. The writer commits every 200 ms.
RECORDS_DEADLINE_S = 0.5


class SessionSink(TypingProtocol):
    """Where samples and engine events go for the record (records layer)."""

    def add_sample(self, sample: Sample) -> None: ...

    def add_events(self, events: list[e.EngineEvent]) -> None: ...


@dataclass(frozen=True)
class Marker:
    """An event drawn on the plots, on the session's time axis (seconds since start)."""

    t: float
    label: str
    kind: str  # "action", "trip", "stop", "state"


def to_messages(command: e.Command, rate_hz: int) -> list[m.Message]:
    """One engine command as the ICD messages that carry it out."""
    if isinstance(command, e.Configure):
        freq, duty = (command.frequency_hz, command.duty_pct) if command.pulsed else DC_PLACEHOLDER_WAVEFORM
        return [
            m.SetLimits(command.max_ua, command.slew_ua_s, command.watchdog_ms),
            m.SetWaveform(int(m.WaveformMode.PULSED_DC if command.pulsed else m.WaveformMode.DC), freq, duty),
            m.SetRate(rate_hz),
        ]
    if isinstance(command, e.SetPolarity):
        return [m.SetPolarity(int(m.Polarity.ANODE if command.anode else m.Polarity.CATHODE))]
    if isinstance(command, e.SetTarget):
        return [m.SetTarget(command.ua)]
    if isinstance(command, e.EnableOutput):
        return [m.Output(1)]
    if isinstance(command, e.RampStop):
        return [m.Stop(command.ms)]
    if isinstance(command, e.CutOutput):
        return [m.Output(0)]
    raise TypeError(f"unknown engine command {command!r}")


def _ends_current(msg: m.Message) -> bool:
    return isinstance(msg, m.Stop) or (isinstance(msg, m.Output) and msg.enable == 0)


class TreatmentController:
    """Owns one ``TreatmentEngine`` and the thread that runs it."""

    def __init__(
        self,
        link: BoardPort,
        engine: e.TreatmentEngine,
        *,
        sink: SessionSink | None = None,
        alarms: AlarmManager | None = None,
        rate_hz: int = TREATMENT_RATE_HZ,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.engine = engine
        self.history = TelemetryBuffer()
        self._sink = sink
        self._alarms = alarms
        self._warnings: set[str] = set()  # MEDIUM conditions this session raised (controller thread only)
        self._rate_hz = rate_hz
        self._clock = clock
        self._queue: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._converter = SampleConverter()
        self._lock = threading.Lock()
        self._snapshot = engine.snapshot(clock())
        self._markers: list[Marker] = []
        self._message = ""
        self._t0: float | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._stopping = threading.Event()
        self._records_tripped = False
        link.add_telemetry_listener(self._on_telemetry)
        link.add_state_listener(self._on_link_state)

    # --- lifecycle -------------------------------------------------------------

    def start_thread(self) -> None:
        if self._thread is not None:
            return
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="treatment-controller", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """End the thread. If a session is still active it is interrupted and the output cut first."""
        if self._thread is None:
            return
        self._queue.put(("intent", ("interrupt", "console closed during the session")))
        self._queue.put(("quit", None))
        self._thread.join(timeout)
        self._thread = None
        self.link.remove_listener(self._on_telemetry)
        self.link.remove_listener(self._on_link_state)

    # --- intents (any thread) ---------------------------------------------------

    def prepare(self) -> None:
        self._intent("prepare")

    def start(self) -> None:
        self._intent("start")

    def step_up(self) -> None:
        self._intent("step_up")

    def step_down(self) -> None:
        self._intent("step_down")

    def pause(self) -> None:
        self._intent("pause")

    def resume(self) -> None:
        self._intent("resume")

    def end_early(self) -> None:
        self._intent("end_early")

    def stop(self, reason: SideEffect | StopCause, text: str = "") -> None:
        """Stop now, from any thread: the command is on the wire before this returns."""
        message: m.Message = m.Output(0) if reason is EMERGENCY else m.Stop(self.engine.quick_ramp_ms)
        # From now on only current-ending commands reach the board, even from a tick the
        # controller thread runs before it has taken this stop into the engine.
        self._stopping.set()
        on_wire: m.Message | None = None
        try:
            self.link.write_now(message)
            on_wire = message
        except BoardError as exc:
            # No link: nothing can be written; the board's watchdog ends the output.
            log.warning("stop could not be written (%s); the board watchdog will end the output", exc)
        # The intent carries what is already on the wire: the engine's answer to this stop asks
        # for that same command, which is then satisfied, not sent twice (see ``_handle_intent``).
        self._queue.put(("intent", ("stop", reason, text, on_wire)))

    def interrupt(self, detail: str) -> None:
        """Something under the session failed (e.g. records cannot be saved): cut now, then record why."""
        self._stopping.set()
        try:
            self.link.write_now(m.Output(0))
        except BoardError as exc:
            log.warning("cut could not be written (%s); the board watchdog will end the output", exc)
        self._queue.put(("intent", ("interrupt", detail)))

    def _intent(self, name: str) -> None:
        self._queue.put(("intent", (name,)))

    # --- what the GUI reads -----------------------------------------------------

    def snapshot(self) -> e.Snapshot:
        with self._lock:
            return self._snapshot

    def message(self) -> str:
        """The last refusal or failure in plain words ("" when none)."""
        with self._lock:
            return self._message

    def markers(self, since: int = 0) -> list[Marker]:
        with self._lock:
            return self._markers[since:]

    def session_time(self, t: float) -> float:
        return 0.0 if self._t0 is None else t - self._t0

    # --- link listeners (reader thread: quick) -------------------------------------

    def _on_telemetry(self, event: TelemetryEvent) -> None:
        self._queue.put(("sample", event))

    def _on_link_state(self, state: LinkState, reason: str) -> None:
        if state is LinkState.DISCONNECTED or reason.startswith("board rebooted"):
            self._queue.put(("intent", ("interrupt", reason)))

    # --- controller thread ----------------------------------------------------------

    def _run(self) -> None:
        next_tick = self._clock()
        while self._running.is_set():
            try:
                item = self._queue.get(timeout=max(next_tick - self._clock(), 0.0))
            except queue.Empty:
                item = None
            try:
                # Handle everything waiting before the tick: after this thread was
                # starved, the tick's lost-telemetry check must see the newest sample,
                # not the first of a backlog.
                while item is not None:
                    kind, payload = item
                    if kind == "quit":
                        self._running.clear()
                        break
                    if kind == "sample":
                        self._handle_sample(payload)  # type: ignore[arg-type]
                    elif kind == "intent":
                        self._handle_intent(payload)  # type: ignore[arg-type]
                    item = self._next_waiting()
                now = self._clock()
                if now >= next_tick:
                    if now - next_tick > STALL_S:
                        # This process was not scheduled (a frozen VM, a loaded host): give
                        # the reader one tick to deliver what the board sent meanwhile before
                        # judging lost telemetry. A board that is really silent trips a tick later.
                        next_tick = now + TICK_S
                    else:
                        self._execute(self.engine.on_tick(now))
                        next_tick = now + TICK_S
                self._watch_records(now)
                self._publish()
            except Exception:  # the controller thread must never die with current flowing
                log.exception("treatment controller error; cutting the output")
                self._emergency_cut("internal error in the treatment controller")

    def _watch_records(self, now: float) -> None:
        """Stop the output when the record writer has not committed for ``RECORDS_DEADLINE_S``.

        WHY here, on the controller thread and reading a timestamp: the writer's own thread may
        be stuck inside a database driver call (a server whose processes are stopped answers
        nothing, and no client timeout fires); only a watcher outside it notices. The writer's
        own error callback stops sooner when the database says no."""
        lag_of = getattr(self._sink, "records_lag_s", None)
        if lag_of is None or self._records_tripped or not self.engine.state.output_active:
            return
        lag = lag_of()
        if lag <= RECORDS_DEADLINE_S:
            return
        self._records_tripped = True
        log.error("records watchdog: nothing committed for %.0f ms; cutting the output", lag * 1000)
        commands = self.engine.interrupt(f"session records unavailable (nothing saved for {lag * 1000:.0f} ms)", now)
        self._execute(commands)
        self._raise_alarm("records_unavailable", AlarmPriority.HIGH,
                          f"Session records unavailable: nothing could be saved for {lag:.1f} s; "
                          "the output was switched off")

    def _next_waiting(self) -> tuple[str, object] | None:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _handle_sample(self, event: TelemetryEvent) -> None:
        sample = self._converter.convert(event)
        if self._t0 is None:
            self._t0 = sample.t
        # decided before the engine sees the sample: the one that makes the dose final is kept
        in_session = not self.engine.is_after_session(sample)
        if in_session:  # an ended session's plots and record stop where its dose stopped
            self.history.append(
                sample.t - self._t0, sample.current_ma, sample.voltage_v, sample.target_ma, sample.output_on
            )
        if self._stopping.is_set():
            self.engine.stop_written()  # its output off is ours, whether or not the stop intent came first
        self._execute(self.engine.on_sample(sample))
        if in_session and self._sink is not None and self.engine.state is not SessionState.IDLE:
            self._sink.add_sample(sample)

    def _handle_intent(self, payload: tuple) -> None:
        name, *args = payload
        now = self._clock()
        satisfied: m.Message | None = None
        try:
            if name == "stop":
                reason, text, on_wire = args
                commands = self.engine.stop(reason, text, now)
                satisfied = on_wire
            elif name == "interrupt":
                if self.engine.state is SessionState.IDLE or self.engine.state.terminal:
                    return
                commands = self.engine.interrupt(args[0], now)
                self._raise_alarm("interrupted", AlarmPriority.HIGH, f"Treatment interrupted: {args[0]}")
            else:
                commands = getattr(self.engine, name)(now)
        except (IllegalTransition, ValueError, RuntimeError) as exc:
            self._set_message(str(exc))
            return
        self._set_message("")
        self._execute(commands, satisfied=satisfied)

    def _execute(self, commands: list[e.Command], *, satisfied: m.Message | None = None) -> None:
        """Carry out engine commands. ``satisfied``: a current-ending command ``stop()`` already
        wrote for this very stop; the engine's first request for it is met, not written again."""
        for command in commands:
            for msg in to_messages(command, self._rate_hz):
                if _ends_current(msg):
                    if satisfied is not None and msg == satisfied:
                        satisfied = None  # stop() put exactly this on the wire: the cut is done
                        continue
                    self._write_stop(msg)
                    continue
                if self._stopping.is_set():
                    continue  # a stop is on the wire: never raise or re-enable after it
                try:
                    self._request_idempotent(msg)
                except BoardError as exc:
                    if self._stopping.is_set():
                        # A stop reached the wire (from another thread) while this command was in
                        # flight: the board refusing it (NAK BUSY, its STOP ramp runs) is the stop
                        # being obeyed. The stop intent, already queued, ends the session with its
                        # own reason; a lost link is reported by the link's state listener.
                        log.info("%s not applied, a stop came first: %s", type(msg).__name__, exc)
                        return
                    self._command_failed(msg, exc)
                    return

    def _request_idempotent(self, msg: m.Message) -> None:
        """Every command sent here may be repeated harmlessly, so an unanswered one is
        sent once more before the session is given up (a busy host can delay a reply)."""
        try:
            self.link.request(msg, timeout=REPLY_TIMEOUT_S)
        except ReplyTimeout:
            self.link.request(msg, timeout=REPLY_TIMEOUT_S)

    def _write_stop(self, msg: m.Message) -> None:
        try:
            self.link.write_now(msg)
        except BoardDisconnected as exc:
            log.warning("could not write %s: %s (board watchdog ends the output)", type(msg).__name__, exc)

    def _command_failed(self, msg: m.Message, exc: BoardError) -> None:
        text = f"The board did not accept a command ({exc}). The output was switched off."
        log.warning(text)
        self._set_message(text)
        if self.engine.state.output_active or self.engine.state is SessionState.PRECHECKS:
            self._execute_cut(self.engine.interrupt(f"board command failed: {exc}", self._clock()))
            self._raise_alarm("interrupted", AlarmPriority.HIGH, f"Treatment interrupted: {text}")
        else:
            self._write_stop(m.Output(0))

    def _execute_cut(self, commands: list[e.Command]) -> None:
        for command in commands:
            for msg in to_messages(command, self._rate_hz):
                if _ends_current(msg):
                    self._write_stop(msg)

    def _emergency_cut(self, detail: str) -> None:
        self._write_stop(m.Output(0))
        try:
            self.engine.interrupt(detail, self._clock())
        except Exception:
            log.exception("engine could not record the interruption")
        self._set_message(f"Output switched off: {detail}.")
        try:
            self._raise_alarm("interrupted", AlarmPriority.HIGH, f"Treatment interrupted: {detail}")
        except Exception:
            log.exception("the interruption alarm could not be raised")

    def _set_message(self, text: str) -> None:
        with self._lock:
            self._message = text

    def _publish(self) -> None:
        """Hand the engine's news to the GUI, the record and the alarms.

        WHY the alarms first: the GUI reads the snapshot from another thread; a snapshot
        saying "ended by a trip" published before the trip's alarm let a reader see the
        session over with no alarm (the alarm came one scheduling slice later, or never
        under load before the reader gave up). Once the snapshot is out, its alarm is up."""
        events = self.engine.drain_events()
        snapshot = self.engine.snapshot(self._clock())
        markers = [marker for event in events if (marker := self._marker(event)) is not None]
        for event in events:
            if isinstance(event, e.TripRecorded):
                trip = event.trip
                priority = AlarmPriority.MEDIUM if trip.action is TripAction.WARN else AlarmPriority.HIGH
                self._raise_alarm(trip.kind.value, priority, trip.message)
        with self._lock:
            self._snapshot = snapshot
            self._markers.extend(markers)
        if events and self._sink is not None:
            self._sink.add_events(events)
        if self._warnings and snapshot.state.terminal:
            self._clear_warnings()

    def _raise_alarm(self, condition: str, priority: AlarmPriority, message: str) -> None:
        """Alarm text says when, in wall-clock time, as the therapist will report it.

        WHY raised and at once cleared: a trip or an interruption is an event, not a lasting
        condition. A HIGH alarm latches, so it stays shown and sounding until acknowledged,
        then ends; the next trip of the same kind is a new alarm that sounds again. A MEDIUM
        warning (the session goes on) ends with the session (``_clear_warnings``)."""
        if self._alarms is not None:
            stamped = f"{message} at {time.strftime('%H:%M:%S')}"
            now = self._clock()
            self._alarms.raise_alarm(condition, priority, stamped, now)
            if priority is AlarmPriority.HIGH:
                self._alarms.clear(condition, now)
            else:
                self._warnings.add(condition)

    def _clear_warnings(self) -> None:
        """The session ended: its warnings' conditions are gone with it."""
        if self._alarms is not None:
            for condition in self._warnings:
                self._alarms.clear(condition, self._clock())
        self._warnings.clear()

    def _marker(self, event: e.EngineEvent) -> Marker | None:
        t = self.session_time(event.t)
        if isinstance(event, e.TherapistAction):
            return Marker(t, f"{event.action.replace('_', ' ')} {event.level_ma:.1f} mA", "action")
        if isinstance(event, e.TripRecorded):
            return Marker(t, kind_words(event.trip.kind.value), "trip")  # the banner has the whole message
        if isinstance(event, e.StopRecorded):
            return Marker(t, event.reason.label, "stop")
        if isinstance(event, e.DoseReached):
            return Marker(t, "dose reached", "state")
        if isinstance(event, e.PolarityReversed):
            return Marker(t, "polarity reversed", "state")
        return None
