"""Billing summary: CPT 97033 units and a coverage note after payer guideline CG-MED-28.

Units rule (documented, tested at every boundary): CPT 97033 is billed per
15 minutes of attended (constant-attendance) iontophoresis. Attended minutes
are the session's wall time from start to end, in WHOLE minutes (seconds
are dropped, so a session is never rounded up into a unit it did not earn).
Units follow the CMS "8-minute rule" for a single timed service:

    minutes  0-7 -> 0 units     8-22 -> 1     23-37 -> 2     38-52 -> 3 ...
    units = 0 if minutes < 8 else (minutes - 8) // 15 + 1

Coverage note (CG-MED-28, Iontophoresis): this is a flag for the billing
clerk, never a decision. Medically necessary for local anesthesia before
venipuncture or a dermatologic procedure; for hyperhidrosis (ICD-10
L74.510-L74.519, L74.52, R61) only when prescription-strength
antiperspirants failed AND there is a complication (maceration, secondary
infection) or significant functional impairment. Not medically necessary for
NSAIDs or corticosteroids in inflammatory musculoskeletal disorders, nor for
temporomandibular disorders. Anything else is "not addressed".

Coverage answers (recorded with the session as ``coverage_answers``):
``indication`` (one of ``INDICATIONS``), ``prescription_antiperspirant_failed``
(bool), ``complication`` ("maceration", "secondary_infection" or false),
``significant_functional_impairment`` (bool), optionally ``drug_class``
("nsaid", "corticosteroid", ...; else taken from the protocol copy).
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy import select

from ..core.corticosteroids import is_corticosteroid
from ..core.indications import purpose_of
from .database import Database
from .models import Patient, ProtocolCopy, TreatmentSession
from .queries import day_bound
from .safe_text import csv_writer, safe_row
from .store import RUNNING, effective_value

CPT_IONTOPHORESIS = "97033"
CPT_DISPLAY = "Iontophoresis, each 15 minutes (constant attendance)"
GUIDELINE = "CG-MED-28"
MINUTES_PER_UNIT = 15
MIN_MINUTES_FOR_UNIT = 8

INDICATIONS = (
    "venipuncture_anesthesia",
    "dermatologic_procedure_anesthesia",
    "hyperhidrosis",
    "inflammatory_musculoskeletal",
    "temporomandibular_disorder",
    "other",
)
_HYPERHIDROSIS_CODE = re.compile(r"^(L74\.51[0-9]|L74\.52|R61)$")
_TMD_CODE = re.compile(r"^M26\.6")
_MSK_CODE = re.compile(r"^M[0-9]")
COMPLICATIONS = ("maceration", "secondary_infection")


def billable_minutes(duration_s: float) -> int:
    """Whole attended minutes (seconds dropped)."""
    return max(0, int(duration_s // 60))


def cpt_units(minutes: int) -> int:
    """CPT 97033 units by the 8-minute rule (see module docstring)."""
    if minutes < MIN_MINUTES_FOR_UNIT:
        return 0
    return (minutes - MIN_MINUTES_FOR_UNIT) // MINUTES_PER_UNIT + 1


def is_hyperhidrosis_code(code: str) -> bool:
    return bool(_HYPERHIDROSIS_CODE.match(code.strip().upper()))


class Coverage(str, enum.Enum):
    MEDICALLY_NECESSARY = "medically_necessary"
    NOT_MEDICALLY_NECESSARY = "not_medically_necessary"
    CRITERIA_NOT_MET = "criteria_not_met"
    NOT_ADDRESSED = "not_addressed"


@dataclass(frozen=True)
class CoverageNote:
    status: Coverage
    reason: str
    guideline: str = GUIDELINE

    @property
    def flagged(self) -> bool:
        """True when the clerk should not bill without review."""
        return self.status is not Coverage.MEDICALLY_NECESSARY


def _indication(code: str, answers: Mapping[str, Any], protocol: Mapping[str, Any] | None = None) -> str | None:
    """The guideline category: as answered, else as the code says, else what the code stands for with
    this protocol (``core.indications``: an anaesthesia code before venipuncture is covered)."""
    given = answers.get("indication")
    if given:
        return str(given)
    if is_hyperhidrosis_code(code):
        return "hyperhidrosis"
    if _TMD_CODE.match(code):
        return "temporomandibular_disorder"
    return purpose_of(code, protocol) if code else None


def assess_coverage(diagnosis_code: str, answers: Mapping[str, Any],
                    protocol: Mapping[str, Any] | None = None) -> CoverageNote:
    """The CG-MED-28 coverage note for one session (see module docstring for the rules and answer keys)."""
    code = (diagnosis_code or "").strip().upper()
    indication = _indication(code, answers, protocol)
    drug = answers.get("drug_class") or ("corticosteroid" if protocol and is_corticosteroid(protocol) else None)
    C = Coverage
    if indication == "venipuncture_anesthesia":
        return CoverageNote(C.MEDICALLY_NECESSARY, "Local anesthesia before venipuncture.")
    if indication == "dermatologic_procedure_anesthesia":
        return CoverageNote(C.MEDICALLY_NECESSARY, "Local anesthesia before a dermatologic procedure.")
    if indication == "temporomandibular_disorder" or _TMD_CODE.match(code):
        return CoverageNote(C.NOT_MEDICALLY_NECESSARY, "Temporomandibular disorders: not medically necessary.")
    if indication == "inflammatory_musculoskeletal" or (indication is None and _MSK_CODE.match(code)):
        if drug in ("nsaid", "corticosteroid"):
            return CoverageNote(C.NOT_MEDICALLY_NECESSARY,
                                f"{'NSAID' if drug == 'nsaid' else 'Corticosteroid'} iontophoresis for an inflammatory "
                                "musculoskeletal disorder: not medically necessary.")
        return CoverageNote(C.NOT_ADDRESSED, "Musculoskeletal indication with an agent the guideline does not address.")
    if indication == "hyperhidrosis":
        if not is_hyperhidrosis_code(code):
            return CoverageNote(C.CRITERIA_NOT_MET, f"Diagnosis code {code or '(none)'} is not a covered hyperhidrosis "
                                "code (L74.510-L74.519, L74.52, R61).")
        failed = answers.get("prescription_antiperspirant_failed")
        complication = answers.get("complication")
        impairment = answers.get("significant_functional_impairment")
        unanswered = [name for name, value in (("prescription_antiperspirant_failed", failed),
                                               ("complication", complication),
                                               ("significant_functional_impairment", impairment)) if value is None]
        if failed is True and (complication in COMPLICATIONS or complication is True or impairment is True):
            why = (f"complication: {str(complication).replace('_', ' ')}" if complication not in (None, False)
                   else "significant functional impairment")
            return CoverageNote(C.MEDICALLY_NECESSARY,
                                f"Hyperhidrosis ({code}); prescription-strength antiperspirants failed; {why}.")
        if failed is not True:
            reason = ("Not recorded whether prescription-strength antiperspirants failed."
                      if failed is None else "Prescription-strength antiperspirants have not failed.")
        else:
            reason = "Neither a complication (maceration, secondary infection) nor significant functional impairment"
            reason += " recorded." if not unanswered else f" (unanswered: {', '.join(unanswered)})."
        return CoverageNote(C.CRITERIA_NOT_MET, f"Hyperhidrosis: {reason}")
    if not code and indication is None:
        return CoverageNote(C.NOT_ADDRESSED, "No diagnosis code or indication entered.")
    return CoverageNote(C.NOT_ADDRESSED, f"{GUIDELINE} does not address this indication; check the payer's policy.")


@dataclass(frozen=True)
class BillingLine:
    session_id: int
    session_uid: str
    date: dt.date
    patient_identifier: str
    patient_name: str
    operator: str
    state: str
    minutes: int
    units: int
    cpt: str
    diagnosis_code: str
    coverage: CoverageNote


def billing_line(ts: TreatmentSession, patient: Patient, protocol: ProtocolCopy) -> BillingLine:
    duration = (ts.ended_at - ts.started_at).total_seconds() if ts.ended_at else 0.0
    minutes = billable_minutes(duration)
    code = str(effective_value(ts, "diagnosis_code"))
    answers = effective_value(ts, "coverage_answers")
    return BillingLine(ts.id, ts.uid, ts.started_at.date(), patient.identifier, patient.name, ts.operator, ts.state,
                       minutes, cpt_units(minutes), CPT_IONTOPHORESIS, code,
                       assess_coverage(code, answers, protocol.content))


def billing_summary(db: Database, date_from: dt.date | dt.datetime, date_to: dt.date | dt.datetime
                    ) -> list[BillingLine]:
    """One line per closed session started in the period (inclusive dates, UTC days), oldest first.

    Sessions on the simulated board are left out: nobody is billed for a demo."""
    with db.read() as s:
        rows = s.execute(select(TreatmentSession, Patient, ProtocolCopy)
                         .join(Patient, TreatmentSession.patient_id == Patient.id)
                         .join(ProtocolCopy, TreatmentSession.protocol_copy_id == ProtocolCopy.id)
                         .where(TreatmentSession.started_at >= day_bound(date_from),
                                TreatmentSession.started_at < day_bound(date_to, end=True),
                                TreatmentSession.state != RUNNING,
                                TreatmentSession.simulated.is_(False))
                         .order_by(TreatmentSession.started_at, TreatmentSession.id)).all()
        return [billing_line(ts, p, pc) for ts, p, pc in rows]


BILLING_COLUMNS = ("session_uid", "date", "patient_identifier", "patient_name", "operator", "state", "cpt",
                   "attended_minutes", "units", "diagnosis_code", "coverage", "coverage_reason")


def billing_csv(lines: Sequence[BillingLine]) -> str:
    """The summary as CSV text (one row per session, then a total row)."""
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(BILLING_COLUMNS)
    for line in lines:  # every text cell spreadsheet-safe: names, codes and reasons are typed by people
        writer.writerow(safe_row((line.session_uid, line.date.isoformat(), line.patient_identifier, line.patient_name,
                         line.operator, line.state, line.cpt, line.minutes, line.units, line.diagnosis_code,
                         line.coverage.status.value, line.coverage.reason)))
    writer.writerow(("TOTAL", "", "", "", "", "", CPT_IONTOPHORESIS, sum(x.minutes for x in lines),
                     sum(x.units for x in lines), "", "", ""))
    return out.getvalue()
