"""Continuing an interrupted prescription: how much dose a new run may take over.

WHY: after an electrode lift the new run targeted a fresh 0/40 mA·min and the
0.5 already delivered was forgotten (the patient would get 40.5). A run that
was interrupted (a safety check tripped, the board or the record was lost)
with dose left may be followed by
a run that delivers only the remainder of the same prescription, and the
record links the two runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .session import SessionState

#: Less than this left (mA·min) is not worth a new run (it would end during its ramp).
MIN_REMAINING_MA_MIN = 0.05
#: Interruptions (a safety check or a lost board or record): the prescription may be completed.
#: Not a stop: a side effect or STOP is the therapist's decision, and a new run after it is a
#: new session that the checklist (and its corticosteroid rule) judges afresh.
ENDED_EARLY = (SessionState.FAULTED, SessionState.INTERRUPTED)


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
                       delivered_ma_min: float, target_ma_min: float, dose_final: bool) -> Continuation | None:
    """What the next run may continue, or None: only an interrupted run, whose final dose is
    known (the board reported its output off), with dose left, and that was recorded."""
    if state not in ENDED_EARLY or session_id is None or not dose_final:
        return None
    offer = Continuation(session_id, patient_id, protocol_id, delivered_ma_min, target_ma_min)
    return offer if offer.remaining_ma_min >= MIN_REMAINING_MA_MIN else None
