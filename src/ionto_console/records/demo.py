"""The demo database, marked as such inside itself.

WHY a mark inside the database (a ``demo_marker`` row, written once by the
first demo start) rather than a file name or a setting: the database is what
travels (copied, backed up, pointed at by a mistyped URL), and the checks
that keep demo and clinic apart must hold whichever console opens it:

- demo mode (``ionto-console --demo``) refuses a database that holds records
  and is not marked demo: a demo never adds its public accounts, simulated
  sessions or simulated calibrations to a clinic's records;
- demo mode marks ("claims") only a database it created itself: a SQLite file
  that did not exist before this demo start, or an empty one at the demo's own
  place (a ``.demo`` folder, or the demo folder in the user data folder), never
  the clinic's default file. WHY: a clinic's new, still empty database (schema
  made by its first clinical start or by an administrator) holds no records, and
  a demo start pointed at it used to mark it the demo's for good, after which
  the clinic's console refused it;
- a clinical console (no ``--demo``) refuses a demo-marked database: a
  clinic never treats into, bills from or signs in against the demo's records;
- the store refuses a simulated session or calibration in a database that is
  not marked demo (``store.start_session``, ``calibrations.record_calibration``),
  whatever the caller believed.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .audit import append_audit, utc_now
from .database import DB_FILENAME, Database, sqlite_url, user_data_folder
from .errors import RecordsUnavailable
from .models import AuditEntry, DemoMarker, Patient, TreatmentSession
from .users import UserAccount

#: Written into the marker row and the audit entry, for whoever opens the file by hand.
DEMO_NOTE = "Demo database of the simulated bench: not a clinic's records."

DEMO_REFUSES_CLINIC = ("This records database holds records and is not a demo database: demo mode does not use "
                       "it. Start without --demo for a clinic's records, or give demo mode its own database.")
DEMO_REFUSES_NOT_ITS_OWN = ("This records database is not marked as a demo database and demo mode did not create it "
                            "(it may be a clinic's new, still empty database): demo mode does not take it over. "
                            "Start without --demo for a clinic's records, or give demo mode a new file or its "
                            "default database.")
CLINIC_REFUSES_DEMO = ("This records database is the demo's (simulated sessions, public demo accounts): a clinical "
                       "station does not use it. Start with --demo, or configure the clinic's database.")


def default_demo_url() -> str:
    """Demo mode's database when none is configured: its own file beside (never in place of) the clinic's.

    ``scripts/console.sh`` names ``./.demo/records.sqlite3`` instead."""
    folder = user_data_folder() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return sqlite_url(folder / DB_FILENAME)


def _sqlite_file(url: str | None) -> Path | None:
    """The file of a SQLite ``url`` (None for a server database, memory or an unreadable URL)."""
    if not url:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser().resolve()


def will_create(url: str | None) -> bool:
    """Opening ``url`` creates the database: a SQLite file that does not exist yet.

    Asked by demo mode BEFORE it opens the database, so that ``claim_for_demo`` knows the
    database is its own. A server database is never created by the console."""
    path = _sqlite_file(url)
    return path is not None and not path.exists()


def is_demo_place(url: str | None) -> bool:
    """The demo's own place: a SQLite file in a ``.demo`` folder (``scripts/console.sh``) or
    ``default_demo_url``'s file. Never the clinic's default file (``database.default_url``)."""
    path = _sqlite_file(url)
    if path is None:
        return False
    own = (user_data_folder() / "demo" / DB_FILENAME).resolve()
    return path.parent.name == ".demo" or path == own


def _is_clinic_default(url: str | None) -> bool:
    path = _sqlite_file(url)
    return path is not None and path == (user_data_folder() / DB_FILENAME).resolve()


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


def claim_for_demo(db: Database, *, created: bool = False) -> None:
    """Demo mode's check at open: a demo database, or an empty one demo mode made (then marked).

    ``created``: this demo start created the database (``will_create`` asked before the
    open). Otherwise only an empty database at the demo's own place (``is_demo_place``)
    is marked; any other unmarked database is refused (``RecordsUnavailable``), unmarked."""
    if is_demo(db):
        return
    if holds_records(db):
        raise RecordsUnavailable(DEMO_REFUSES_CLINIC)
    if _is_clinic_default(db.url) or not (created or is_demo_place(db.url)):
        raise RecordsUnavailable(DEMO_REFUSES_NOT_ITS_OWN)
    mark_as_demo(db)


def refuse_demo(db: Database) -> None:
    """A clinical console's check at open: ``RecordsUnavailable`` if the database is the demo's."""
    if is_demo(db):
        raise RecordsUnavailable(CLINIC_REFUSES_DEMO)
