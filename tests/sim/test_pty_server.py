"""SimulatedBoardServer over a real pseudo-terminal, opened with pyserial like the console does."""

from __future__ import annotations

import os
import time
from typing import Callable

import pytest
import serial

from ionto_console.drivers.board.framing import FrameDecoder
from ionto_console.drivers.board.messages import (
    Ack, Fault, FaultCode, GetStatus, Hello, Ident, Message, Output, SetRate, SetTarget, Status, Telemetry,
    parse,
)
from ionto_sim.control import ControlError, send_command
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer

DEADLINE_S = 5.0


class Host:
    """The console's side of the wire, reduced to bytes: pyserial + FrameDecoder."""

    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, timeout=0.05)
        self.decoder = FrameDecoder()
        self.seen: list[Message] = []
        self._unread: list[Message] = []

    def send(self, msg: Message, seq: int = 1) -> None:
        self.ser.write(msg.frame(seq))

    def wait_for(self, predicate: Callable[[Message], bool], what: str) -> Message:
        """Return the first not yet examined message matching ``predicate``."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            while self._unread:
                msg = self._unread.pop(0)
                if predicate(msg):
                    return msg
            if time.monotonic() > deadline:
                break
            fresh = [parse(frame) for frame in self.decoder.feed(self.ser.read(4096))]
            self.seen += fresh
            self._unread += fresh
        raise AssertionError(f"no {what} within {DEADLINE_S} s")

    def close(self) -> None:
        self.ser.close()


@pytest.fixture
def server():
    with SimulatedBoardServer(load=ResistorLoad(2_000), seed=3) as srv:
        yield srv


@pytest.fixture
def host(server):
    h = Host(server.port)
    yield h
    h.close()


def test_hello_gets_ident_and_telemetry_flows(server, host):
    host.send(Hello(), seq=42)
    ident = host.wait_for(lambda m: isinstance(m, Ident), "IDENT")
    assert ident.serial_number == "SIM-00001" and ident.protocol_revision == 1
    host.send(SetRate(500))
    host.wait_for(lambda m: isinstance(m, Ack), "ACK")
    first = host.wait_for(lambda m: isinstance(m, Telemetry), "telemetry")
    host.wait_for(lambda m: isinstance(m, Telemetry) and m.counter >= first.counter + 200, "200 samples")
    counters = [m.counter for m in host.seen if isinstance(m, Telemetry) and m.counter >= first.counter]
    assert counters == list(range(first.counter, first.counter + len(counters)))  # nothing lost
    assert host.decoder.dropped == 0


def test_port_is_a_stable_symlink_in_raw_mode(server):
    assert os.path.islink(server.port) and os.readlink(server.port).startswith("/dev/pts/")
    host = Host(server.port)
    try:
        # bytes a cooked tty would translate or swallow: CR, LF, ^C, ^Q, ^S, ^Z, DEL
        target = int.from_bytes(b"\x0d\x0a\x03\x11", "little")
        with server.lock:
            server.board.max_current_ua = 0xFFFFFFFF  # let this odd value through the range check
        host.send(SetTarget(target))
        host.wait_for(lambda m: isinstance(m, Ack), "ACK")
        assert server.board.target_ua == target
    finally:
        host.close()


def test_output_and_model_are_shared(server, host):
    host.send(SetTarget(1_000))
    host.send(Output(1), seq=2)
    host.wait_for(lambda m: isinstance(m, Telemetry) and m.current_ua > 20, "current rising")
    assert server.model.snapshot().output_enabled
    host.wait_for(lambda m: isinstance(m, Fault) and m.code == FaultCode.WATCHDOG, "watchdog fault")
    assert server.model.snapshot().true_current_a == 0.0


def test_unplug_makes_reads_fail_and_replug_works_on_the_same_path(server, host):
    path = server.port
    host.send(Hello())
    host.wait_for(lambda m: isinstance(m, Ident), "IDENT")
    server.unplug()
    assert not os.path.exists(path)
    with pytest.raises(serial.SerialException):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            host.ser.read(4096)
    host.close()
    server.replug()
    assert server.port == path and os.path.exists(path)
    again = Host(path)
    try:
        again.send(Hello(), seq=9)
        assert again.wait_for(lambda m: isinstance(m, Ident), "IDENT after replug").serial_number == "SIM-00001"
    finally:
        again.close()


def test_stall_link_loses_samples_and_lets_the_watchdog_trip(server, host):
    host.send(SetTarget(500))
    host.send(Output(1), seq=2)
    before = host.wait_for(lambda m: isinstance(m, Telemetry) and m.flags & 1, "output on")
    server.stall_link(0.6)
    after = host.wait_for(lambda m: isinstance(m, Telemetry) and m.counter > before.counter + 40, "after stall")
    counters = [m.counter for m in host.seen if isinstance(m, Telemetry) and m.counter >= before.counter]
    assert any(b - a > 1 for a, b in zip(counters, counters[1:]))  # the gap shows the loss
    assert after.latched_fault == FaultCode.WATCHDOG


def test_garbage_is_dropped_by_the_host_decoder(server, host):
    host.wait_for(lambda m: isinstance(m, Telemetry), "telemetry")
    server.send_garbage(30)
    host.wait_for(lambda m: isinstance(m, Telemetry) and host.decoder.dropped >= 1, "a dropped frame")
    assert host.decoder.dropped == 1


def test_hw_stop_reboot_and_self_test_through_the_server(server, host):
    server.press_hw_stop()
    fault = host.wait_for(lambda m: isinstance(m, Fault), "FAULT")
    assert fault.code == FaultCode.HARDWARE_STOP
    server.release_hw_stop()
    server.fail_self_test(4)
    server.reboot()
    fault = host.wait_for(lambda m: isinstance(m, Fault) and m.code == FaultCode.SELF_TEST, "self-test fault")
    assert fault.detail == 4
    host.send(GetStatus(), seq=5)
    status = host.wait_for(lambda m: isinstance(m, Status), "STATUS")
    assert status.latched_fault == FaultCode.SELF_TEST and status.uptime_ms < 2_000


def test_control_socket_drives_the_model(server):
    address = server.control_address
    assert address[0] == "127.0.0.1"
    assert send_command(address, "lift_electrode") == {"ok": True}
    assert server.model.snapshot().condition == "lifted"
    send_command(address, "restore_electrode")
    send_command(address, "set_load", load="resistor:4700")
    assert server.model.snapshot().circuit.dc_ohm == 4_700
    status = send_command(address, "status")
    assert status["port"] == server.port and status["model"]["condition"] == "normal"
    with pytest.raises(ControlError, match="unknown command"):
        send_command(address, "explode")
    with pytest.raises(ControlError, match="needs 'seconds'"):
        send_command(address, "stall_link")
    with pytest.raises(ControlError, match="set_load failed"):
        send_command(address, "set_load", load="potato")


def test_control_socket_answers_bad_json_with_an_error_line(server):
    import json
    import socket

    with socket.create_connection(server.control_address, timeout=DEADLINE_S) as sock:
        reader = sock.makefile("rb")
        sock.sendall(b"this is not json\n[1, 2]\n")
        assert json.loads(reader.readline())["ok"] is False
        assert "cmd" in json.loads(reader.readline())["error"]
        sock.sendall(b'{"cmd": "ping"}\n')
        assert json.loads(reader.readline()) == {"ok": True}
