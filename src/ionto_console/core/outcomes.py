"""How a recorded session ended, in the words a therapist reads: the one home of those words.

WHY one home: the Records tab's list, its session summary, its search filter,
the course list and the PDF report each worded the outcome from the stored
state, as "STOPPED: Dizziness", "faulted" or "stopped" (new-user pass, issue
14). They now all ask here, so the screen and the filed page say the same.
The stored states (``records.store.FINAL_STATES``) stay as they are: they are
the record's vocabulary, for searches, exports and FHIR.

Qt-free and I/O-free.
"""

from __future__ import annotations

#: Each stored state in words ("faulted": a safety check, e.g. an interlock trip, stopped the output).
STATE_WORDS: dict[str, str] = {
    "complete": "Complete",
    "stopped": "Stopped",
    "faulted": "Stopped by a safety check",
    "interrupted": "Interrupted",
    "running": "Running",
}


def state_words(state: str) -> str:
    """A stored state in words; an unknown state is shown as stored, with a capital and spaces."""
    state = str(state)
    return STATE_WORDS.get(state, state.replace("_", " ").capitalize())


def outcome_words(state: str, reason: str = "") -> str:
    """The outcome as one line: "Stopped: dizziness", "Stopped by a safety check: open circuit", "Complete".

    The recorded reason keeps its words; only a capital that merely starts the sentence is lowered
    ("Dizziness" -> "dizziness"), an abbreviation ("ICD check") keeps its capitals."""
    words = state_words(state)
    reason = (reason or "").strip()
    if not reason:
        return words
    if len(reason) > 1 and reason[0].isupper() and not reason[1].isupper():
        reason = reason[0].lower() + reason[1:]
    return f"{words}: {reason}"
