"""ionto-records: the clinic manager and IT read, export, verify and back up the records from a terminal.

    ionto-records --user ada verify
    ionto-records --user dana list --patient ann --from 2026-03-01
    ionto-records --user dana export 12 --format pdf --out session-12.pdf
    ionto-records --user ada billing --month 2026-03 --out billing-2026-03.csv
    ionto-records --user ada backup --to /mnt/backup/records-2026-03-31.sqlite3

Every command first signs the user in (password asked without echo, or the
first line of ``--password-file`` for automation; a password file that
group or others can read or write is refused). Who may do what:

- ``list``/``search``, ``export``, ``billing``: admin and therapist (the
  people who already see these records on the console's Records tab).
- ``verify``, ``backup``, ``seal``: admin (the clinic manager or IT: a
  backup is the whole database, verification is the administrator's duty,
  and ``seal`` (once, after upgrading a database from before migration
  0006) vouches for records as they are).

Engineers (calibration) are refused: they need no patient records.

Exit codes: 0 done (``verify``: the records verified intact), 1 refused or
failed (sign-in, role, records unavailable, a broken verification, a file
that cannot be written), 2 usage (a wrong command line, from argparse).

WHY the sign-in mirrors ``ionto-users`` (``--user`` + ``--password-file`` or a
prompt, ``accounts.authenticate``): one way to sign in at a terminal, so the
two tools can later share it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import sqlite3
import sys
from pathlib import Path
from typing import Callable

from .accounts import AccountError, Role, User
from .cli_sign_in import sign_in_from_cli
from .records import Database, RecordsError, open_database
from .settings import Settings

Ask = Callable[[str], str]
Out = Callable[[str], None]

#: The roles allowed each command (see the module docstring for why).
ALLOWED: dict[str, frozenset[Role]] = {
    "list": frozenset({Role.ADMIN, Role.THERAPIST}),
    "search": frozenset({Role.ADMIN, Role.THERAPIST}),
    "export": frozenset({Role.ADMIN, Role.THERAPIST}),
    "billing": frozenset({Role.ADMIN, Role.THERAPIST}),
    "verify": frozenset({Role.ADMIN}),
    "backup": frozenset({Role.ADMIN}),
    "seal": frozenset({Role.ADMIN}),
}

PG_DUMP_HOWTO = """\
This records database is PostgreSQL: back it up with the server's own tool, e.g.
    pg_dump --format=custom --file=ionto-records-$(date +%F).dump "{url}"
and restore with pg_restore into an empty database. Keep each station's data folder
(audit-anchors.jsonl, audit-anchor-key.pem) with the backup: verification checks the
database against them."""


class Refused(Exception):
    """A command that is not done, with the reason in plain words (exit code 1)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ionto-records",
                                     description="Verify, list, export, bill and back up the treatment records.")
    parser.add_argument("--database", metavar="URL",
                        help="records database (default: as the console: IONTO_DATABASE_URL or the user data dir)")
    parser.add_argument("--user", required=True, metavar="NAME", help="who is doing this (an account of the console)")
    parser.add_argument("--password-file", type=Path, metavar="FILE",
                        help="first line: the password (the file must be readable by its owner only)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify", help="check the audit trail and every record against it (admin)")
    commands.add_parser("seal", help="seal records from before tamper evidence as they are now (admin, once "
                                     "after upgrading; run verify first)")
    for name in ("list", "search"):
        sub = commands.add_parser(name, help="sessions matching every filter, newest first")
        sub.add_argument("--patient", help="part of the patient's name or identifier")
        sub.add_argument("--from", dest="date_from", type=_date, metavar="YYYY-MM-DD")
        sub.add_argument("--to", dest="date_to", type=_date, metavar="YYYY-MM-DD")
        sub.add_argument("--protocol", help="part of the protocol's name, or its id")
        sub.add_argument("--outcome", choices=["running", "complete", "stopped", "faulted", "interrupted"])
        sub.add_argument("--side-effect", help="a side effect kind, e.g. dizziness")
        sub.add_argument("--limit", type=int, default=500)
    export = commands.add_parser("export", help="one session as CSV (samples and events), PDF or FHIR JSON")
    export.add_argument("session", type=int, help="the session's record number (as 'list' shows it)")
    export.add_argument("--format", required=True, choices=["csv", "pdf", "fhir"])
    export.add_argument("--out", type=Path, help="file to write (default: session-N.csv/.pdf/.json here)")
    billing = commands.add_parser("billing", help="a month's billing (CPT 97033 units) as CSV")
    billing.add_argument("--month", required=True, type=_month, metavar="YYYY-MM")
    billing.add_argument("--out", type=Path, help="file to write (default: print it)")
    backup = commands.add_parser("backup", help="a consistent copy of a SQLite records file (admin)")
    backup.add_argument("--to", required=True, type=Path, help="the new backup file (never overwritten)")
    return parser.parse_args(argv)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _month(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


def sign_in(db: Database, args: argparse.Namespace, ask: Ask) -> User:
    """The signed-in account, allowed this command: the one terminal sign-in every entry point uses
    (``cli_sign_in``: private password file or prompt, counted and audited, lockout, first-sign-in
    password change), then this command's roles."""
    user = sign_in_from_cli(db, args.user, args.password_file, ask, program="ionto-records",
                            allowed=lambda role: True, role_words="signed in")
    allowed = ALLOWED[args.command]
    if user.role not in allowed:
        roles = " or ".join(sorted(role.value for role in allowed))
        raise Refused(f"{user.display_name} ({user.role.value}) may not {args.command}: that needs {roles}.")
    return user


def run(db: Database, args: argparse.Namespace, ask: Ask, out: Out) -> int:
    """One command, signed in; returns the exit code (raises ``Refused`` when refused)."""
    user = sign_in(db, args, ask)
    if args.command == "verify":
        return verify(db, out)
    if args.command == "seal":
        return seal(db, user, out)
    if args.command in ("list", "search"):
        return list_sessions(db, args, out)
    if args.command == "export":
        return export(db, args, out)
    if args.command == "billing":
        return billing(db, args, out)
    return backup(db, args.to, out)


def verify(db: Database, out: Out) -> int:
    from .records import verify_audit

    verdict = verify_audit(db)
    out(f"audit head {verdict.head_short}; {verdict.entries} entries; {verdict.records} records; "
        f"{verdict.anchor_note}")
    if verdict.ok:
        out(f"INTACT: {verdict.reason}")
        return 0
    out(f"BROKEN: first bad: {verdict.first_bad_record}")
    for problem in verdict.problems:
        out(f"  - {problem}")
    out("Keep this database and the station's data folder as evidence and call the administrator.")
    return 1


def seal(db: Database, user: User, out: Out) -> int:
    from .records.verify import seal_legacy

    try:
        done = seal_legacy(db, who=user.username)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    out(f"sealed {len(done)} record(s) from before tamper evidence" + (f": {', '.join(done[:20])}"
                                                                        + (" ..." if len(done) > 20 else "")
                                                                        if done else ""))
    return 0


def list_sessions(db: Database, args: argparse.Namespace, out: Out) -> int:
    from .records import search_sessions

    items = search_sessions(db, patient=args.patient, date_from=args.date_from, date_to=args.date_to,
                            protocol=args.protocol, outcome=args.outcome, side_effect=args.side_effect,
                            limit=max(1, args.limit))
    for item in items:
        effects = ", ".join(item.side_effects) or "-"
        out(f"{item.id:6}  {item.started_at.astimezone():%Y-%m-%d %H:%M}  {_one_line(item.patient_identifier):12} "
            f"{_one_line(item.patient_name)[:30]:30} {item.state:11} "
            f"{item.dose_delivered_ma_min:6.1f}/{item.dose_target_ma_min:g} mA·min  {_one_line(item.protocol_name)[:40]}"
            f"  side effects: {_one_line(effects)}")
    out(f"{len(items)} session(s)")
    return 0


def _one_line(text: str) -> str:
    """Text for a terminal: no control characters (a name cannot move the cursor or ring the bell)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def export(db: Database, args: argparse.Namespace, out: Out) -> int:
    """Through the Records tab's exporters (``control/exporters``): one code path per format."""
    from .control.exporters import ExportTarget, exporter
    from .records import load_session

    load_session(db, args.session)  # RecordNotFound before any file is made
    suffix = {"csv": ".csv", "pdf": ".pdf", "fhir": ".json"}[args.format]
    path: Path = args.out or Path(f"session-{args.session}{suffix}")
    result = exporter(args.format).write(db, ExportTarget(session_id=args.session), path)
    out(result.message)
    return 0


def billing(db: Database, args: argparse.Namespace, out: Out) -> int:
    from .records import billing_csv, billing_summary

    first: dt.date = args.month
    last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    lines = billing_summary(db, first, last)
    text = billing_csv(lines)
    if args.out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        args.out.write_text(text, encoding="utf-8", newline="")
        out(f"wrote {len(lines)} session(s), {sum(x.units for x in lines)} unit(s) for {first:%B %Y} to {args.out}")
    return 0


def backup(db: Database, target: Path, out: Out) -> int:
    """SQLite: a consistent copy with SQLite's online backup API, while consoles keep writing."""
    if db.dialect != "sqlite":
        from .records.anchor import database_label

        out(PG_DUMP_HOWTO.format(url=database_label(db.url)))
        raise Refused("no backup was made here (PostgreSQL is backed up with pg_dump, above)")
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise Refused("this database has no file to back up")
    if target.exists():
        raise Refused(f"{target} already exists; a backup never overwrites a file")
    if not target.parent.is_dir():
        raise Refused(f"the folder {target.parent} does not exist")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from the first byte
        os.close(fd)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy, pages=1024)
            (check,) = copy.execute("PRAGMA quick_check").fetchone()
        finally:
            copy.close()
    except (sqlite3.Error, OSError) as exc:
        target.unlink(missing_ok=True)
        raise Refused(f"the backup failed: {exc}") from None
    finally:
        source.close()
    if str(check).lower() != "ok":
        raise Refused(f"the backup at {target} does not pass SQLite's check ({check}); do not rely on it")
    out(f"backed up {source_path} to {target} ({target.stat().st_size:,} bytes, checked)")
    return 0


def main(argv: list[str] | None = None, ask: Ask = getpass.getpass) -> int:
    args = parse_args(argv)
    try:
        db = open_database(Settings.from_sources({"database_url": args.database}).database_url)
    except (RecordsError, ValueError) as exc:
        print(f"ionto-records: records unavailable: {exc}", file=sys.stderr)
        return 1
    try:
        return run(db, args, ask, print)
    except (Refused, AccountError) as exc:
        print(f"ionto-records: refused: {exc}", file=sys.stderr)
        return 1
    except RecordsError as exc:
        print(f"ionto-records: failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ionto-records: failed: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # e.g. a FHIR bundle that does not validate: nothing was written
        print(f"ionto-records: failed: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
