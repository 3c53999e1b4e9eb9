"""The demo database, marked as such inside itself.

WHY a mark inside the database (a ``demo_marker`` row, written once by the
first demo start) rather than a file name or a setting: the database is what
travels (copied, backed up, pointed at by a mistyped URL), and the checks
that keep demo and clinic apart must hold whichever console opens it:

- demo mode (``ionto-console --demo``) refuses a database that holds records
  and is not marked demo: a demo never adds its public accounts, simulated
  sessions or simulated calibrations to a clinic's records;
- a clinical console (no ``--demo``) refuses a demo-marked database: a
  clinic never treats into, bills from or signs in against the demo's records;
- the store refuses a simulated session or calibration in a database that is
  not marked demo (``store.start_session``, ``calibrations.record_calibration``),
  whatever the caller believed.
"""

from __future__ import annotations

from sqlalchemy import func, select

from .audit import append_audit, utc_now
from .database import DB_FILENAME, Database, sqlite_url, user_data_folder
from .errors import RecordsUnavailable
from .models import AuditEntry, DemoMarker, Patient, TreatmentSession
from .users import UserAccount

#: Written into the marker row and the audit entry, for whoever opens the file by hand.
DEMO_NOTE = "Demo database of the simulated bench: not a clinic's records."

DEMO_REFUSES_CLINIC = ("This records database holds records and is not a demo database: demo mode does not use "
                       "it. Start without --demo for a clinic's records, or give demo mode its own database.")
CLINIC_REFUSES_DEMO = ("This records database is the demo's (simulated sessions, public demo accounts): a clinical "
                       "station does not use it. Start with --demo, or configure the clinic's database.")


def default_demo_url() -> str:
    """Demo mode's database when none is configured: its own file beside (never in place of) the clinic's.

    ``scripts/console.sh`` names ``./.demo/records.sqlite3`` instead."""
    folder = user_data_folder() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / DB_FILENAME)


def is_demo(db: Database) -> bool:
    """True if the database carries the demo mark."""
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(DemoMarker)) > 0


def mark_as_demo(db: Database) -> None:
    """Mark the database as the demo's (idempotent; audited the first time)."""
    with db.write() as s:
        if s.scalar(select(func.count()).select_from(DemoMarker)):
            return
        row = DemoMarker(marked_at=utc_now(), note=DEMO_NOTE)
        s.add(row)
        s.flush()
        append_audit(s, who="demo-setup", action="mark demo", entity="database", entity_id=row.id,
                     after={"demo": True}, why=DEMO_NOTE)


def holds_records(db: Database) -> bool:
    """Anything a clinic could have written: an audit entry, a patient, a session, an account or a calibration."""
    from .calibrations import CalibrationRecord  # its model registers with Base on import

    with db.read() as s:
        return any(s.scalar(select(func.count()).select_from(model))
                   for model in (AuditEntry, Patient, TreatmentSession, UserAccount, CalibrationRecord))


def claim_for_demo(db: Database) -> None:
    """Demo mode's check at open: a demo database, or an empty one (then marked); else ``RecordsUnavailable``."""
    if is_demo(db):
        return
    if holds_records(db):
        raise RecordsUnavailable(DEMO_REFUSES_CLINIC)
    mark_as_demo(db)


def refuse_demo(db: Database) -> None:
    """A clinical console's check at open: ``RecordsUnavailable`` if the database is the demo's."""
    if is_demo(db):
        raise RecordsUnavailable(CLINIC_REFUSES_DEMO)
