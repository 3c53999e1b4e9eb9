"""Start is refused, in words, when the board may not treat: lapsed or missing calibration, failed self-test.

Nothing reaches the board and no session record is opened: the refusal comes
before any current is asked for."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.records import search_sessions
from drill_bench import DEADLINE_S, Bench, drill_plan
from support import wait_for


def assert_refused(desk: TreatmentDesk, bench: Bench, words: str) -> None:
    assert any(words in line for line in desk.blockers(drill_plan())), desk.blockers(drill_plan())
    with pytest.raises(ValueError, match=words):
        desk.begin(drill_plan())
    assert desk.controller is None and bench.board_output() == (False, 0.0)
    assert search_sessions(bench.db) == []  # no record opened for a refused start


def test_a_lapsed_calibration_refuses_the_start(bench):
    cal_date = dt.datetime.fromtimestamp(bench.station.link.ident.cal_date, dt.timezone.utc).date()
    late = TreatmentDesk(bench.station, db=bench.db, calibration_interval_days=30, demo=True,
                         today=lambda: cal_date + dt.timedelta(days=31))
    try:
        assert_refused(late, bench, "calibration lapsed on")
    finally:
        late.shutdown()


def test_a_board_that_was_never_calibrated_refuses_the_start(bench, monkeypatch):
    link = bench.station.link
    monkeypatch.setattr(link, "_ident", replace(link.ident, cal_date=0))  # the IDENT of a board never calibrated
    assert_refused(bench.desk, bench, "never been calibrated")


def test_a_failed_self_test_refuses_the_start(bench):
    bench.server.fail_self_test(3)
    bench.server.reboot()
    wait_for(lambda: any("self-test" in line for line in bench.desk.blockers(drill_plan())), DEADLINE_S,
             "the self-test failure reported after the reboot")
    assert_refused(bench.desk, bench, "self-test")
