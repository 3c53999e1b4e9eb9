"""The console's board link against the board simulator over a real pty.

These are the two halves of the ICD talking to each other: whatever one of
them got wrong about the bytes shows up here, not on a patient.
"""

from __future__ import annotations

import threading
from typing import Callable

import pytest

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardDisconnected, BoardNakError
from ionto_console.drivers.board.link import BoardLink, LinkState, TelemetryEvent
from ionto_sim.pty_server import SimulatedBoardServer
from test_link import wait_for  # same folder: pytest puts it on sys.path


class Recorder:
    """Keeps telemetry events; ``after(mark)`` gives those received since a mark."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[TelemetryEvent] = []

    def __call__(self, event: TelemetryEvent) -> None:
        with self._lock:
            self.events.append(event)

    def mark(self) -> int:
        with self._lock:
            return len(self.events)

    def after(self, mark: int) -> list[TelemetryEvent]:
        with self._lock:
            return self.events[mark:]

    def wait(self, predicate: Callable[[TelemetryEvent], bool], mark: int = 0, what: str = "") -> TelemetryEvent:
        found: list[TelemetryEvent] = []
        wait_for(lambda: found.extend(e for e in self.after(mark) if predicate(e)) or found, what=what)
        return found[0]


@pytest.fixture
def server():
    srv = SimulatedBoardServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def link(server):
    link = BoardLink(server.port, reply_timeout_s=2.0, reconnect_period_s=0.05)
    link.open()
    assert link.state is LinkState.CONNECTED, link.reason
    yield link
    link.close()


@pytest.fixture
def telemetry(link):
    recorder = Recorder()
    link.add_telemetry_listener(recorder)
    return recorder


def test_hello_returns_the_simulators_ident(link):
    ident = link.ident
    assert ident is not None and ident.protocol_revision == m.PROTOCOL_REVISION
    assert ident.serial_number and ident.hw_max_current_ua == m.HW_MAX_CURRENT_UA
    status = link.request(m.GetStatus())
    assert isinstance(status, m.Status)
    assert (status.max_current_ua, status.slew_ua_s, status.watchdog_ms) == (4000, 100, 250)


def test_limits_target_output_slew_and_stop(link, telemetry):
    assert link.request(m.SetLimits(4000, 5000, 250)) == m.Ack(m.MsgType.SET_LIMITS)
    link.request(m.SetRate(1000))
    link.request(m.SetTarget(2000))
    mark = telemetry.mark()
    link.request(m.Output(1))
    slewing = telemetry.wait(
        lambda e: e.msg.flags & m.Flags.OUTPUT_ENABLED and e.msg.flags & m.Flags.SLEWING
        and e.msg.target_ua == 2000,
        mark, "output on and slewing",
    )
    reached = telemetry.wait(
        lambda e: e.msg.flags & m.Flags.OUTPUT_ENABLED and not e.msg.flags & m.Flags.SLEWING,
        mark, "target reached",
    )
    assert reached.msg.counter > slewing.msg.counter
    ramp = [e.msg for e in telemetry.after(mark) if e.msg.flags & m.Flags.OUTPUT_ENABLED]
    # the current rose over several samples, it did not jump to the target
    assert any(200 < t.current_ua < 1800 for t in ramp)
    assert abs(reached.msg.current_ua - 2000) < 200

    mark = telemetry.mark()
    link.request(m.Stop(0))
    stopped = telemetry.wait(lambda e: not e.msg.flags & m.Flags.OUTPUT_ENABLED, mark, "output off")
    assert stopped.msg.target_ua == 0


def test_naks_come_back_as_readable_errors(link):
    with pytest.raises(BoardNakError, match="SET_TARGET refused: OUT_OF_RANGE"):
        link.request(m.SetTarget(10_000))  # above the 4 mA power-on limit
    with pytest.raises(BoardNakError, match="SET_RATE refused: OUT_OF_RANGE"):
        link.request(m.SetRate(5))
    link.request(m.SetTarget(500))
    link.request(m.Output(1))
    with pytest.raises(BoardNakError, match="SET_POLARITY refused: BUSY"):
        link.request(m.SetPolarity(m.Polarity.ANODE))
    link.write_now(m.Output(0))


def test_heartbeats_keep_the_watchdog_fed(link, telemetry):
    link.request(m.SetLimits(4000, 100, 500))  # 500 ms: robust to a loaded test machine
    link.request(m.SetTarget(500))
    link.request(m.Output(1))
    faults: list[m.Fault] = []
    link.add_fault_listener(lambda fault, t: faults.append(fault))
    start = telemetry.wait(lambda e: e.msg.flags & m.Flags.OUTPUT_ENABLED, 0, "output on").msg
    # 3x the watchdog of board time with nothing sent but the link's own heartbeats
    telemetry.wait(
        lambda e: (e.msg.board_time_us - start.board_time_us) & 0xFFFFFFFF > 1_500_000, 0,
        "1.5 s of board time",
    )
    assert faults == []
    last = telemetry.after(0)[-1].msg
    assert last.flags & m.Flags.OUTPUT_ENABLED and last.latched_fault == 0
    link.request(m.Output(0))


def test_unplug_and_replug_reconnect(server, link, telemetry):
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    server.unplug()
    wait_for(lambda: link.state is LinkState.DISCONNECTED, what="DISCONNECTED after unplug")
    wait_for(lambda: states, what="the state listener told")  # listeners run just after the state changes
    assert "board disconnected" in states[0][1]
    with pytest.raises(BoardDisconnected):
        link.request(m.GetStatus())
    server.replug()
    wait_for(lambda: link.state is LinkState.CONNECTED, what="CONNECTED after replug")
    assert link.stats.reconnects == 1
    mark = telemetry.mark()
    telemetry.wait(lambda e: True, mark, "telemetry after the reconnect")
    assert isinstance(link.request(m.GetStatus()), m.Status)


def test_garbage_flood_is_dropped_and_the_link_carries_on(server, link, telemetry):
    dropped = link.stats.frames_dropped
    server.send_garbage(20_000)
    mark = telemetry.mark()
    telemetry.wait(lambda e: True, mark, "telemetry after the garbage")
    wait_for(lambda: link.stats.frames_dropped > dropped, what="dropped frames counted")
    assert link.state is LinkState.CONNECTED
    assert isinstance(link.request(m.GetStatus()), m.Status)


def test_board_reboot_is_reported(server, link, telemetry):
    reasons: list[str] = []
    link.add_state_listener(lambda s, r: reasons.append(r))
    telemetry.wait(lambda e: e.msg.counter >= 3, 0, "a few samples before the reboot")
    server.reboot()
    rebooted = telemetry.wait(lambda e: e.board_rebooted, 0, "reboot flagged on telemetry")
    assert rebooted.lost_before == 0
    assert any(r.startswith("board rebooted") for r in reasons)
    assert link.stats.board_reboots == 1
