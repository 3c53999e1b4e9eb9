"""The desk's "starting" state: a start prepares its record off the calling (GUI) thread, and a
Stop pressed meanwhile is never overtaken by the controller starting afterwards.

Each test holds the start's worker at one chosen point (the board's ClearFault
reply, the record's creation) with an Event, presses Stop there, then lets the
worker go on: the interleaving is fixed by the test, not by the scheduler.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from ionto_console.control.session_recorder import SessionRecorder
from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import STARTING, SessionPlan, TreatmentDesk
from ionto_console.core.samples import BoardFault
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from ionto_console.drivers.board import messages as m
from ionto_console.records import load_events, load_session

from board_double import BoardDouble
from support import small_protocol, wait_for

PLAN = SessionPlan(protocol=small_protocol(), patient_id="P-7", patient_name="Bea Example", site="forearm",
                   electrode="standard", checklist_passed=True, checklist_record={"overridden": []})
HOLD_S = 10.0


class Gate:
    """Holds the thread that reaches it until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.open = threading.Event()
        self.thread: str | None = None
        self.made: list[SessionRecorder] = []

    def hold(self) -> None:
        self.thread = threading.current_thread().name
        self.reached.set()
        assert self.open.wait(HOLD_S), "the test never opened the gate"


def enabled_output(board: BoardDouble) -> bool:
    return any(isinstance(msg, m.Output) and msg.enable for _, msg in board.wire)


@pytest.fixture
def bench(db):
    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect("double")
    record_gate = Gate()

    def gated_recorder(*args, **kwargs) -> SessionRecorder:
        record_gate.hold()
        recorder = SessionRecorder(*args, **kwargs)
        record_gate.made.append(recorder)
        return recorder

    desk = TreatmentDesk(station, db=db, today=lambda: dt.date(2024, 1, 1), recorder_factory=gated_recorder)
    desk.records_health.problem = lambda: ""  # the background ping is not what these tests are about
    # the board's certificate look-up (a Start blocker until it answers) is done before the tests start
    desk.calibration_due_date()
    assert desk.worker.wait_idle(10)
    desk.worker.drain()
    yield board, station, desk, record_gate
    record_gate.open.set()
    desk.shutdown()


@pytest.mark.parametrize("reason", [EMERGENCY, SideEffect.DIZZINESS])
def test_a_stop_while_the_record_is_being_made_cuts_at_once_and_the_session_never_starts(bench, db, reason):
    board, station, desk, gate = bench
    assert desk.try_begin(PLAN) == ""
    assert gate.reached.wait(HOLD_S)
    assert gate.thread != threading.current_thread().name  # the record is made off the caller's thread
    assert desk.starting and desk.active
    assert STARTING in desk.blockers(PLAN)

    desk.stop(reason)
    assert board.sent(m.Output, how="write_now")[-1] == m.Output(0)  # cut before the worker goes on

    gate.open.set()
    assert desk.worker.wait_idle(HOLD_S)
    controller = desk.controller
    assert controller is not None and not desk.starting
    wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, what="the session stopped")
    assert controller.snapshot().stop_reason.cause is reason
    assert not enabled_output(board), "the output was enabled after a stop"
    assert not any(isinstance(msg, m.SetTarget) and msg.ua > 0 for _, msg in board.wire)

    recorder = desk.recorder
    assert recorder is not None and recorder.finished.wait(HOLD_S)
    assert load_session(db, recorder.session_id).state == SessionState.STOPPED.value
    assert [event.kind for event in load_events(db, recorder.session_id)].count("stop") == 1


def test_a_stop_while_the_board_clears_its_fault_cancels_the_start(bench, db):
    board, station, desk, record_gate = bench
    record_gate.open.set()
    board.send_telemetry(latched_fault=BoardFault.OVERCURRENT)  # the station now shows a latched fault
    fault_gate = Gate()
    board_request = board.request

    def request(msg, timeout=None):
        if isinstance(msg, m.ClearFault):
            fault_gate.hold()
        return board_request(msg, timeout)

    board.request = request
    assert desk.try_begin(PLAN) == ""
    assert fault_gate.reached.wait(HOLD_S)
    desk.stop(EMERGENCY)
    fault_gate.open.set()
    assert desk.worker.wait_idle(HOLD_S)
    controller = desk.controller
    wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, what="the session stopped")
    assert not enabled_output(board)
    assert desk.recorder is not None and desk.recorder.finished.wait(HOLD_S)
    assert load_session(db, desk.recorder.session_id).state == SessionState.STOPPED.value


def test_a_stop_after_the_start_was_published_stops_the_running_controller(bench, db):
    board, station, desk, gate = bench
    gate.open.set()
    assert desk.try_begin(PLAN) == ""
    assert desk.worker.wait_idle(HOLD_S)
    controller = desk.controller
    wait_for(lambda: enabled_output(board), what="the output enabled")
    desk.stop(EMERGENCY)
    wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, what="the session stopped")
    last_output = [msg for _, msg in board.wire if isinstance(msg, m.Output)][-1]
    assert last_output == m.Output(0)


def test_a_start_that_fails_on_the_worker_is_told_to_the_screen_and_leaves_no_starting_state(bench):
    board, station, desk, gate = bench
    gate.open.set()
    failures: list[str] = []
    board.set_state(board.state.__class__.DISCONNECTED, "cable pulled")  # after the screen's check passed
    desk.blockers = lambda plan=None: []  # the screen saw a connected board a moment ago
    assert desk.try_begin(PLAN, on_failed=failures.append) == ""
    assert desk.worker.wait_idle(HOLD_S)
    desk.worker.drain()
    assert failures == ["The treatment board is not connected."]
    assert not desk.starting and desk.controller is None


def test_a_start_refused_by_a_closed_worker_leaves_no_starting_state_and_is_told_to_the_screen(bench):
    """The worker closed after the desk's own checks passed (the console closing): the start's
    job never runs, so nothing on the worker clears "starting"; the refusal itself must, or
    Start stays disabled and the desk "active" for good."""
    board, station, desk, gate = bench
    failures: list[str] = []
    desk.worker.shutdown()  # the desk itself is not shut: its checks still accept the start
    assert desk.try_begin(PLAN, on_failed=failures.append) == ""
    assert failures == ["the console is shutting down."]
    assert not desk.starting and not desk.active and desk.controller is None
    assert not gate.reached.is_set()  # no record was made
    assert not enabled_output(board)


def test_a_second_start_while_starting_is_refused_in_plain_words(bench):
    board, station, desk, gate = bench
    assert desk.try_begin(PLAN) == ""
    assert gate.reached.wait(HOLD_S)
    assert STARTING in desk.try_begin(PLAN)
    gate.open.set()
    assert desk.worker.wait_idle(HOLD_S)


def test_closing_the_console_while_starting_never_starts_the_output(bench, db):
    board, station, desk, gate = bench
    assert desk.try_begin(PLAN) == ""
    assert gate.reached.wait(HOLD_S)
    desk.shutdown()  # returns at once: the start's job is held, and still runs after
    assert board.sent(m.Output, how="write_now")[-1] == m.Output(0)
    gate.open.set()
    wait_for(lambda: gate.made and gate.made[0].finished.is_set(), what="the held start ended")
    assert not enabled_output(board)
    assert load_session(db, gate.made[0].session_id).state == SessionState.INTERRUPTED.value
    assert desk.controller is None  # closed again right after it was published
