"""``ionto-sim`` as a user runs it: a real process, its printed port, fault injection from outside."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

from ionto_console.drivers.board.framing import FrameDecoder
from ionto_console.drivers.board.messages import Hello, Ident, parse
from ionto_sim import cli
from ionto_sim.control import parse_address, send_command

DEADLINE_S = 10.0  # a cold interpreter start on a loaded machine


def start(argv: list[str]) -> tuple[subprocess.Popen, dict[str, str]]:
    """Start ionto-sim and collect its ``port:`` and ``control:`` lines (a reader thread: no blocking)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    printed: dict[str, str] = {}
    deadline = time.monotonic() + DEADLINE_S
    while len(printed) < 2:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            proc.kill()
            raise AssertionError(f"ionto-sim printed only {printed}; stderr: {proc.stderr.read()}") from None
        key, _, value = line.strip().partition(": ")
        printed[key] = value
    return proc, printed


def stop(proc: subprocess.Popen, sig: int = signal.SIGINT) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_module_run_prints_a_working_port_and_control_address(tmp_path, capsys):
    proc, printed = start([sys.executable, "-m", "ionto_sim.cli", "run",
                           "--load", "resistor:1000", "--serial", "SIM-CLI-7", "--link-dir", str(tmp_path)])
    try:
        port = printed["port"]
        assert port == str(tmp_path / "ionto-board")
        with serial.Serial(port, timeout=0.05) as ser:
            ser.write(Hello().frame(1))
            decoder, ident = FrameDecoder(), None
            deadline = time.monotonic() + DEADLINE_S
            while ident is None and time.monotonic() < deadline:
                ident = next((m for m in map(parse, decoder.feed(ser.read(4096))) if isinstance(m, Ident)), None)
            assert ident is not None and ident.serial_number == "SIM-CLI-7"
        control = printed["control"]
        assert cli.main(["inject", "lift_electrode", "--control", control]) == 0
        assert cli.main(["inject", "stall_link", "0.1", "--control", control]) == 0
        status = send_command(parse_address(control), "status")
        assert status["model"]["condition"] == "lifted" and status["model"]["circuit"]["rs_ohm"] is None
        assert capsys.readouterr().out.count("ok") == 2
        assert cli.main(["inject", "stall_link", "--control", control]) == 2  # missing argument
        assert cli.main(["inject", "set_load", "potato", "--control", control]) == 1
        assert "unknown load" in capsys.readouterr().err
    finally:
        assert stop(proc) == 0
    assert not Path(port).exists()


def test_entry_point_script_runs_and_stops_on_sigterm():
    script = Path(sys.executable).with_name("ionto-sim")
    if not script.exists():
        pytest.fail(f"the ionto-sim entry point is not installed next to {sys.executable}")
    proc, printed = start([str(script), "run", "--load", "tray", "--seed", "3"])
    assert os.path.islink(printed["port"])
    assert stop(proc, signal.SIGTERM) == 0


def test_bad_arguments_give_clear_messages(capsys, monkeypatch):
    monkeypatch.delenv("IONTO_SIM_CONTROL", raising=False)
    assert cli.main(["run", "--load", "capacitor:3"]) == 2
    assert "unknown load" in capsys.readouterr().err
    assert cli.main(["run", "--serial", "X" * 17]) == 2
    assert "16 ASCII" in capsys.readouterr().err
    assert cli.main(["run", "--serial", "IONTO1-000042"]) == 2  # the simulator never poses as a real board
    assert "starts with 'SIM-'" in capsys.readouterr().err
    assert cli.main(["inject", "reboot"]) == 2
    assert "--control" in capsys.readouterr().err
    assert cli.main(["inject", "reboot", "--control", "127.0.0.1:1"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["inject", "explode", "--control", "127.0.0.1:1"])
