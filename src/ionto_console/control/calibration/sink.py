"""Where finished calibration results are kept: a sink, like the treatment's session sink.

WHY a sink: the runner measures, it does not know about databases; whoever
shows the run (the wizard, ``ionto-cal``) hands the result to a sink. The
records sink holds ONE connection for all the results it stores (opened on
the first result, not per result) and may be called from any thread, so a
worker can save the record off the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Protocol

from ...core.calibration import CalibrationResult

if TYPE_CHECKING:  # records/ is imported when a result is first stored: a CLI run with --no-record never loads it
    from ...records import Database


def stored_words(result: CalibrationResult) -> str:
    """Where a kept result now is, in plain words (not a row number: issue 14 found "stored as
    calibration 1" on the engineer's screen). A simulated result is only ever kept in the demo's
    records (``records.store.refuse_simulated_in_clinic``), so it says so."""
    when = result.finished_at or result.started_at
    day = when.astimezone(dt.timezone.utc).date().isoformat() if when.tzinfo else when.date().isoformat()
    where = "the demo's records" if result.simulated else "the clinic's records"
    return f"Stored in {where} on {day}"


class CalibrationSink(Protocol):
    """Keeps a finished result; returns one line saying where (or why not) for the engineer."""

    def store(self, result: CalibrationResult) -> str: ...


class RecordsCalibrationSink:
    """Stores results in the records database at ``database_url`` (None: the default location).

    Failures are reported in the returned line, never raised: the result files
    (JSON, certificate) stand on their own. Thread-safe."""

    def __init__(self, database_url: str | None = None, *, db: "Database | None" = None,
                 who: str | None = None) -> None:
        """``who``: the signed-in account's user name, for the audit trail (the result carries the
        printed full name for the certificate)."""
        self._url = database_url
        self._who = who
        self._db = db
        self._owns_db = db is None
        self._lock = threading.Lock()

    def store(self, result: CalibrationResult) -> str:
        from ...records import RecordsError, open_database, record_calibration

        with self._lock:
            try:
                if self._db is None:
                    self._db = open_database(self._url)
                record_calibration(self._db, result.model_dump(mode="json"), who=self._who or result.engineer)
            except RecordsError as exc:
                return f"NOT stored in the records ({exc}): keep the JSON and PDF files."
        return stored_words(result)

    def audit_head(self) -> str:
        """The records' audit head (``#seq`` + 16 hex digits) for a certificate footer; "" if unreadable.

        Asked after ``store``, it is the head that covers the stored result."""
        from ...records import RecordsError, open_database
        from ...records.audit import current_head

        with self._lock:
            try:
                if self._db is None:
                    self._db = open_database(self._url)
                return current_head(self._db)
            except RecordsError:
                return ""

    def close(self) -> None:
        """Close the connection this sink opened (one it was given stays with its owner)."""
        with self._lock:
            db, self._db = self._db, None
            if db is not None and self._owns_db:
                db.close()


def store_calibration_result(result: CalibrationResult, database_url: str | None, *, who: str | None = None) -> str:
    """Keep one result in the records database (a one-shot sink: ``ionto-cal`` stores one result),
    audited as done by the signed-in account ``who``."""
    sink = RecordsCalibrationSink(database_url, who=who)
    try:
        return sink.store(result)
    finally:
        sink.close()


def records_audit_head(database_url: str | None) -> str:
    """The records' audit head for a certificate footer ("" when the records cannot be read)."""
    sink = RecordsCalibrationSink(database_url)
    try:
        return sink.audit_head()
    finally:
        sink.close()
