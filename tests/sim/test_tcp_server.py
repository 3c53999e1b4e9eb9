"""The simulated board over TCP (``socket://``): the console's link and a whole treatment run over it,
for hosts where pseudo-terminals do not exist."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ionto_console.control.treatment import TreatmentController
from ionto_console.core.engine import TreatmentEngine
from ionto_console.core.session import SessionState
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import BoardLink, LinkState
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from support import small_protocol, wait_for


@pytest.fixture
def tcp_server():
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=5, tcp_port=0).start()
    yield server
    server.stop()


@pytest.fixture
def tcp_link(tcp_server):
    link = BoardLink(tcp_server.port, reply_timeout_s=2.0, reconnect_period_s=0.1)
    events = []
    link.add_telemetry_listener(events.append)
    link.open()
    yield link, events
    link.close()


def test_the_port_is_a_socket_url(tcp_server):
    assert tcp_server.port.startswith("socket://127.0.0.1:") and not tcp_server.port.endswith(":0")


def test_the_link_connects_gets_telemetry_and_answers_over_tcp(tcp_server, tcp_link):
    link, events = tcp_link
    assert link.state is LinkState.CONNECTED, link.reason
    assert link.ident is not None and link.ident.serial_number == "SIM-00001"
    wait_for(lambda: len(events) > 20, 10, "telemetry over TCP")
    assert isinstance(link.request(m.GetStatus()), m.Status)
    assert link.stats.samples_lost == 0 and link.stats.frames_dropped == 0


def test_unplug_and_replug_over_tcp(tcp_server, tcp_link):
    link, events = tcp_link
    tcp_server.unplug()
    wait_for(lambda: link.state is LinkState.DISCONNECTED, 10, "the link to notice the closed socket")
    tcp_server.replug()
    wait_for(lambda: link.state is LinkState.CONNECTED, 10, "reconnected over TCP")
    seen = len(events)
    wait_for(lambda: len(events) > seen + 10, 10, "telemetry after the replug")


def test_a_whole_treatment_over_tcp(tcp_server, tcp_link):
    link, _ = tcp_link
    controller = TreatmentController(link, TreatmentEngine(small_protocol()))
    controller.start_thread()
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().state is SessionState.COMPLETE, 30, "the dose delivered", controller)
        wait_for(lambda: not tcp_server.board.output_enabled, 10, "the board's output off")
        assert controller.snapshot().dose_delivered_ma_min == pytest.approx(small_protocol().dose_target_ma_min, rel=0.05)
    finally:
        controller.close()


def test_cli_run_tcp_prints_a_socket_url():
    proc = subprocess.Popen([sys.executable, "-m", "ionto_sim.cli", "run", "--tcp", "--load", "resistor:5000"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("port: socket://127.0.0.1:"), line
        link = BoardLink(line.removeprefix("port: "), reply_timeout_s=2.0)
        try:
            link.open()
            assert link.state is LinkState.CONNECTED, link.reason
        finally:
            link.close()
    finally:
        proc.terminate()
        proc.wait(10)
