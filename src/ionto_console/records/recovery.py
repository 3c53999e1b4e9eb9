"""Start-up and reconnect recovery: the local journal written into the record, then closed truly.

WHY here and not in the writer: at the next start there is no writer, only
the journal files a previous run left (the database was down, hung or the
disk full when its session ended, or the console was killed). Each journal
names its session by uid; its records above the session's ``journal_seq`` are
inserted exactly once (``writer.commit_records``), and a journal that holds
the session's end ("close": state, reason, dose, side effects) closes the
record with that true reason ("records unavailable", a side-effect stop...),
not as a crash. A journal without an end is a crash: after the replay,
``recover_interrupted`` closes it as such. A journal whose session is not in
this database (another database's) is left untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from sqlalchemy import select

from .database import Database
from .errors import RecordsError, RecordsUnavailable
from .journal import journal_files, read_journal
from .models import TreatmentSession
from .store import RUNNING, finish_session, record_side_effect
from .writer import commit_records

log = logging.getLogger(__name__)


def _when(value: object) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def replay_journals(db: Database, data_folder: Path, *, who: str = "system") -> list[int]:
    """Replay every journal in ``data_folder`` whose session is in ``db``; returns the session ids
    that gained content or were closed. Journals of closed, complete sessions are removed."""
    touched: list[int] = []
    for path in journal_files(data_folder):
        try:
            records, torn = read_journal(path)
        except OSError as exc:
            log.error("records journal %s cannot be read: %s", path, exc)
            continue
        if not records or records[0].kind != "open":
            log.error("records journal %s is damaged at its start; left for inspection", path)
            continue
        if torn:
            log.warning("records journal %s ends in a torn record (killed mid-write); replaying what precedes it",
                        path)
        uid = records[0].header.get("session_uid")
        with db.read() as s:
            row = s.execute(select(TreatmentSession.id, TreatmentSession.state)
                            .where(TreatmentSession.uid == uid)).one_or_none()
        if row is None:
            continue  # not this database's session
        session_id, state = row
        if state != RUNNING:
            # A closed record is sealed: nothing is added to it after the fact. A journal it does
            # not cover is kept for inspection (prune_journals removes the covered ones).
            continue
        try:
            with db.write() as s:
                samples, events, _ = commit_records(s, session_id, records, who=who)
            if samples or events:
                log.warning("session %s: %s samples and %s events written from the local journal",
                            session_id, samples, events)
                touched.append(session_id)
            close = next((r for r in reversed(records) if r.kind == "close"), None)
            if close is not None and state == RUNNING:
                h = close.header
                for effect in h.get("side_effects", []):
                    record_side_effect(db, session_id, kind=effect["kind"], who=h.get("who") or who,
                                       note=effect.get("note", ""), at=_when(effect.get("at")))
                finish_session(db, session_id, state=h["state"], reason=h["reason"],
                               dose_delivered_ma_min=float(h["dose"]), who=h.get("who") or who,
                               ended_at=_when(h.get("ended_at")))
                state = h["state"]
                if session_id not in touched:
                    touched.append(session_id)
        except RecordsUnavailable:
            raise
        except RecordsError as exc:
            log.error("records journal %s could not be replayed: %s", path, exc)
            continue
        if state != RUNNING:
            _remove(path)
    return touched


def prune_journals(db: Database, data_folder: Path) -> None:
    """Remove journals whose session is closed and holds every journal record (after recovery)."""
    for path in journal_files(data_folder):
        try:
            records, _ = read_journal(path)
        except OSError:
            continue
        if not records or records[0].kind != "open":
            continue
        newest = max(r.n for r in records if r.kind in ("samples", "event")) if len(records) > 1 else 0
        with db.read() as s:
            row = s.execute(select(TreatmentSession.state, TreatmentSession.journal_seq)
                            .where(TreatmentSession.uid == records[0].header.get("session_uid"))).one_or_none()
        if row is not None and row.state != RUNNING and row.journal_seq >= newest:
            _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
