"""Alarm model after IEC 60601-1-8: priorities, their signals as data, and the alarm lifecycle.

WHY data plus one manager: the UI draws the banner, the sound generator plays
the bursts and the record keeps the log, and all three must agree on what is
sounding and what is shown. So the signals (colours, flash rates, audio
bursts) are immutable tables the UI and sound code read, and ``AlarmManager``
is the one place that decides, from injected times, which alarms are visible,
which sound and what is written to the log. No Qt, no clock, no I/O.

Lifecycle rules (IEC 60601-1-8 vocabulary in brackets):
- Raising a condition that already has a visible alarm does not duplicate it;
  a higher priority escalates the existing alarm (and it sounds again).
- ``clear`` says the condition is gone. A HIGH alarm is latching: it stays
  visible and sounding until acknowledged. Others end at once.
- Acknowledging stops the sound [acknowledged]; the alarm stays visible while
  its condition persists, and ends when the condition is gone.
- Pausing audio [audio paused] silences what is sounding for ``duration_s``
  but never hides anything, and a NEW alarm (or an escalation) raised during
  the pause sounds at once.
- Every raise, escalation, reassertion, acknowledgement, clear, end and audio
  pause/resume is appended to the log with its time. The log is append-only.

Times are floats in seconds from a monotonic clock (the caller's). A time
earlier than the last logged event is taken as that event's time, so the log
stays ordered when two threads read the clock in one order and take the lock
in the other. The manager is thread-safe (one short lock, never held across
anything that blocks).
"""

from __future__ import annotations

import enum
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

# --- priorities and their signals (data) --------------------------------------------


class AlarmPriority(str, enum.Enum):
    """Alarm priority; ``rank`` orders them (HIGH first in every list)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {AlarmPriority.HIGH: 3, AlarmPriority.MEDIUM: 2, AlarmPriority.LOW: 1}


@dataclass(frozen=True, slots=True)
class AudioPulse:
    """One tone pulse of a burst: start from the burst's start, and effective duration, in seconds."""

    start_s: float
    duration_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True, slots=True)
class AudioPattern:
    """An auditory alarm signal: a burst of pulses, repeated after ``inter_burst_interval_s``.

    ``inter_burst_interval_s`` runs from the end of the last pulse to the start of
    the next burst; None means the burst plays once (allowed for LOW priority).
    """

    fundamental_hz: float
    pulses: tuple[AudioPulse, ...]
    inter_burst_interval_s: float | None

    @property
    def burst_s(self) -> float:
        return self.pulses[-1].end_s

    @property
    def period_s(self) -> float | None:
        """Start-to-start time of two bursts, or None when the burst does not repeat."""
        if self.inter_burst_interval_s is None:
            return None
        return self.burst_s + self.inter_burst_interval_s

    def spacings_s(self) -> tuple[float, ...]:
        """Silence between consecutive pulses (end of one to start of the next)."""
        return tuple(b.start_s - a.end_s for a, b in zip(self.pulses, self.pulses[1:]))

    def tone_on(self, elapsed_s: float) -> bool:
        """Whether a pulse is sounding ``elapsed_s`` after the pattern started."""
        if elapsed_s < 0:
            return False
        period = self.period_s
        t = elapsed_s % period if period is not None else elapsed_s
        return any(p.start_s <= t < p.end_s for p in self.pulses)


def _burst(fundamental_hz: float, pulse_s: float, spacings_s: Sequence[float],
           inter_burst_interval_s: float | None) -> AudioPattern:
    """A burst of ``len(spacings_s) + 1`` equal pulses separated by the given silences."""
    pulses = [AudioPulse(0.0, pulse_s)]
    for gap in spacings_s:
        pulses.append(AudioPulse(round(pulses[-1].end_s + gap, 6), pulse_s))
    return AudioPattern(fundamental_hz, tuple(pulses), inter_burst_interval_s)


@dataclass(frozen=True, slots=True)
class VisualSignal:
    """Colour and flashing of the alarm indicator. ``flash_hz`` None means constant (on)."""

    colour: str
    colour_hex: str
    flash_hz: float | None
    duty_cycle: float = 1.0

    def lit_at(self, elapsed_s: float) -> bool:
        """Whether the indicator is on ``elapsed_s`` after the alarm started (it starts on)."""
        if self.flash_hz is None:
            return True
        phase = (max(elapsed_s, 0.0) * self.flash_hz) % 1.0
        return phase < self.duty_cycle


@dataclass(frozen=True, slots=True)
class PrioritySignals:
    """Everything a priority looks and sounds like, and whether it latches."""

    priority: AlarmPriority
    visual: VisualSignal
    audio: AudioPattern
    latching: bool


# High: 10 pulses as 3+2, pause, 3+2 (the 3rd-4th silence is 2 ts + td, the 5th-6th
# one 0.35-1.3 s). Medium: 3 pulses. Low: 2 pulses, played once.
_HP_TD, _HP_TS = 0.15, 0.10
_MP_TD, _MP_TS = 0.20, 0.20
_LP_TD, _LP_TS = 0.20, 0.20
_HP_GROUP_GAP = 2 * _HP_TS + _HP_TD
_HP_HALF_GAP = 0.50

SIGNALS: Mapping[AlarmPriority, PrioritySignals] = MappingProxyType({
    AlarmPriority.HIGH: PrioritySignals(
        AlarmPriority.HIGH,
        VisualSignal("red", "#E0201B", flash_hz=2.0, duty_cycle=0.5),
        _burst(660.0, _HP_TD, (_HP_TS, _HP_TS, _HP_GROUP_GAP, _HP_TS, _HP_HALF_GAP,
                               _HP_TS, _HP_TS, _HP_GROUP_GAP, _HP_TS), inter_burst_interval_s=4.0),
        latching=True,
    ),
    AlarmPriority.MEDIUM: PrioritySignals(
        AlarmPriority.MEDIUM,
        VisualSignal("yellow", "#FFC20E", flash_hz=0.6, duty_cycle=0.5),
        _burst(523.0, _MP_TD, (_MP_TS, _MP_TS), inter_burst_interval_s=8.0),
        latching=False,
    ),
    AlarmPriority.LOW: PrioritySignals(
        AlarmPriority.LOW,
        VisualSignal("cyan", "#00B7EB", flash_hz=None),
        _burst(440.0, _LP_TD, (_LP_TS,), inter_burst_interval_s=None),
        latching=False,
    ),
})

#: The ranges IEC 60601-1-8 (tables for visual and auditory signals) allows; ``SIGNALS`` is tested against them.
IEC_VISUAL_FLASH_HZ: Mapping[AlarmPriority, tuple[float, float] | None] = MappingProxyType({
    AlarmPriority.HIGH: (1.4, 2.8), AlarmPriority.MEDIUM: (0.4, 0.8), AlarmPriority.LOW: None})
IEC_VISUAL_DUTY = (0.2, 0.6)
IEC_PULSES: Mapping[AlarmPriority, tuple[int, ...]] = MappingProxyType({
    AlarmPriority.HIGH: (10,), AlarmPriority.MEDIUM: (3,), AlarmPriority.LOW: (1, 2)})
IEC_PULSE_SPACING_S: Mapping[AlarmPriority, tuple[float, float]] = MappingProxyType({
    AlarmPriority.HIGH: (0.050, 0.125), AlarmPriority.MEDIUM: (0.125, 0.250), AlarmPriority.LOW: (0.125, 0.250)})
IEC_PULSE_DURATION_S: Mapping[AlarmPriority, tuple[float, float]] = MappingProxyType({
    AlarmPriority.HIGH: (0.075, 0.200), AlarmPriority.MEDIUM: (0.125, 0.250), AlarmPriority.LOW: (0.125, 0.250)})
IEC_HP_HALF_GAP_S = (0.35, 1.30)
#: None as upper bound: no maximum. LOW: more than 15 s, or no repeat at all.
IEC_INTER_BURST_S: Mapping[AlarmPriority, tuple[float, float | None]] = MappingProxyType({
    AlarmPriority.HIGH: (2.5, 15.0), AlarmPriority.MEDIUM: (2.5, 30.0), AlarmPriority.LOW: (15.0, None)})
IEC_FUNDAMENTAL_HZ = (150.0, 1000.0)


# --- alarms, log entries, visual state ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alarm:
    """A snapshot of one alarm; the manager replaces it on every change (callers cannot mutate it).

    ``signal_since`` is when it last started signalling (raise or escalation): the
    flash phase starts there. ``raise_seq`` orders (re)raises, so an audio pause
    lets through exactly the alarms raised after it, even at the same time value.
    """

    alarm_id: int
    condition_id: str
    priority: AlarmPriority
    message: str
    raised_at: float
    signal_since: float
    raise_seq: int
    evidence: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    condition_present: bool = True
    acknowledged_at: float | None = None
    cleared_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def latched(self) -> bool:
        """Shown only because it latches: the condition is gone but nobody acknowledged it yet."""
        return not self.condition_present

    def as_record(self) -> dict[str, Any]:
        return {
            "alarm_id": self.alarm_id, "condition_id": self.condition_id, "priority": self.priority.value,
            "message": self.message, "raised_at": self.raised_at, "evidence": dict(self.evidence),
            "condition_present": self.condition_present, "acknowledged_at": self.acknowledged_at,
            "cleared_at": self.cleared_at,
        }


class AlarmEvent(str, enum.Enum):
    RAISED = "raised"
    ESCALATED = "escalated"  # same condition, higher priority: sounds again
    REASSERTED = "reasserted"  # a latched alarm's condition came back
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # the condition is gone (the alarm may stay, latched)
    ENDED = "ended"  # the alarm is no longer shown
    AUDIO_PAUSED = "audio_paused"
    AUDIO_RESUMED = "audio_resumed"


@dataclass(frozen=True, slots=True)
class AlarmLogEntry:
    """One line of the append-only alarm log. ``seq`` counts from 0 with no gaps."""

    seq: int
    t: float
    event: AlarmEvent
    alarm_id: int | None = None
    condition_id: str | None = None
    priority: AlarmPriority | None = None
    message: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_record(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "t": self.t, "event": self.event.value, "alarm_id": self.alarm_id,
            "condition_id": self.condition_id, "priority": self.priority.value if self.priority else None,
            "message": self.message, "detail": dict(self.detail),
        }


@dataclass(frozen=True, slots=True)
class VisualState:
    """What the alarm indicator shows at one instant: the highest active alarm's colour, lit or dark."""

    priority: AlarmPriority | None
    colour: str | None
    colour_hex: str | None
    flashing: bool
    lit: bool
    alarm_id: int | None
    message: str
    active_count: int


NO_ALARM = VisualState(None, None, None, flashing=False, lit=False, alarm_id=None, message="", active_count=0)

DEFAULT_AUDIO_PAUSE_S = 120.0


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _sort_key(alarm: Alarm) -> tuple[int, float, int]:
    return (-alarm.priority.rank, alarm.raised_at, alarm.alarm_id)


class AlarmManager:
    """The alarm system's state. See the module docstring for the rules; every method takes ``now``."""

    def __init__(self, signals: Mapping[AlarmPriority, PrioritySignals] = SIGNALS) -> None:
        self.signals = signals
        self._lock = threading.Lock()
        self._visible: dict[int, Alarm] = {}
        self._by_condition: dict[str, int] = {}
        self._log: list[AlarmLogEntry] = []
        self._next_id = 1
        self._raise_seq = 0
        self._last_t = -math.inf
        self._pause_until: float | None = None
        self._pause_seq = 0

    # --- helpers (lock held) ---------------------------------------------------------

    def _stamp(self, now: float) -> float:
        if not math.isfinite(now):
            raise ValueError(f"alarm time must be a finite number of seconds, got {now!r}")
        self._last_t = max(now, self._last_t)
        return self._last_t

    def _append(self, t: float, event: AlarmEvent, alarm: Alarm | None = None, **detail: Any) -> None:
        self._log.append(AlarmLogEntry(
            seq=len(self._log), t=t, event=event,
            alarm_id=alarm.alarm_id if alarm else None,
            condition_id=alarm.condition_id if alarm else None,
            priority=alarm.priority if alarm else None,
            message=alarm.message if alarm else "",
            detail=_frozen(detail),
        ))

    def _next_raise_seq(self) -> int:
        self._raise_seq += 1
        return self._raise_seq

    def _store(self, alarm: Alarm) -> Alarm:
        self._visible[alarm.alarm_id] = alarm
        self._by_condition[alarm.condition_id] = alarm.alarm_id
        return alarm

    def _end(self, alarm: Alarm, t: float) -> None:
        del self._visible[alarm.alarm_id]
        del self._by_condition[alarm.condition_id]
        self._append(t, AlarmEvent.ENDED, alarm)

    def _paused(self, now: float) -> bool:
        return self._pause_until is not None and now < self._pause_until

    def _sounding(self, now: float) -> list[Alarm]:
        paused = self._paused(now)
        return sorted((a for a in self._visible.values()
                       if not a.acknowledged and (not paused or a.raise_seq > self._pause_seq)), key=_sort_key)

    # --- intents -----------------------------------------------------------------------

    def raise_alarm(self, condition_id: str, priority: AlarmPriority, message: str, now: float,
                    evidence: Mapping[str, Any] | None = None) -> Alarm:
        """Signal a condition; returns its alarm (the existing one if the condition is already shown).

        Cheap to call on every sample while the condition lasts: a repeat at the same
        or a lower priority changes nothing and writes nothing to the log.
        """
        priority = AlarmPriority(priority)
        with self._lock:
            t = self._stamp(now)
            existing_id = self._by_condition.get(condition_id)
            if existing_id is not None:
                existing = self._visible[existing_id]
                if priority.rank > existing.priority.rank:
                    alarm = self._store(replace(
                        existing, priority=priority, message=message, evidence=_frozen(evidence),
                        signal_since=t, raise_seq=self._next_raise_seq(), condition_present=True,
                        acknowledged_at=None, cleared_at=None))
                    self._append(t, AlarmEvent.ESCALATED, alarm, previous=existing.priority.value,
                                 evidence=dict(alarm.evidence))
                    return alarm
                if not existing.condition_present:
                    # the condition came back: a new signal (new text and time; it breaks through an
                    # audio pause and sounds again even if the latched one was acknowledged)
                    alarm = self._store(replace(
                        existing, condition_present=True, cleared_at=None, message=message,
                        evidence=_frozen(evidence), signal_since=t, raise_seq=self._next_raise_seq(),
                        acknowledged_at=None))
                    self._append(t, AlarmEvent.REASSERTED, alarm)
                    return alarm
                return existing
            alarm = self._store(Alarm(
                alarm_id=self._next_id, condition_id=condition_id, priority=priority, message=message,
                raised_at=t, signal_since=t, raise_seq=self._next_raise_seq(), evidence=_frozen(evidence)))
            self._next_id += 1
            self._append(t, AlarmEvent.RAISED, alarm, evidence=dict(alarm.evidence))
            return alarm

    def clear(self, condition_id: str, now: float) -> Alarm | None:
        """The condition is gone. A latching, unacknowledged alarm stays; others end. None if not shown."""
        with self._lock:
            alarm_id = self._by_condition.get(condition_id)
            if alarm_id is None or not self._visible[alarm_id].condition_present:
                return None
            t = self._stamp(now)
            alarm = self._store(replace(self._visible[alarm_id], condition_present=False, cleared_at=t))
            latches = self.signals[alarm.priority].latching and not alarm.acknowledged
            self._append(t, AlarmEvent.CLEARED, alarm, latched=latches)
            if not latches:
                self._end(alarm, t)
            return alarm

    def acknowledge(self, alarm_id: int, now: float) -> Alarm | None:
        """Stop this alarm sounding; it ends if its condition is gone. None if it is not shown."""
        with self._lock:
            alarm = self._visible.get(alarm_id)
            if alarm is None:
                return None
            if alarm.acknowledged:
                return alarm
            t = self._stamp(now)
            alarm = self._store(replace(alarm, acknowledged_at=t))
            self._append(t, AlarmEvent.ACKNOWLEDGED, alarm, condition_present=alarm.condition_present)
            if not alarm.condition_present:
                self._end(alarm, t)
            return alarm

    def acknowledge_all(self, now: float) -> tuple[Alarm, ...]:
        """Acknowledge every shown alarm not yet acknowledged (the one "acknowledge" button)."""
        with self._lock:
            ids = [a.alarm_id for a in sorted(self._visible.values(), key=_sort_key) if not a.acknowledged]
        done = (self.acknowledge(i, now) for i in ids)
        return tuple(a for a in done if a is not None)

    def pause_audio(self, now: float, duration_s: float = DEFAULT_AUDIO_PAUSE_S) -> float:
        """Silence what sounds now for ``duration_s`` (restarting any running pause). Returns the end time.

        Visual signals are untouched; alarms raised or escalated after this call sound anyway.
        """
        if not (math.isfinite(duration_s) and duration_s > 0):
            raise ValueError(f"audio pause must last a positive number of seconds, got {duration_s!r}")
        with self._lock:
            t = self._stamp(now)
            self._pause_until = t + duration_s
            self._pause_seq = self._raise_seq
            self._append(t, AlarmEvent.AUDIO_PAUSED, duration_s=duration_s, until=self._pause_until)
            return self._pause_until

    def resume_audio(self, now: float) -> bool:
        """End an audio pause early. Returns False (and logs nothing) when no pause was running."""
        with self._lock:
            if not self._paused(now):
                return False
            t = self._stamp(now)
            self._pause_until = None
            self._append(t, AlarmEvent.AUDIO_RESUMED)
            return True

    # --- queries -----------------------------------------------------------------------

    def active(self, now: float) -> tuple[Alarm, ...]:
        """Every shown alarm: HIGH first, then MEDIUM, then LOW; within a priority the oldest first.

        ``now`` is taken for a uniform API; visibility does not depend on time.
        """
        with self._lock:
            return tuple(sorted(self._visible.values(), key=_sort_key))

    def highest(self, now: float) -> Alarm | None:
        """The alarm the banner shows: first of ``active``."""
        shown = self.active(now)
        return shown[0] if shown else None

    def get(self, alarm_id: int) -> Alarm | None:
        with self._lock:
            return self._visible.get(alarm_id)

    def sounding(self, now: float) -> tuple[Alarm, ...]:
        """Alarms whose audio should be heard now (not acknowledged, not paused or newer than the pause)."""
        with self._lock:
            return tuple(self._sounding(now))

    def audio_should_sound(self, now: float) -> bool:
        with self._lock:
            return bool(self._sounding(now))

    def audio_priority(self, now: float) -> AlarmPriority | None:
        """The priority whose pattern (``signals[p].audio``) the sound generator should play, or None."""
        with self._lock:
            sounding = self._sounding(now)
            return sounding[0].priority if sounding else None

    def audio_paused_remaining(self, now: float) -> float:
        """Seconds left in the audio pause (0.0 when not paused), for the countdown on screen."""
        with self._lock:
            return max(0.0, self._pause_until - now) if self._paused(now) else 0.0

    def visual_state(self, now: float) -> VisualState:
        """The indicator at ``now``: colour of the highest alarm, flashing from when it started signalling."""
        with self._lock:
            shown = sorted(self._visible.values(), key=_sort_key)
        if not shown:
            return NO_ALARM
        top = shown[0]
        visual = self.signals[top.priority].visual
        return VisualState(
            priority=top.priority, colour=visual.colour, colour_hex=visual.colour_hex,
            flashing=visual.flash_hz is not None, lit=visual.lit_at(now - top.signal_since),
            alarm_id=top.alarm_id, message=top.message, active_count=len(shown))

    @property
    def log(self) -> tuple[AlarmLogEntry, ...]:
        """The whole log, oldest first (a copy: the log itself only grows)."""
        with self._lock:
            return tuple(self._log)

    def log_since(self, seq: int) -> tuple[AlarmLogEntry, ...]:
        """Entries with ``entry.seq >= seq``: lets the record writer drain the log incrementally."""
        with self._lock:
            return tuple(self._log[max(seq, 0):])
