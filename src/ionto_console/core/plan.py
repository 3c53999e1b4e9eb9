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
    #: The second account that co-signed a contraindication override (where the clinic requires it).
    cosigned_by: str = ""
