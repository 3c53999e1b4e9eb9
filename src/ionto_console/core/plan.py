"""SessionPlan: what the therapist chose before a treatment starts.

WHY in core/: the treatment desk builds sessions from it and the session
recorder writes it into the record; both are in control/ and neither should
import the other to know its shape. A plain value type with no I/O belongs
beside the protocol it carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .protocols import Protocol


@dataclass(frozen=True)
class SessionPlan:
    """What the therapist chose before starting."""

    protocol: Protocol
    patient_id: str
    patient_name: str
    site: str
    electrode: str
    checklist_passed: bool
    checklist_record: dict
    date_of_birth: dt.date | None = None
    patient_notes: str = ""
    #: "left", "right", "both" or "" (a site without sides).
    side: str = ""
    #: ICD-10 code of the indication (billing, FHIR reason); "" when none was chosen.
    diagnosis_code: str = ""
    #: The earlier run whose prescription this run continues (after an interruption), and the
    #: dose left of it: this run's target instead of the protocol's.
    continues_session_id: int | None = None
    dose_target_ma_min: float | None = None
    #: The second account that co-signed a contraindication override (where the clinic requires it).
    cosigned_by: str = ""

    def engine_protocol(self) -> Protocol:
        """The protocol the engine runs: the prescription's remainder when continuing."""
        if self.dose_target_ma_min is None:
            return self.protocol
        return self.protocol.model_copy(update={"dose_target_ma_min": self.dose_target_ma_min})
