"""The treatment engine: protocol + ramp + dose + interlocks + session, clock-free.

WHY one pure object: the controller thread feeds it every telemetry sample
and a heartbeat-rate tick, and sends whatever board commands it returns, in
order. All safety decisions (when to raise the target, when to end, what to
do on a trip or a side effect) are made here, where they can be tested in
fake time: a 20-minute protocol runs in a second of test time.

Outputs are board-level intents (``Configure``, ``SetPolarity``,
``SetTarget``, ``EnableOutput``, ``RampStop``, ``CutOutput``) that a thin
controller turns into ICD messages; record events (``drain_events``) for the
session record; and a small immutable ``Snapshot`` for the screen.

Invariants the tests check on the command stream:
- ``SetTarget`` never exceeds the protocol maximum and never rises faster
  than the protocol rate (plus one µA of quantisation).
- ``SetPolarity`` is only ever sent while the output is disabled (a
  ``CutOutput`` precedes it) and only with the planned polarity.
- After a stop, fault or the end, nothing raises the target or enables the
  output again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

from .dose import DoseIntegrator, remaining_time_at_goal
from .interlocks import InterlockLimits, Interlocks, Trip, TripAction, TripKind, worst
from .protocols import Protocol
from .ramp import RampLimiter
from .samples import Sample
from .session import (
    EMERGENCY,
    IllegalTransition,
    Session,
    SessionState,
    SideEffect,
    StopCause,
    StopReason,
    Transition,
)

# ICD ranges the engine must respect when building commands (core/ may not import drivers).
SLEW_RANGE_UA_S = (10, 5_000)
WATCHDOG_RANGE_MS = (100, 2_000)


# --- board-level commands ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Configure:
    """SET_LIMITS + SET_WAVEFORM, sent with the output disabled before a session."""

    max_ua: int
    slew_ua_s: int
    watchdog_ms: int
    pulsed: bool = False
    frequency_hz: int = 0
    duty_pct: int = 100


@dataclass(frozen=True, slots=True)
class SetPolarity:
    anode: bool


@dataclass(frozen=True, slots=True)
class SetTarget:
    ua: int


@dataclass(frozen=True, slots=True)
class EnableOutput:
    pass


@dataclass(frozen=True, slots=True)
class RampStop:
    """ICD STOP: linear fall to zero within ``ms``, then the board disables the output."""

    ms: int


@dataclass(frozen=True, slots=True)
class CutOutput:
    """ICD OUTPUT 0: cut at once (< 1 ms) and reset the target."""


Command = Union[Configure, SetPolarity, SetTarget, EnableOutput, RampStop, CutOutput]


# --- record events ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    t: float
    transition: Transition


@dataclass(frozen=True, slots=True)
class TripRecorded:
    t: float
    trip: Trip


@dataclass(frozen=True, slots=True)
class StopRecorded:
    """A stop by the therapist: a side effect (with its reason) or an emergency stop."""

    t: float
    reason: StopReason
    current_ma: float
    dose_ma_min: float


@dataclass(frozen=True, slots=True)
class DoseReached:
    """The ramp-down began because the dose (with the ramp-down's own charge) reached the target."""

    t: float
    delivered_ma_min: float
    projected_ma_min: float
    target_ma_min: float


@dataclass(frozen=True, slots=True)
class PolarityReversed:
    t: float
    anode: bool


@dataclass(frozen=True, slots=True)
class TherapistAction:
    t: float
    action: str
    level_ma: float


@dataclass(frozen=True, slots=True)
class ProgramStepStarted:
    t: float
    index: int
    current_ma: float


@dataclass(frozen=True, slots=True)
class DoseFinal:
    """The ended session's dose counts no more: the first sample with the output off after the end
    (or the end itself, for a session that never started). Emitted once; the record closes on it."""

    t: float
    delivered_ma_min: float


EngineEvent = Union[StateChanged, TripRecorded, StopRecorded, DoseReached, PolarityReversed, TherapistAction,
                    ProgramStepStarted, DoseFinal]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the treatment screen shows, at most a few dozen times a second."""

    t: float
    state: SessionState
    current_ma: float
    setpoint_ma: float
    board_target_ma: float
    impedance_kohm: float | None
    voltage_v: float
    dose_delivered_ma_min: float
    dose_target_ma_min: float
    elapsed_s: float
    remaining_s: float | None
    anode: bool
    active_trip: Trip | None
    warning: Trip | None
    stop_reason: StopReason | None
    #: The session has ended and the board has reported its output off: the dose counts no more.
    dose_final: bool = False
    #: The current the therapist asked for (the ramp's goal, kept while paused), apart from the
    #: slewing setpoint on its way there; 0 once the session has ended.
    goal_ma: float = 0.0


class TreatmentEngine:
    """Runs one treatment of ``protocol``. Not thread-safe: the controller thread owns it."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        watchdog_ms: int = 250,
        limits: InterlockLimits | None = None,
        command_latency_s: float = 0.05,
        quick_ramp_ms: int = 250,
        cut_margin_s: float = 0.1,
    ) -> None:
        """``quick_ramp_ms``: the STOP ramp used for side effects and STOP_RAMP trips (output
        at zero well before the therapist's hand leaves the button, without the jolt of a cut).
        ``command_latency_s``: how long a command may take to act, counted into the end-of-dose charge.
        """
        self.protocol = protocol
        self.watchdog_ms = min(max(int(watchdog_ms), WATCHDOG_RANGE_MS[0]), WATCHDOG_RANGE_MS[1])
        self.command_latency_s = command_latency_s
        self.quick_ramp_ms = quick_ramp_ms
        self.cut_margin_s = cut_margin_s
        self.session = Session()
        # The board lowers at its slew limit too (except STOP/OUTPUT 0), so the ramp's
        # down-rate is the same: a faster console down-rate would only misreport the output.
        self.ramp = RampLimiter(max_ma=protocol.max_current_ma, up_rate_ma_s=protocol.ramp_rate_ma_s,
                                step_ma=protocol.step_ma)
        self.interlocks = Interlocks(limits or InterlockLimits.from_protocol(protocol),
                                     expected_anode=protocol.polarity.anode)
        # A step between samples longer than the lost-telemetry limit is never integrated as
        # charge (a leap of the board's clock); such a step trips the session anyway.
        self.dose = DoseIntegrator(protocol.dose_target_ma_min, protocol.dose_cap_ma_min, protocol.duty,
                                   max_step_s=self.interlocks.limits.telemetry_timeout_s)
        self.max_ua = int(math.floor(protocol.max_current_ma * 1000 + 1e-6))
        self._anode = protocol.polarity.anode
        self._reversed = False
        self._resume_after_reversal = 0.0
        self._events: list[EngineEvent] = []
        self._sent_ua = 0
        self._output_enabled = False
        self._cut_at: float | None = None
        self._end_by_dose = False
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._now = 0.0
        self._last: Sample | None = None
        self._active_trip: Trip | None = None
        self._warning: Trip | None = None
        self._last_recut = -math.inf
        self._last_sample_t: float | None = None
        self._sample_dt = 0.0
        self._dose_final = False
        self._dose_final_announced = False
        self._cap_cut = False  # the cut at the dose cap was sent (once; the re-cut of an ended session follows)
        self._program = _ProgramCursor(protocol) if protocol.program else None

    # --- state ---------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def anode(self) -> bool:
        """Polarity of the active electrode for the present part of the plan."""
        return self._anode

    @property
    def dose_final(self) -> bool:
        """The session has ended and its dose counts no more (see ``is_after_session``)."""
        # (a session that ended before it started never counted any charge)
        return self._dose_final or (self.state.terminal and self._started_at is None)

    def is_after_session(self, sample: Sample) -> bool:
        """True for a sample that belongs to no session: the session has ended, the board has
        reported its output off since, and still does.

        WHY: the ramp-down after the end still delivers charge, up to the first sample with the
        output off; after that the board measures only its zero offset and noise, which must not
        creep into the delivered dose, the session's plots or its record while the ended session
        stays on the screen. A sample with the output on always counts (a board that switched
        on again after the end is cut again, and what flowed until then was delivered)."""
        return self._dose_final and not sample.output_on

    def drain_events(self) -> list[EngineEvent]:
        """Record events since the last call (the controller hands them to the record writer)."""
        events, self._events = self._events, []
        return events

    def snapshot(self, now: float | None = None) -> Snapshot:
        now = self._now if now is None else now
        s = self._last
        elapsed = 0.0
        if self._started_at is not None:
            elapsed = max((self._ended_at if self._ended_at is not None else now) - self._started_at, 0.0)
        active = self.state in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED,
                                SessionState.REVERSING)
        goal = self.ramp.resume_target if active else 0.0
        return Snapshot(
            t=now,
            state=self.state,
            current_ma=s.current_ma if s else 0.0,
            setpoint_ma=self._sent_ua / 1000.0,
            board_target_ma=s.target_ma if s else 0.0,
            impedance_kohm=s.impedance_kohm if s else None,
            voltage_v=s.voltage_v if s else 0.0,
            dose_delivered_ma_min=self.dose.delivered_ma_min,
            dose_target_ma_min=self.dose.target_ma_min,
            elapsed_s=elapsed,
            remaining_s=remaining_time_at_goal(self.dose.remaining_ma_min, goal, self.protocol.duty)
            if active else None,
            anode=self._anode,
            active_trip=self._active_trip,
            warning=self._warning,
            stop_reason=self.session.stop_reason,
            dose_final=self.dose_final,
            goal_ma=goal,
        )

    # --- intents ---------------------------------------------------------------------

    def prepare(self, now: float) -> list[Command]:
        """IDLE -> PRECHECKS: put the board in a known state, output disabled, polarity as planned."""
        self._transition(self.session.begin_prechecks, now)
        p = self.protocol
        waveform = p.waveform
        configure = Configure(
            max_ua=self.max_ua,
            slew_ua_s=min(max(round(p.ramp_rate_ma_s * 1000), SLEW_RANGE_UA_S[0]), SLEW_RANGE_UA_S[1]),
            watchdog_ms=self.watchdog_ms,
            pulsed=p.pulsed,
            frequency_hz=getattr(waveform, "frequency_hz", 0),
            duty_pct=getattr(waveform, "duty_pct", 100),
        )
        self._sent_ua = 0
        return [self._cut(), configure, self._set_polarity(self._anode), SetTarget(0)]

    def cancel(self, now: float) -> list[Command]:
        """PRECHECKS -> IDLE (a precheck failed or the therapist went back)."""
        self._transition(self.session.cancel, now)
        return [self._cut()]

    def start(self, now: float) -> list[Command]:
        """Enable the output at zero and ramp to the protocol's start value (prepares first if idle)."""
        commands = self.prepare(now) if self.state is SessionState.IDLE else []
        self._transition(self.session.prechecks_passed, now)
        self._started_at = now
        self.interlocks.arm(now)
        self.ramp.request(self.protocol.ramp_start_ma, now)
        self._output_enabled = True
        self.interlocks.expect_output(True, now)
        commands.append(EnableOutput())
        return commands

    def step_up(self, now: float) -> list[Command]:
        self._require({SessionState.RAMPING_UP, SessionState.TREATING}, "raise the current")
        self._step("step_up", self.ramp.step_up, now)
        return self._update_setpoint(now)

    def step_down(self, now: float) -> list[Command]:
        self._require({SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED}, "lower the current")
        self._step("step_down", self.ramp.step_down, now)
        return self._update_setpoint(now)

    def _step(self, action: str, step: Callable[[float], float], now: float) -> None:
        """One + or − press. WHY no event when the goal did not move (+ at the maximum, − at
        zero): an event is a marker on the plot and a line in the record, and a press that
        changed nothing would pile labels on the trace and tell the record nothing."""
        before = self.ramp.resume_target
        level = step(now)
        if level != before:
            self._events.append(TherapistAction(now, action, level))

    def pause(self, now: float) -> list[Command]:
        self._transition(self.session.pause, now)
        self.ramp.pause(now)
        self._events.append(TherapistAction(now, "pause", 0.0))
        return self._update_setpoint(now)

    def resume(self, now: float) -> list[Command]:
        self._transition(self.session.resume, now)
        level = self.ramp.resume(now)
        self._events.append(TherapistAction(now, "resume", level))
        return self._update_setpoint(now)

    def end_early(self, now: float) -> list[Command]:
        """Therapist ends before the dose: ramp down over the protocol's ramp-down time."""
        self._transition(lambda t: self.session.begin_ramp_down(t, "ended early"), now)
        self._end_by_dose = False
        self._end(now)
        return self._ramp_stop(now, round(self.protocol.ramp_down_s * 1000))

    def stop(self, reason: SideEffect | StopCause, text: str, now: float) -> list[Command]:
        """Side effect or emergency. Never refused: in any state it ends with the output off.

        EMERGENCY cuts at once; a side effect ramps to zero within ``quick_ramp_ms`` and then cuts.
        """
        stop_reason = StopReason(reason, text)
        if self.state.terminal or self.state is SessionState.IDLE:
            return [self._cut()]  # pressing stop again re-sends the cut: harmless, and sure
        current = self._last.current_ma if self._last else 0.0
        self._events.append(StopRecorded(now, stop_reason, current, self.dose.delivered_ma_min))
        self._transition(lambda t: self.session.stop(stop_reason, t), now)
        self._end(now)
        if reason is EMERGENCY or not self._output_enabled:
            return [self._cut()]
        return self._ramp_stop(now, self.quick_ramp_ms)

    def interrupt(self, detail: str, now: float) -> list[Command]:
        """The link or the app failed under the session: record it and cut (the board watchdog backs this up)."""
        if not (self.state.terminal or self.state is SessionState.IDLE):
            self._transition(lambda t: self.session.interrupt(detail, t), now)
            self._end(now)
        return [self._cut()]

    def stop_written(self) -> None:
        """A current-ending command went on the wire outside the engine (the controller writes a
        stop before this engine takes the stop in): the board's output going off is now expected,
        never "output lost" (the stop, taken in next, ends the session with its own reason)."""
        self.interlocks.expect_output(False)

    # --- inputs ------------------------------------------------------------------------

    def on_sample(self, sample: Sample) -> list[Command]:
        """Every telemetry sample: dose, interlocks, end of dose, planned reversal."""
        now = sample.t
        previous_t = self._last_sample_t
        self._now = max(self._now, now)
        self._last = sample
        state = self.state
        if self._started_at is not None and not self.is_after_session(sample):
            if self._last_sample_t is not None and now > self._last_sample_t:
                self._sample_dt = min(now - self._last_sample_t, 0.2)
            self._last_sample_t = now
            self.dose.add(now, sample.current_ma, sample.pulsed)
            self._dose_final = state.terminal and not sample.output_on
            if self._dose_final:
                self._announce_dose_final(now)
            elif not self._cap_cut and self.dose.cap_due(self.command_latency_s + self._sample_dt):
                return self._cap_reached(now)
        commands: list[Command] = []
        if state is SessionState.PRECHECKS or state.output_active:
            trips = self.interlocks.check(sample)
            if state is SessionState.PRECHECKS:
                # Output still off: only a latched board fault matters (a gap while the
                # therapist fills in the checklist is no danger; ``start`` re-arms the clock).
                trips = [trip for trip in trips if trip.kind is TripKind.BOARD_FAULT]
            if trips:
                when = now
                if previous_t is not None and any(trip.kind is TripKind.BOARD_CLOCK for trip in trips):
                    when = previous_t  # the sample's own time stamp leapt: the last one before it is true
                commands += self._handle_trips(trips, when)
                if self.state.terminal:
                    return commands
        elif state.terminal and sample.output_on and not sample.stop_ramp and now - self._last_recut > 0.1:
            # The board still reports output after we ended: cut again (never leave current flowing).
            if self._cut_at is None:
                self._last_recut = now
                commands.append(self._cut())
            return commands
        else:
            return commands
        if state in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED, SessionState.REVERSING):
            # One sample period early: deciding on the next sample could already be too late.
            if self.dose.should_end(self.protocol.ramp_down_s, self.command_latency_s + self._sample_dt):
                return commands + self._end_of_dose(now)
        if (state is SessionState.TREATING and self.protocol.polarity_reversal_halfway and not self._reversed
                and self.dose.delivered_ma_min >= self.dose.target_ma_min / 2.0):
            commands += self._begin_reversal(now)
        if (state is SessionState.REVERSING and self._cut_at is not None and not sample.output_on
                and abs(sample.current_ma) < 0.05):
            commands += self._finish_reversal(now)
        return commands

    def on_tick(self, now: float) -> list[Command]:
        """Heartbeat-rate tick: lost telemetry, pending cuts, setpoint updates, program steps."""
        self._now = max(self._now, now)
        commands: list[Command] = []
        if self.state.output_active:
            trip = self.interlocks.check_time(now)
            if trip is not None:
                return self._handle_trips([trip], now)
        if self._cut_at is not None and now >= self._cut_at:
            commands += self._pending_cut_due(now)
        if self._program is not None and self.state is SessionState.TREATING:
            level = self._program.advance(now, self.dose.delivered_ma_min)
            if level is not None:
                self.ramp.request(level, now)
                self._events.append(ProgramStepStarted(now, self._program.index, level))
        commands += self._update_setpoint(now)
        return commands

    # --- internals -------------------------------------------------------------------------

    def _update_setpoint(self, now: float) -> list[Command]:
        state = self.state
        if state not in (SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED):
            return []
        level = self.ramp.setpoint(now)
        if state is SessionState.RAMPING_UP and self.ramp.settled(now):
            self._transition(self.session.level_reached, now)
            if self._program is not None and not self._program.started:
                first = self._program.begin(now)
                self.ramp.request(first, now)
                self._events.append(ProgramStepStarted(now, 0, first))
        ua = min(int(round(level * 1000)), self.max_ua)
        if ua == self._sent_ua:
            return []
        self._sent_ua = ua
        return [SetTarget(ua)]

    def _end_of_dose(self, now: float) -> list[Command]:
        projected = self.dose.delivered_ma_min + self.dose.stop_charge_ma_min(
            self.protocol.ramp_down_s, self.command_latency_s)
        self._events.append(DoseReached(now, self.dose.delivered_ma_min, projected, self.dose.target_ma_min))
        self._transition(lambda t: self.session.begin_ramp_down(t, "dose reached"), now)
        self._end_by_dose = True
        self._end(now)
        return self._ramp_stop(now, round(self.protocol.ramp_down_s * 1000))

    def _cap_reached(self, now: float) -> list[Command]:
        """The delivered dose reached the prescription's cap (the electrode rating): cut at once.

        WHY here, on the sample, in every state with current counted: ``should_end`` plans
        the ramp-down so that the cap is never reached, but a plan is not a guarantee: a
        board that ignores or slows the STOP ramp, a ramp-down after an early end or a side
        effect, a current that rose within a sample. The cap is the line the dose must never
        cross, so crossing it is a cut on the very sample that shows it (the dose then ends
        within one sample's charge of the cap). A dose-ended ramp-down that meets the cap
        (cap = target when no electrode rating) completes: the prescription is delivered.
        Anywhere else it is a CUT trip, recorded and alarmed."""
        self._cap_cut = True
        self._cut_at = None
        if self.state is SessionState.RAMPING_DOWN and self._end_by_dose:
            self._transition(self.session.finish, now)
            self._end(now)
            return [self._cut()]
        delivered, cap = self.dose.delivered_ma_min, self.dose.cap_ma_min
        trip = Trip(TripKind.DOSE_CAP, TripAction.CUT,
                    f"The dose reached its cap of {cap:g} mA·min ({delivered:.2f} delivered): output cut",
                    now, {"delivered_ma_min": delivered, "cap_ma_min": cap})
        return self._handle_trips([trip], now)

    def _begin_reversal(self, now: float) -> list[Command]:
        """Half dose on tap water: ramp to zero and disable; polarity swaps once the output is off."""
        self._transition(self.session.begin_reversal, now)
        self._reversed = True
        self._resume_after_reversal = self.ramp.target
        self.ramp.request(0.0, now)
        self.interlocks.expect_output(False)  # the STOP ramp ends with the board's output off
        return [RampStop(round(self.protocol.ramp_down_s * 1000))] + self._schedule_cut(
            now, self.protocol.ramp_down_s)

    def _finish_reversal(self, now: float) -> list[Command]:
        self._cut_at = None
        commands: list[Command] = [self._cut()]
        self._anode = not self._anode
        self.interlocks.expected_anode = self._anode
        commands.append(self._set_polarity(self._anode))
        self._events.append(PolarityReversed(now, self._anode))
        self._sent_ua = 0
        commands.append(SetTarget(0))
        self.ramp.output_cut(now)
        self.ramp.request(self._resume_after_reversal, now)
        self._transition(self.session.reversal_done, now)
        self._output_enabled = True
        self.interlocks.expect_output(True, now)
        commands.append(EnableOutput())
        return commands

    def _pending_cut_due(self, now: float) -> list[Command]:
        if self.state is SessionState.REVERSING:
            return self._finish_reversal(now)
        self._cut_at = None
        commands: list[Command] = [self._cut()]
        if self.state is SessionState.RAMPING_DOWN:
            if self._end_by_dose:
                self._transition(self.session.finish, now)
            else:
                self._transition(lambda t: self.session.stop(StopReason(StopCause.ENDED_EARLY), t), now)
            self._end(now)
        return commands

    def _handle_trips(self, trips: list[Trip], now: float) -> list[Command]:
        for trip in trips:
            self._events.append(TripRecorded(now, trip))
        decisive = worst(trips)
        assert decisive is not None
        if decisive.action is TripAction.WARN:
            self._warning = decisive
            return []
        self._active_trip = decisive
        if not self.state.terminal:
            self._transition(lambda t: self.session.fault(decisive.message, t), now)
            self._end(now)
        if decisive.action is TripAction.CUT or not self._output_enabled:
            self._cut_at = None
            return [self._cut()]
        return self._ramp_stop(now, self.quick_ramp_ms)

    def _ramp_stop(self, now: float, ms: int) -> list[Command]:
        ms = min(max(int(ms), 0), 5_000)
        self.interlocks.expect_output(False)  # the STOP ramp ends with the board's output off
        return [RampStop(ms)] + self._schedule_cut(now, ms / 1000.0)

    def _schedule_cut(self, now: float, ramp_s: float) -> list[Command]:
        due = now + ramp_s + self.cut_margin_s
        self._cut_at = due if self._cut_at is None else min(self._cut_at, due)
        return []

    def _end(self, now: float) -> None:
        """The treatment is over (by any route): lock the ramp so nothing can raise it again."""
        self.ramp.stop(now)
        if self._ended_at is None and self.state.terminal:
            self._ended_at = now

    def _cut(self) -> CutOutput:
        self._output_enabled = False
        self.interlocks.expect_output(False)
        self._sent_ua = 0
        return CutOutput()

    def _set_polarity(self, anode: bool) -> SetPolarity:
        if self._output_enabled:  # unreachable by construction; a guard against future edits
            raise AssertionError("SetPolarity while the output is enabled")
        return SetPolarity(anode)

    def _require(self, states: set[SessionState], what: str) -> None:
        if self.state not in states:
            raise IllegalTransition(self.state, what, f"cannot {what} while {self.state.value.replace('_', ' ')}")

    def _transition(self, event, now: float) -> None:
        move = event(now)
        self._events.append(StateChanged(now, move))
        if move.target.terminal and self._started_at is None:
            self._announce_dose_final(now)  # ended before any current: nothing more will count

    def _announce_dose_final(self, now: float) -> None:
        if not self._dose_final_announced:
            self._dose_final_announced = True
            self._events.append(DoseFinal(now, self.dose.delivered_ma_min))


class _ProgramCursor:
    """Which step of a multi-step program is running; steps end by duration or by dose share."""

    def __init__(self, protocol: Protocol) -> None:
        assert protocol.program
        self.steps = protocol.program
        self.dose_target = protocol.dose_target_ma_min
        self.index = 0
        self.started = False
        self._step_started_at = 0.0
        self._share_done = 0.0

    def begin(self, now: float) -> float:
        self.started = True
        self._step_started_at = now
        return self.steps[0].current_ma

    def advance(self, now: float, delivered_ma_min: float) -> float | None:
        """The next step's current if the present step just ended, else None."""
        if not self.started or self.index >= len(self.steps) - 1:
            return None
        step = self.steps[self.index]
        if step.duration_s is not None:
            done = now - self._step_started_at >= step.duration_s
        else:
            done = delivered_ma_min >= (self._share_done + step.dose_share) * self.dose_target
        if not done:
            return None
        self._share_done += step.dose_share or 0.0
        self.index += 1
        self._step_started_at = now
        return self.steps[self.index].current_ma
