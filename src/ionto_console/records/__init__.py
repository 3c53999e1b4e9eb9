"""Durable session records: storage, sample writer, audit trail, queries, exports.

Start-up: ``db = open_database(url)`` (None = SQLite in the user data dir;
raises ``RecordsUnavailable``), then ``recover_interrupted(db)``.
A session: ``start_session`` -> ``SampleWriter(db, sid, on_error=...).start()``
-> ``add``/``add_event`` per sample/event -> ``writer.close()`` ->
``finish_session`` -> ``add_note`` / ``sign_session``.
Everything that writes a record appends to the hash-chained audit trail in
the same transaction; ``verify_audit(db)`` checks the chain.
"""

from .audit import AuditVerdict, audit_history, verify_audit
from .calibrations import CalibrationInfo, calibrations_of, record_calibration
from .billing import (
    BillingLine,
    Coverage,
    CoverageNote,
    assess_coverage,
    billable_minutes,
    billing_csv,
    billing_summary,
    cpt_units,
)
from .course import PatientCourses, course_view
from .database import Database, default_url, open_database, ping, sqlite_url
from .errors import InvalidRecord, RecordNotFound, RecordsError, RecordsUnavailable, RecordsWriteError
from .exports import events_csv, samples_csv, write_samples_csv
from .queries import SessionListItem, SessionSummary, find_patients, find_patients_born, patient_by_identifier, load_events, load_samples, load_session, search_sessions
from .report import report_data
from .samples import SampleSeries
from .store import (
    FINAL_STATES,
    Calibration,
    PatientData,
    SessionStart,
    add_note,
    amend_session,
    create_patient,
    finish_session,
    record_event,
    record_side_effect,
    recover_interrupted,
    sign_session,
    start_session,
    update_patient,
)
from .wire_log import load_wire_log, store_wire_log, write_wire_log
from .writer import SampleWriter, WriterReport

__all__ = [
    "load_wire_log",
    "store_wire_log",
    "write_wire_log",
    "AuditVerdict", "BillingLine", "CalibrationInfo", "calibrations_of", "record_calibration", "Calibration", "Coverage", "CoverageNote", "Database", "FINAL_STATES",
    "InvalidRecord", "PatientCourses", "PatientData", "RecordNotFound", "RecordsError", "RecordsUnavailable",
    "RecordsWriteError", "SampleSeries", "SampleWriter", "SessionListItem", "SessionStart", "SessionSummary",
    "WriterReport", "add_note", "amend_session", "assess_coverage", "audit_history", "billable_minutes",
    "billing_csv", "billing_summary", "course_view", "cpt_units", "create_patient", "default_url", "events_csv",
    "fhir_bundle", "fhir_bundle_json", "find_patients", "find_patients_born", "patient_by_identifier", "finish_session", "load_events", "load_samples",
    "load_session", "open_database", "ping", "record_event", "record_side_effect", "recover_interrupted",
    "report_data", "samples_csv", "search_sessions", "sign_session", "sqlite_url", "start_session",
    "update_patient", "verify_audit", "write_samples_csv",
]


def __getattr__(name: str) -> object:
    """``fhir_bundle`` and ``fhir_bundle_json`` load on first use (PEP 562).

    WHY: fhir.resources takes ~0.3 s to import; only an export needs it, and
    the console must start in under 2 s."""
    if name in ("fhir_bundle", "fhir_bundle_json"):
        from . import fhir_export

        return getattr(fhir_export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
