"""The indications (ICD-10) offered before Start for a protocol, each with the coverage guideline's verdict.

WHY here: which codes a protocol is used for has one home (``core/indications.py``);
the coverage rule has another (``records/billing.py``, ``assess_coverage``). The
set-up screen cannot import records, so it asks here and shows the verdict beside
each choice ("not medically necessary" flagged).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.indications import Indication, all_indications, indications_for, purpose_of
from ..core.protocols import Protocol
from ..records import assess_coverage
from ..records.billing import Coverage, is_hyperhidrosis_code

#: Shown after a code the guideline calls not medically necessary.
NOT_NECESSARY_MARK = "(not medically necessary)"


@dataclass(frozen=True)
class IndicationChoice:
    """One line of the set-up's indication list."""

    code: str
    label: str
    #: The guideline calls this code not medically necessary with this protocol.
    flagged: bool
    #: One of the indications the protocol is used for (listed first); else another known code.
    own: bool = True


def _verdict(code: str, protocol: Protocol):
    purpose = purpose_of(code, protocol)
    return assess_coverage(code, {"indication": purpose} if purpose else {}, protocol.model_dump(mode="json"))


def indication_choices(protocol: Protocol) -> list[IndicationChoice]:
    """The protocol's indications (``core.indications``), the likeliest first, then the other known
    codes (``own`` False); those the guideline calls not medically necessary with this protocol are
    marked so in their label. Any other code may still be typed."""
    own = indications_for(protocol)
    mine = {indication.code for indication in own}
    rest = [indication for indication in all_indications() if indication.code not in mine]
    choices = []
    for indication, is_own in [(i, True) for i in own] + [(i, False) for i in rest]:
        flagged = _verdict(indication.code, protocol).status is Coverage.NOT_MEDICALLY_NECESSARY
        label = f"{indication.label}  {NOT_NECESSARY_MARK}" if flagged else indication.label
        choices.append(IndicationChoice(indication.code, label, flagged, is_own))
    return choices


def coverage_words(code: str, protocol: Protocol) -> tuple[str, bool]:
    """The guideline's verdict on ``code`` for this protocol in a few words, and whether it is a flag
    (not medically necessary, or a code the guideline does not cover)."""
    code = code.strip().upper()
    if not code:
        return "No indication chosen: billing will lack a diagnosis.", True
    note = _verdict(code, protocol)
    if note.status is Coverage.NOT_MEDICALLY_NECESSARY:
        return f"Flagged: {note.reason}", True
    if note.status is Coverage.MEDICALLY_NECESSARY:
        return f"Medically necessary: {note.reason}", False
    if note.status is Coverage.CRITERIA_NOT_MET and is_hyperhidrosis_code(code):
        # the guideline's criteria (antiperspirants failed, a complication) are asked at billing
        return "Medically necessary when the guideline's criteria are met (asked at billing).", False
    return f"Flagged: {note.reason}", True


__all__ = ["Indication", "IndicationChoice", "NOT_NECESSARY_MARK", "coverage_words", "indication_choices"]
