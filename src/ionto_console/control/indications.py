"""The indications (ICD-10) offered before Start, each with the coverage guideline's verdict.

WHY here: the coverage rule has one home (``records/billing.py``,
``assess_coverage``); the set-up screen cannot import records, so it asks here
and shows the verdict beside the choice ("not medically necessary" flagged).
"""

from __future__ import annotations

from ..core.protocols import Protocol
from ..records import assess_coverage
from ..records.billing import Coverage

#: (code, words) offered in the set-up's list; the therapist may also type another code.
INDICATIONS: list[tuple[str, str]] = [
    ("L74.510", "Primary focal hyperhidrosis, axilla"),
    ("L74.511", "Primary focal hyperhidrosis, face"),
    ("L74.512", "Primary focal hyperhidrosis, palms"),
    ("L74.513", "Primary focal hyperhidrosis, soles"),
    ("L74.519", "Primary focal hyperhidrosis, unspecified"),
    ("L74.52", "Secondary focal hyperhidrosis"),
    ("R61", "Generalized hyperhidrosis"),
    ("M76.60", "Achilles tendinitis"),
    ("M77.10", "Lateral epicondylitis"),
    ("M72.2", "Plantar fasciitis"),
    ("M75.10", "Rotator cuff tendinitis"),
    ("M26.60", "Temporomandibular joint disorder"),
]


def coverage_words(code: str, protocol: Protocol) -> tuple[str, bool]:
    """The guideline's verdict on ``code`` for this protocol in a few words, and whether it is a flag
    (not medically necessary, or a code the guideline does not cover)."""
    code = code.strip().upper()
    if not code:
        return "No indication chosen: billing will lack a diagnosis.", True
    note = assess_coverage(code, {}, protocol.model_dump(mode="json"))
    if note.status is Coverage.NOT_MEDICALLY_NECESSARY:
        return f"Flagged: {note.reason}", True
    if code in {c for c, _ in INDICATIONS[:7]}:
        return "Medically necessary when the guideline's criteria are met (asked at billing).", False
    return f"Flagged: {note.reason}", True
