"""Calibration and verification results as records: every point, the instruments, the verdict.

The certificate PDF is one view of a calibration; this row is the record a
clinic keeps (and audits) beside its treatment sessions. The full result is
stored as JSON with its SHA-256, so the certificate can be regenerated and a
changed row shows in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import JSON, Boolean, Date, String, false, select
from sqlalchemy.orm import Mapped, mapped_column

from .audit import append_audit, canonical_json
from .database import Database
from .models import Base, UTCDateTime
from .store import refuse_simulated_in_clinic


class CalibrationRecord(Base):
    __tablename__ = "calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    board_serial: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(20))
    engineer: Mapped[str] = mapped_column(String(100))
    performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    written: Mapped[bool] = mapped_column(Boolean)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    #: Measured on the simulated bench (only ever in a demo database; see ``records.demo``).
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


@dataclass(frozen=True)
class CalibrationInfo:
    id: int
    board_serial: str
    mode: str
    verdict: str
    engineer: str
    performed_at: dt.datetime
    due_date: dt.date | None
    written: bool
    result: dict[str, Any]
    simulated: bool = False


def record_calibration(db: Database, result: Mapping[str, Any], *, who: str) -> int:
    """Store one calibration/verification result (``CalibrationResult.model_dump(mode="json")``)."""
    text = canonical_json(dict(result))
    started = result.get("finished_at") or result.get("started_at")
    performed = dt.datetime.fromisoformat(started) if started else dt.datetime.now(dt.timezone.utc)
    if performed.tzinfo is None:
        performed = performed.replace(tzinfo=dt.timezone.utc)
    due = result.get("due_date")
    simulated = bool(result.get("simulated", False))
    with db.write() as s:
        refuse_simulated_in_clinic(s, simulated, str(result.get("board_serial", "")), "calibration")
        row = CalibrationRecord(
            board_serial=str(result.get("board_serial", "")), mode=str(result.get("mode", "")),
            verdict=str(result.get("verdict", "")), engineer=str(result.get("engineer", "")),
            performed_at=performed, due_date=dt.date.fromisoformat(due) if due else None,
            written=bool(result.get("written", False)), result=dict(result),
            sha256=hashlib.sha256(text.encode()).hexdigest(), simulated=simulated,
        )
        s.add(row)
        s.flush()
        append_audit(s, who=who, action="add", entity="calibration", entity_id=row.id,
                     after={"board_serial": row.board_serial, "mode": row.mode, "verdict": row.verdict,
                            "written": row.written, "sha256": row.sha256, "simulated": row.simulated},
                     why=f"{row.mode} of board {row.board_serial}")
        return row.id


def calibrations_of(db: Database, board_serial: str) -> list[CalibrationInfo]:
    """A board's calibration history, newest first."""
    with db.read() as s:
        rows = s.scalars(select(CalibrationRecord).where(CalibrationRecord.board_serial == board_serial)
                         .order_by(CalibrationRecord.performed_at.desc(), CalibrationRecord.id.desc()))
        return [CalibrationInfo(r.id, r.board_serial, r.mode, r.verdict, r.engineer, r.performed_at, r.due_date,
                                r.written, dict(r.result), r.simulated) for r in rows]
