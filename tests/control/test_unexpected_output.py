"""Field report F6: with no session running, a board reporting its output on gets OUTPUT 0 and an alarm.

The simulated board is made to switch its output on by itself (as the independent
ICD implementation did) while the station's link keeps its watchdog fed with
heartbeats; before the fix the console watched 3 mA flow for as long as it lasted.
"""

from __future__ import annotations

import time

import pytest

from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.alarms import AlarmPriority
from ionto_console.drivers.board.link import LinkState
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from support import wait_for

DEADLINE_S = 10.0


@pytest.fixture
def station_and_desk():
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=3).start()
    station = Station()
    station.connect(server.port)
    desk = TreatmentDesk(station)
    try:
        wait_for(lambda: station.link is not None and station.link.state is LinkState.CONNECTED
                 and station.snapshot().live is not None, DEADLINE_S, "station connected with telemetry")
        yield server, station, desk
    finally:
        desk.shutdown()
        station.disconnect()
        server.stop()


def switch_output_on_by_itself(server: SimulatedBoardServer, ua: int) -> None:
    with server.lock:
        board = server.board
        board.max_current_ua = 4000
        board.target_ua = ua
        board.level_ua = float(ua)
        board.output_enabled = True


def board_output_on(server: SimulatedBoardServer) -> bool:
    with server.lock:
        return bool(server.board.flags() & 1)


def test_an_output_on_with_no_session_is_cut_and_alarmed(station_and_desk):
    server, station, desk = station_and_desk
    switch_output_on_by_itself(server, 3000)
    wait_for(lambda: not board_output_on(server), DEADLINE_S, "the console to command OUTPUT 0")
    alarm = desk.alarms.highest(time.monotonic())
    assert alarm is not None and alarm.priority is AlarmPriority.HIGH
    assert "no treatment running" in alarm.message
    wait_for(lambda: station.snapshot().live is not None and not station.snapshot().live.output_on,
             DEADLINE_S, "telemetry showing the output off")


def test_an_output_during_a_session_is_left_alone_and_cut_after_it(station_and_desk):
    server, station, desk = station_and_desk
    station.output_expected = lambda: True  # as the desk says while a treatment runs
    switch_output_on_by_itself(server, 1000)
    seen = station.snapshot().telemetry_received
    wait_for(lambda: station.snapshot().telemetry_received > seen + 30, DEADLINE_S, "30 samples with output on")
    assert board_output_on(server) and desk.alarms.highest(time.monotonic()) is None
    station.output_expected = lambda: False
    wait_for(lambda: not board_output_on(server), DEADLINE_S, "cut once no session runs")
