"""Continuing an interrupted prescription: which endings may be continued, and how much dose is left.

WHY: after an electrode lift the new run targeted a fresh 0/40 mA·min and the
0.5 already delivered was forgotten (the patient would get 40.5). A run that
ended early for a cause the therapist can put right at the bedside may be
followed by a run that delivers only the remainder of the same prescription,
and the record links the two runs.

Which endings (``may_continue``), as a clinic would judge them:

- Continued: the electrode lost contact (``open_circuit``: re-seat or re-wet
  the electrode) and the voltage limit was reached (``compliance``: the skin's
  resistance was too high for the current; wet the skin or the trays, check
  the contact). Both are about the contact between electrode and skin, not
  about the patient's tolerance or the device: once the cause is fixed the
  prescription is the same, and starting it afresh would over-dose. The link or
  the console lost (``interrupted``, ``lost_telemetry``): the board cut the
  output itself and the delivered dose is on record.
- Not continued: a stop (STOP, a side effect) is the therapist's or the
  patient's decision; a falling or too low impedance may be the skin breaking
  down (look at the skin first); an over-current, a current that deviates, the
  board's own fault, a reversed polarity, a clock jump or a lost output mean the
  device misbehaved and must be checked; the dose cap means nothing is left.
  A new run after those is a new session that the checklist judges afresh.
- Only on the day the run ended (a later day is a new visit with a new
  checklist), and only the patient's latest run.

The same rule holds whether the run ended in this console's memory or is read
back from the records after a restart (``control.patient_history``), so the
offer survives a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .session import SessionState

#: Less than this left (mA·min) is not worth a new run (it would end during its ramp).
MIN_REMAINING_MA_MIN = 0.05
#: The states a run can end early in: a safety check or a lost board or record (not a stop).
ENDED_EARLY = (SessionState.FAULTED, SessionState.INTERRUPTED)
#: The trips (``core.interlocks.TripKind`` values) whose cause is fixed at the bedside or is not the
#: patient's nor the output's: the rest of the prescription may be given (see the module docstring).
CONTINUABLE_TRIPS = frozenset({"open_circuit", "compliance", "lost_telemetry"})


def may_continue(state: SessionState, trip: str | None) -> bool:
    """May a run that ended in ``state``, cut by the trip of kind ``trip`` (None: no trip), be continued?

    An interrupted run without a trip (the console closed or was killed, the record lost) may be."""
    if state is SessionState.INTERRUPTED:
        return trip is None or trip in CONTINUABLE_TRIPS
    return state is SessionState.FAULTED and trip in CONTINUABLE_TRIPS


def recorded_cut(events: Iterable[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The kind of the trip that cut a recorded run's output: its last event "trip:<kind>" whose
    evidence says ``action`` CUT (as ``control.session_recorder`` records trips), or None."""
    cut = None
    for kind, evidence in events:
        head, _, trip = kind.partition(":")
        if head == "trip" and evidence.get("action") == "CUT":
            cut = trip
    return cut


@dataclass(frozen=True)
class Continuation:
    """The rest of an earlier run's prescription, offered for the next run."""

    session_id: int
    patient_id: str
    protocol_id: str
    delivered_ma_min: float
    target_ma_min: float

    @property
    def remaining_ma_min(self) -> float:
        return max(self.target_ma_min - self.delivered_ma_min, 0.0)

    @property
    def text(self) -> str:
        return (f"Continue the interrupted run: the remaining {self.remaining_ma_min:.1f} of "
                f"{self.target_ma_min:g} mA·min ({self.delivered_ma_min:.1f} already delivered)")


def continuation_after(state: SessionState, session_id: int | None, patient_id: str, protocol_id: str,
                       delivered_ma_min: float, target_ma_min: float, dose_final: bool, *,
                       trip: str | None) -> Continuation | None:
    """What the next run may continue, or None: only a run that ``may_continue``, whose final dose is
    known (the board reported its output off, or the record was closed), with dose left, and that was
    recorded. ``delivered_ma_min`` counts every run of the prescription so far."""
    if not may_continue(state, trip) or session_id is None or not dose_final:
        return None
    offer = Continuation(session_id, patient_id, protocol_id, delivered_ma_min, target_ma_min)
    return offer if offer.remaining_ma_min >= MIN_REMAINING_MA_MIN else None


def delivered_before(prescription_target_ma_min: float, run_target_ma_min: float | None) -> float:
    """What the earlier runs of a continued prescription delivered: the prescription's target less the
    continuing run's own (0 for a first run, whose ``run_target_ma_min`` is None or the whole target).

    WHY: a continued run's readout said "Dose (of 39.8353 mA·min)" and counted from 0; the therapist
    reads the prescription's progress ("0.5 of 40"), while the record keeps each run's own dose."""
    if run_target_ma_min is None:
        return 0.0
    return max(prescription_target_ma_min - run_target_ma_min, 0.0)
