"""The station's unexpected-output guard (field report F6) on the in-memory board double.

Host times are given explicitly, so what is judged is the rule, not the machine's speed.
"""

from __future__ import annotations

from ionto_console.control.station import UNEXPECTED_OUTPUT_GRACE_S, Station
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import TelemetryEvent

from board_double import BoardDouble

ON = int(m.Flags.OUTPUT_ENABLED)
ON_RAMPING_DOWN = int(m.Flags.OUTPUT_ENABLED | m.Flags.STOP_RAMP)
#: The longest STOP ramp the ICD allows (STOP's u16 ramp-down time, 0..5000 ms).
ICD_MAX_STOP_RAMP_S = m.STOP_RAMP_RANGE_MS[1] / 1000.0


def connected_station() -> tuple[Station, BoardDouble]:
    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect("/dev/ttyBOARD")
    return station, board


def feed(station: Station, host_time: float, flags: int, current_ua: int = 2_000, counter: int = 1) -> None:
    msg = m.Telemetry(counter * 5_000, counter, current_ua if flags & ON else 0, 10_000, current_ua, flags, 0)
    station._on_telemetry(TelemetryEvent(msg, host_time, 0))


def test_a_stop_ramp_the_board_reports_is_left_to_finish():
    station, board = connected_station()
    alarms: list[str] = []
    station.on_unexpected_output = alarms.append
    for i in range(40):  # 2 s of a STOP ramp at 20 Hz, no session: the ramp is obeyed, not cut
        feed(station, 100.0 + i * 0.05, ON_RAMPING_DOWN, counter=i + 1)
    assert board.sent(m.Output) == [] and alarms == []


def test_an_output_that_stays_on_in_a_stop_ramp_longer_than_the_icd_allows_is_cut():
    """A board that keeps its output on and says 'stop ramp' for ever (bit6 stuck, or a
    firmware that never finishes its ramp) was tolerated without end: the ICD's longest
    STOP ramp is 5 s, after that it is an output nobody asked for."""
    station, board = connected_station()
    alarms: list[str] = []
    station.on_unexpected_output = alarms.append
    t0 = 100.0
    n = int((ICD_MAX_STOP_RAMP_S + UNEXPECTED_OUTPUT_GRACE_S) / 0.05) + 20
    for i in range(n):
        feed(station, t0 + i * 0.05, ON_RAMPING_DOWN, counter=i + 1)
    assert m.Output(0) in board.sent(m.Output, how="write_now")
    assert alarms and "no treatment running" in alarms[0]


def test_a_board_lent_to_a_calibration_that_drives_nothing_is_still_guarded():
    """The calibration wizard borrows the port at its connect page and keeps it until the run ends or
    the window closes; the guard looked away for all of that time, though only a sweep drives the output."""
    station, board = connected_station()
    assert station.lend("/dev/ttyBOARD") is board
    for i in range(40):
        feed(station, 100.0 + i * 0.05, ON, counter=i + 1)
    assert m.Output(0) in board.sent(m.Output, how="write_now")


def test_a_calibration_sweep_on_a_lent_board_is_left_alone_and_guarded_again_after_it():
    station, board = connected_station()
    assert station.lend("/dev/ttyBOARD") is board
    station.lent_output(True)  # the runner's sweep drives the output
    for i in range(40):
        feed(station, 100.0 + i * 0.05, ON, counter=i + 1)
    assert board.sent(m.Output) == []
    station.lent_output(False)  # the sweep ended (its own safe-off sent): a stuck output is cut after the grace
    for i in range(40, 80):
        feed(station, 100.0 + i * 0.05, ON, counter=i + 1)
    assert m.Output(0) in board.sent(m.Output, how="write_now")
