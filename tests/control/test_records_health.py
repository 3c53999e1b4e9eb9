"""The records check behind the treatment screen's 30 Hz ``blockers()`` never waits on the database."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from ionto_console.control.records_health import RecordsHealth
from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.records import RecordsUnavailable, open_database, sqlite_url


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path):
    database = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    yield database
    database.close()


def test_blockers_never_query_the_database_on_the_calling_thread(db):
    """The old desk pinged from inside blockers(), i.e. on the GUI thread every 5 s."""
    threads: list[threading.Thread] = []

    def seen(*_args) -> None:
        threads.append(threading.current_thread())

    event.listen(db.engine, "before_cursor_execute", seen)
    clock = Clock()
    desk = TreatmentDesk(Station(), db=db, clock=clock)
    try:
        for _ in range(3):
            desk.blockers()
            assert desk.records_health.wait_idle()
            clock.now += 10  # past the check interval: each call asks for a new ping
        assert threads, "the database was pinged"
        assert all(t is not threading.main_thread() for t in threads), threads
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
        desk.shutdown()


def test_a_failing_ping_becomes_a_blocker_and_clears_when_the_database_answers():
    clock = Clock()
    answers = [RecordsUnavailable("The records server cannot be reached."), None]

    def check(_db) -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    health = RecordsHealth(object(), clock=clock, check=check)  # type: ignore[arg-type]
    assert health.problem() == ""  # the verdict so far; the ping runs in the background
    assert health.wait_idle()
    assert health.problem() == "The records server cannot be reached."
    clock.now += 1  # within the interval: no new ping, same verdict
    assert health.problem() == "The records server cannot be reached." and answers == [None]
    clock.now += 10
    health.problem()
    assert health.wait_idle()
    assert health.problem() == ""
    health.shutdown()


def test_a_reported_write_failure_is_not_cleared_by_a_ping_already_on_its_way():
    """The recorder says the disk is full while a ping (started before) is still running:
    the ping's "fine" must not let a new treatment start unrecorded."""
    clock = Clock()
    started, release = threading.Event(), threading.Event()

    def check(_db) -> None:
        started.set()
        release.wait(10)

    health = RecordsHealth(object(), clock=clock, check=check)  # type: ignore[arg-type]
    health.problem()
    assert started.wait(10)
    health.report("The disk holding the records is full.")
    release.set()
    assert health.wait_idle()
    assert health.problem() == "The disk holding the records is full."
    health.shutdown()


def test_without_a_database_the_start_up_problem_stays():
    health = RecordsHealth(None, "The records file is damaged.")
    assert health.problem() == "The records file is damaged."
    assert health.wait_idle()
