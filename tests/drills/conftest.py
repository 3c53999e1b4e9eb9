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
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=7).start()
    station = db = desk = None
    try:
        station = connect_station(server.port)
        db = open_database(sqlite_url(sqlite_path(tmp_path)))
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
