"""The treatment session state machine.

WHY an explicit table: a treatment must never be in two minds (ramping up
after a stop, resuming a faulted session). Every legal move is one row of
``TRANSITIONS``; an event that has no row raises ``IllegalTransition`` and
changes nothing. Terminal states have no rows at all, so nothing can leave
them. The tests walk the whole table, every state against every event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping


class SessionState(str, enum.Enum):
    IDLE = "idle"
    PRECHECKS = "prechecks"
    RAMPING_UP = "ramping_up"
    TREATING = "treating"
    PAUSED = "paused"
    #: Planned tap-water polarity reversal: board ramped to zero and disabled, polarity swapped.
    REVERSING = "reversing"
    RAMPING_DOWN = "ramping_down"
    COMPLETE = "complete"
    STOPPED = "stopped"
    FAULTED = "faulted"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES

    @property
    def output_active(self) -> bool:
        """States in which the board output may be enabled."""
        return self in OUTPUT_STATES


TERMINAL_STATES = frozenset({SessionState.COMPLETE, SessionState.STOPPED, SessionState.FAULTED,
                             SessionState.INTERRUPTED})
OUTPUT_STATES = frozenset({SessionState.RAMPING_UP, SessionState.TREATING, SessionState.PAUSED,
                           SessionState.REVERSING, SessionState.RAMPING_DOWN})


class SessionEvent(str, enum.Enum):
    BEGIN_PRECHECKS = "begin_prechecks"
    CANCEL = "cancel"
    PRECHECKS_PASSED = "prechecks_passed"
    LEVEL_REACHED = "level_reached"
    PAUSE = "pause"
    RESUME = "resume"
    BEGIN_REVERSAL = "begin_reversal"
    REVERSAL_DONE = "reversal_done"
    BEGIN_RAMP_DOWN = "begin_ramp_down"
    FINISH = "finish"
    STOP = "stop"
    FAULT = "fault"
    INTERRUPT = "interrupt"


class SideEffect(str, enum.Enum):
    """Why the patient or therapist stopped: the side-effect buttons on the treatment screen."""

    NAUSEA = "nausea"
    HEADACHE = "headache"
    DIZZINESS = "dizziness"
    INCREASED_PAIN = "increased_pain"
    BURNING_TINGLING = "burning_tingling"
    SKIN_REDNESS = "skin_redness"
    OTHER = "other"


#: The side-effect kinds, as records store them: every list of them (the Records tab's
#: filter, an export's vocabulary) is this one, never a copy.
SIDE_EFFECT_KINDS: tuple[str, ...] = tuple(kind.value for kind in SideEffect)


class StopCause(str, enum.Enum):
    """Stops that are not a side effect."""

    EMERGENCY = "emergency"
    ENDED_EARLY = "ended_early"


EMERGENCY = StopCause.EMERGENCY

_LABELS = {
    SideEffect.NAUSEA: "Nausea",
    SideEffect.HEADACHE: "Headache",
    SideEffect.DIZZINESS: "Dizziness",
    SideEffect.INCREASED_PAIN: "Increased pain",
    SideEffect.BURNING_TINGLING: "Burning or tingling beyond tolerance",
    SideEffect.SKIN_REDNESS: "Skin redness or irritation",
    SideEffect.OTHER: "Other side effect",
    StopCause.EMERGENCY: "Emergency stop",
    StopCause.ENDED_EARLY: "Ended early by the therapist",
}


@dataclass(frozen=True, slots=True)
class StopReason:
    cause: SideEffect | StopCause
    text: str = ""

    def __post_init__(self) -> None:
        if self.cause is SideEffect.OTHER and not self.text.strip():
            raise ValueError("an 'other' side effect needs a description")

    @property
    def is_side_effect(self) -> bool:
        return isinstance(self.cause, SideEffect)

    @property
    def label(self) -> str:
        base = _LABELS[self.cause]
        return f"{base}: {self.text}" if self.text else base


S, E = SessionState, SessionEvent
_ABORTS = {E.STOP: S.STOPPED, E.FAULT: S.FAULTED, E.INTERRUPT: S.INTERRUPTED}

TRANSITIONS: Mapping[tuple[SessionState, SessionEvent], SessionState] = MappingProxyType({
    (S.IDLE, E.BEGIN_PRECHECKS): S.PRECHECKS,
    (S.PRECHECKS, E.CANCEL): S.IDLE,
    (S.PRECHECKS, E.PRECHECKS_PASSED): S.RAMPING_UP,
    (S.RAMPING_UP, E.LEVEL_REACHED): S.TREATING,
    (S.RAMPING_UP, E.PAUSE): S.PAUSED,
    (S.RAMPING_UP, E.BEGIN_RAMP_DOWN): S.RAMPING_DOWN,
    (S.TREATING, E.PAUSE): S.PAUSED,
    (S.TREATING, E.BEGIN_REVERSAL): S.REVERSING,
    (S.TREATING, E.BEGIN_RAMP_DOWN): S.RAMPING_DOWN,
    (S.PAUSED, E.RESUME): S.RAMPING_UP,
    (S.PAUSED, E.BEGIN_RAMP_DOWN): S.RAMPING_DOWN,
    (S.REVERSING, E.REVERSAL_DONE): S.RAMPING_UP,
    (S.REVERSING, E.BEGIN_RAMP_DOWN): S.RAMPING_DOWN,
    (S.RAMPING_DOWN, E.FINISH): S.COMPLETE,
    **{(state, event): target
       for state in (S.PRECHECKS, S.RAMPING_UP, S.TREATING, S.PAUSED, S.REVERSING, S.RAMPING_DOWN)
       for event, target in _ABORTS.items()},
})


class IllegalTransition(RuntimeError):
    """An event the present state does not allow. Nothing was changed."""

    def __init__(self, state: SessionState, event: SessionEvent | str, message: str | None = None) -> None:
        self.state = state
        self.event = event
        name = event.value if isinstance(event, SessionEvent) else event
        super().__init__(message or f"cannot {name.replace('_', ' ')} while {state.value.replace('_', ' ')}")


@dataclass(frozen=True, slots=True)
class Transition:
    t: float
    event: SessionEvent
    source: SessionState
    target: SessionState
    detail: str = ""


class Session:
    """One treatment run. Events are methods taking ``now``; ``history`` keeps every move."""

    def __init__(self) -> None:
        self._state = SessionState.IDLE
        self.history: list[Transition] = []
        self.stop_reason: StopReason | None = None
        self.fault_detail: str | None = None

    @property
    def state(self) -> SessionState:
        return self._state

    def can(self, event: SessionEvent) -> bool:
        return (self._state, event) in TRANSITIONS

    def allowed_events(self) -> frozenset[SessionEvent]:
        return frozenset(e for (s, e) in TRANSITIONS if s is self._state)

    def fire(self, event: SessionEvent, now: float, detail: str = "") -> Transition:
        """Apply ``event``; raises ``IllegalTransition`` (and changes nothing) if it has no row."""
        target = TRANSITIONS.get((self._state, event))
        if target is None:
            raise IllegalTransition(self._state, event)
        move = Transition(now, event, self._state, target, detail)
        self._state = target
        self.history.append(move)
        return move

    # --- events as methods -------------------------------------------------------

    def begin_prechecks(self, now: float) -> Transition:
        return self.fire(E.BEGIN_PRECHECKS, now)

    def cancel(self, now: float) -> Transition:
        return self.fire(E.CANCEL, now)

    def prechecks_passed(self, now: float) -> Transition:
        return self.fire(E.PRECHECKS_PASSED, now)

    def level_reached(self, now: float) -> Transition:
        return self.fire(E.LEVEL_REACHED, now)

    def pause(self, now: float) -> Transition:
        return self.fire(E.PAUSE, now)

    def resume(self, now: float) -> Transition:
        return self.fire(E.RESUME, now)

    def begin_reversal(self, now: float) -> Transition:
        return self.fire(E.BEGIN_REVERSAL, now)

    def reversal_done(self, now: float) -> Transition:
        return self.fire(E.REVERSAL_DONE, now)

    def begin_ramp_down(self, now: float, detail: str = "") -> Transition:
        return self.fire(E.BEGIN_RAMP_DOWN, now, detail)

    def finish(self, now: float) -> Transition:
        return self.fire(E.FINISH, now)

    def stop(self, reason: StopReason, now: float) -> Transition:
        move = self.fire(E.STOP, now, reason.label)
        self.stop_reason = reason
        return move

    def fault(self, detail: str, now: float) -> Transition:
        move = self.fire(E.FAULT, now, detail)
        self.fault_detail = detail
        return move

    def interrupt(self, detail: str, now: float) -> Transition:
        move = self.fire(E.INTERRUPT, now, detail)
        self.fault_detail = detail
        return move
