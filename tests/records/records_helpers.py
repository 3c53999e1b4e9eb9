"""Shared builders for the record tests (patients, protocol copies, session starts)."""

from __future__ import annotations

import datetime as dt
import json
import time
from importlib import resources
from typing import Any, Callable

from sqlalchemy import func, select

from ionto_console.records import Calibration, Database, PatientData, SessionStart, create_patient
from ionto_console.records.models import SampleChunk

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


def wait_until(predicate: Callable[[], bool], what: str, deadline_s: float) -> None:
    """Poll ``predicate`` until true; an AssertionError naming ``what`` after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def stored_samples(db: Database, session_id: int) -> int:
    """How many samples of the session are in the database."""
    with db.read() as s:
        return int(s.scalar(select(func.coalesce(func.sum(SampleChunk.n), 0))
                            .where(SampleChunk.session_id == session_id)))
