"""Fixtures for the fault drills: a fresh simulated board, station, SQLite records and desk per drill."""

from __future__ import annotations

import pytest

from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from ionto_console.records import open_database, sqlite_url
from ionto_console.records.demo import mark_as_demo

from drill_bench import DRILL_STATION_ID, Bench, connect_station, sqlite_path


@pytest.fixture
def bench(tmp_path):
    """A 5 kΩ load (steady impedance, so only the injected fault can trip an interlock)."""
    yield from drill_bench_on(sqlite_url(sqlite_path(tmp_path)), tmp_path)


@pytest.fixture(scope="module")
def drill_pg():
    """One throwaway PostgreSQL server for a module's drills (they stop, kill and restart it)."""
    from pg_support import throwaway_postgres

    with throwaway_postgres(dbname="ionto_drills") as server:
        yield server


@pytest.fixture
def pg_url(drill_pg):
    import uuid

    from pytest_postgresql.janitor import DatabaseJanitor

    name = f"d_{uuid.uuid4().hex[:12]}"
    with DatabaseJanitor(user=drill_pg.user, host=drill_pg.host, port=drill_pg.port, dbname=name):
        yield f"postgresql+psycopg://{drill_pg.user}@{drill_pg.host}:{drill_pg.port}/{name}"


@pytest.fixture
def pg_bench(tmp_path, pg_url):
    """The drill bench on a clinic PostgreSQL database instead of the station's SQLite file."""
    yield from drill_bench_on(pg_url, tmp_path)


def drill_bench_on(url: str, tmp_path):
    """The drill bench (a 5 kΩ simulated board, a demo-marked records database at ``url``), torn down after."""
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=7).start()
    station = db = desk = None
    try:
        station = connect_station(server.port)
        db = open_database(url)
        mark_as_demo(db)  # sessions on the simulated board are kept only in a demo database
        desk = TreatmentDesk(station, db=db, operator=lambda: "Drill Therapist", station_name="drill-station",
                             demo=True, station_id=DRILL_STATION_ID, data_folder=tmp_path / "data")
        yield Bench(server, station, db, desk)
    finally:
        if desk is not None:
            desk.shutdown()
        if station is not None:
            station.disconnect()
        if db is not None:
            db.close()
        server.stop()
