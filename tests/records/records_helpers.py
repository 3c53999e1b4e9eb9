"""Shared builders for the record tests (patients, protocol copies, session starts)."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from ionto_console.records import Calibration, Database, PatientData, SessionStart, create_patient

UTC = dt.timezone.utc


def load_protocol(name: str) -> dict[str, Any]:
    text = resources.files("ionto_console.resources").joinpath("protocols", f"{name}.json").read_text("utf-8")
    return json.loads(text)


DEXA = "dexamethasone-4mgml-40"
TAP_WATER = "tap-water-hands-dc"
CAL = Calibration(gain=1.002, offset_ua=-1.5, date=dt.datetime(2026, 3, 1, tzinfo=UTC))


def new_patient(db: Database, identifier: str = "P-0001", name: str = "Ann Example") -> int:
    return create_patient(db, PatientData(identifier, name, dt.date(1980, 5, 17), "allergic to plasters"), who="dana")


def session_start(patient_id: int, protocol: str = DEXA, *, started_at: dt.datetime | None = None,
                  **extra: Any) -> SessionStart:
    return SessionStart(patient_id=patient_id, protocol=load_protocol(protocol), operator="dana",
                        station="station-1", board_serial="IONTO1-000042", calibration=CAL,
                        checklist={"pacemaker": False, "pregnant": False, "broken_skin": False,
                                   "informed": True}, started_at=started_at, **extra)



def account(db, username: str, display_name: str) -> str:
    """An active account to sign with (``support.account``; imported when called, so child processes
    that import this module without the tests folder on their path still can)."""
    from support import account as make

    return make(db, username, display_name)
