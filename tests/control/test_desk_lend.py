"""The desk lends its board to a calibration or runs a treatment on it, never both at once.

A calibration's identify step borrows the port on its own thread while the therapist
may press Start on the GUI thread; a session just begun sits in IDLE until its
controller thread takes the start intent. Neither may let the other in.
"""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest

from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import SessionPlan, TreatmentDesk
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.drivers.board import messages as m

from board_double import BoardDouble
from support import small_protocol, wait_for_value

PLAN = SessionPlan(protocol=small_protocol(), patient_id="P-1", patient_name="Ann Example", site="forearm",
                   electrode="standard", checklist_passed=True, checklist_record={"overridden": []})
PORT = "/dev/ttyBOARD"


def desk_on_double() -> tuple[TreatmentDesk, Station, BoardDouble]:
    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect(PORT)
    board.send_telemetry()  # live values: output off, no latched fault
    desk = TreatmentDesk(station, today=lambda: dt.date(2023, 12, 1))  # the double's calibration is valid then
    assert desk.blockers(PLAN) == []
    return desk, station, board


class _Begun:
    """A session's controller right after ``begin``: its start intent is queued, its state still IDLE."""

    def snapshot(self):
        return SimpleNamespace(state=SessionState.IDLE)


def test_a_session_begun_but_not_yet_started_is_never_lent_to_a_calibration():
    desk, station, _ = desk_on_double()
    desk.controller = _Begun()  # type: ignore[assignment]
    with pytest.raises(ValueError, match="a treatment is running on this board"):
        desk.lend(PORT)
    assert not station.lent


def test_a_lend_while_a_session_begins_does_not_give_the_board_to_both():
    desk, station, _ = desk_on_double()
    lend_outcome: list[object] = []
    real_close_session = desk.close_session

    def lend_meanwhile() -> None:
        try:
            lend_outcome.append(desk.lend(PORT))
        except ValueError as exc:
            lend_outcome.append(exc)

    def close_session_then_lend_from_another_thread() -> None:
        # begin() has passed its blockers and not yet created its controller: the
        # calibration's identify thread asks for the port now.
        real_close_session()
        borrower = threading.Thread(target=lend_meanwhile)
        borrower.start()
        borrower.join(1.0)  # with begin atomic the borrower waits for it: that is the point
        race.append(borrower)

    race: list[threading.Thread] = []
    desk.close_session = close_session_then_lend_from_another_thread  # type: ignore[method-assign]
    try:
        desk.begin(PLAN)
        race[0].join(10.0)
        assert lend_outcome, "the lend never returned"
        treating = desk.controller is not None and not desk.controller.snapshot().state.terminal
        assert not (station.lent and treating), "the board was lent to a calibration during a treatment"
    finally:
        desk.close_session = real_close_session  # type: ignore[method-assign]
        desk.shutdown()


def test_a_board_lent_to_one_calibration_is_not_lent_to_a_second():
    """The wizard disposes of its old runner on a thread (close waits for its safe-off) and identifies
    with a new one at once: a second lend succeeded, and the old runner's give_back then ended the
    new runner's lend, so a treatment could start on a board still being calibrated."""
    desk, station, board = desk_on_double()
    assert desk.lend(PORT) is board  # the old runner, still closing
    with pytest.raises(ValueError, match="already lent"):
        desk.lend(PORT)  # the new runner's identify
    assert station.lent
    desk.give_back()  # the old runner's close
    assert not station.lent and desk.lend(PORT) is board  # now the new one may have it
    desk.shutdown()


def test_a_session_begun_but_not_yet_started_blocks_a_second_start():
    """Between ``begin`` and its controller taking the start intent the session is IDLE; a second
    Start then passed the blockers, and the first session's queued start enabled the output before
    the close that followed cut it."""
    desk, _, _ = desk_on_double()
    desk.controller = _Begun()  # type: ignore[assignment]
    assert "A treatment is already running." in desk.blockers(PLAN)
    with pytest.raises(ValueError, match="already running"):
        desk.begin(PLAN)


def test_lending_the_board_after_a_stopped_session_ends_that_sessions_hold_on_it():
    """Issue 14: a calibration after a side-effect stop failed ("did not show the output settled"):
    the stopped session's controller still heard the board, and its engine cut every output it saw
    on, the calibration's included. Lent, the board is the borrower's: the ended session no longer
    listens (its snapshot stays for the screen and the signature)."""
    desk, station, board = desk_on_double()
    controller = desk.begin(PLAN)
    try:
        desk.stop(SideEffect.DIZZINESS)
        wait_for_value(lambda: controller.snapshot().state, lambda s: s.terminal, "the session ended")
        board.send_telemetry()  # the output off
        assert board._telemetry != (station._on_telemetry,)  # the ended session still listens
        assert desk.lend(PORT) is board
        assert board._telemetry == (station._on_telemetry,) and board._states == (station._on_state,)
        assert desk.controller is controller and controller.snapshot().state is SessionState.STOPPED
        desk.give_back()
    finally:
        desk.shutdown()


def test_the_board_is_not_lent_while_the_last_sessions_output_ramps_down():
    """The STOP ramp after a side-effect stop is the session's (its dose counts until the output is
    off): a calibration connecting meanwhile is told to wait, in plain words."""
    desk, station, board = desk_on_double()
    board.send_telemetry(current_ua=900, target_ua=0,
                         flags=int(m.Flags.OUTPUT_ENABLED | m.Flags.SLEWING | m.Flags.STOP_RAMP))
    with pytest.raises(ValueError, match="still ramping down"):
        desk.lend(PORT)
    assert not station.lent
    board.send_telemetry()  # the output off: now it may be lent
    assert desk.lend(PORT) is board and station.lent
    desk.shutdown()
