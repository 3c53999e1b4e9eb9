"""Races between stations on one database: simultaneous first starts, the same new patient at once."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy.exc import IntegrityError

from ionto_console.control import session_recorder
from ionto_console.records import open_database
from ionto_console.records.database import current_revision
from ionto_console.records.queries import find_patients

from records_helpers import new_patient


@pytest.mark.postgres
def test_two_first_starts_on_an_empty_postgresql_both_succeed(pg_server):
    """Both consoles migrate the empty database at once; the advisory lock makes the second wait
    and find the schema current (before: one got "records unavailable", duplicate alembic_version)."""
    from pytest_postgresql.janitor import DatabaseJanitor
    import uuid

    name = f"t_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port, dbname=name):
        url = f"postgresql+psycopg://{pg_server.user}@{pg_server.host}:{pg_server.port}/{name}"
        gate = threading.Barrier(3)
        outcomes: list[object] = []

        def start() -> None:
            gate.wait()
            try:
                db = open_database(url)
                outcomes.append(current_revision(db.engine))
                db.close()
            except Exception as exc:  # noqa: BLE001 - the test reports it
                outcomes.append(exc)

        threads = [threading.Thread(target=start) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        from ionto_console.records.database import SCHEMA_HEAD

        assert outcomes == [SCHEMA_HEAD] * 3, outcomes


@dataclass
class _Plan:
    patient_id: str = "P-RACE"
    patient_name: str = "Rae Race"
    date_of_birth: None = None
    patient_notes: str = ""


def test_the_same_new_patient_started_at_two_stations_is_one_patient(db, monkeypatch):
    """The other station creates the patient between our look-up and our insert: we take its row
    (before: InvalidRecord / IntegrityError escaped into TreatmentView.start)."""
    real_find = session_recorder.patient_by_identifier
    calls = []

    def find_then_race(database, identifier):
        calls.append(identifier)
        if len(calls) == 1:
            new_patient(database, identifier="P-RACE", name="Rae Race")  # the other station, just now
            return None
        return real_find(database, identifier)

    monkeypatch.setattr(session_recorder, "patient_by_identifier", find_then_race)
    pid = session_recorder.patient_id_for(db, _Plan(), "dana")
    assert [p.id for p in find_patients(db, "P-RACE")] == [pid]


def test_a_unique_violation_on_the_new_patient_resolves_to_the_existing_row(db, monkeypatch):
    """Both stations passed the existence check; our insert meets the unique identifier: the store
    says "already exists" (not a raw IntegrityError) and the recorder takes the existing row."""
    from ionto_console.records import store

    existing = new_patient(db, identifier="P-RACE", name="Rae Race")
    real_find = session_recorder.patient_by_identifier
    calls = []

    def miss_once(database, identifier):
        calls.append(identifier)
        return None if len(calls) == 1 else real_find(database, identifier)

    def insert_loses(*args, **kwargs):
        raise IntegrityError("INSERT INTO patients", {}, Exception("duplicate key value violates unique constraint"))

    monkeypatch.setattr(session_recorder, "patient_by_identifier", miss_once)
    monkeypatch.setattr(store, "_insert_patient", insert_loses)
    assert session_recorder.patient_id_for(db, _Plan(), "dana") == existing
