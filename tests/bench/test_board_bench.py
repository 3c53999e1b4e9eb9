"""The whole bench with the board simulator: the DMM in series reads what the board really drives,
and the bench CLI starts everything and takes faults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from ionto_console.drivers.bench import DecadeResistor, InstrumentTimeout, KeysightDmm, open_instrument
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import BoardLink, LinkState
from ionto_sim.scpi import SimulatedBench

from support import wait_for_value

NOISE_A = 1e-6  # > 10 sigma of the 10 mA range at 10 NPLC


@pytest.fixture
def bench_with_board():
    with SimulatedBench(load_ohms=4700.0, seed=3) as bench:
        yield bench


@pytest.fixture
def link(bench_with_board):
    link = BoardLink(bench_with_board.board.port, reply_timeout_s=2.0, reconnect_period_s=0.05)
    link.open()
    assert link.state is LinkState.CONNECTED, link.reason
    yield link
    link.close()


def _settled_reading(bench, dmm) -> tuple[float, float]:
    """(true current before, DMM reading) taken while the model's current did not change."""
    def sample() -> tuple[float, float, float]:
        before = bench.model.snapshot().mean_current_a
        reading = dmm.read()
        return before, reading, bench.model.snapshot().mean_current_a
    before, reading, after = wait_for_value(sample, lambda s: s[0] == s[2] and abs(s[1] - s[0]) < NOISE_A,
                                      "a DMM reading of a steady current")
    return before, reading


def test_dmm_reads_the_true_current_the_board_drives_into_the_decade(bench_with_board, link, rm) -> None:
    bench = bench_with_board
    with open_instrument(bench.resources["dmm"], KeysightDmm, resource_manager=rm, timeout_ms=3000) as dmm, \
            open_instrument(bench.resources["decade"], DecadeResistor, resource_manager=rm, timeout_ms=3000) as box:
        box.set_resistance(2200.0)
        assert bench.model.snapshot().circuit.dc_ohm == pytest.approx(2200.0)
        dmm.configure_current_dc(10e-3, nplc=10)
        link.request(m.SetLimits(4000, 5000, 250))
        link.request(m.SetTarget(2000))
        link.request(m.Output(1))
        wait_for_value(lambda: bench.model.snapshot(), lambda s: s.output_enabled and s.true_current_a > 1.5e-3,
                 "the board's output to reach about 2 mA")
        true_a, reading = _settled_reading(bench, dmm)
        assert reading == pytest.approx(true_a, abs=NOISE_A) and true_a > 1.5e-3
        snap = bench.model.snapshot()
        assert snap.voltage_v == pytest.approx(snap.true_current_a * 2200.0, rel=1e-6)

        link.request(m.Stop(0))
        wait_for_value(lambda: bench.model.snapshot(), lambda s: not s.output_enabled, "output off")
        assert abs(dmm.read()) < NOISE_A


def _start_cli(*args: str) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "ionto_sim.scpi.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    names = ("port", "control", "dmm", "smu", "lcr", "decade", "bench-control")
    lines: dict[str, str] = {}
    timer = threading.Timer(20.0, proc.kill)  # a wedged child must not hang the suite
    timer.start()
    try:
        while len(lines) < len(names):
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"bench CLI ended early: {proc.stderr.read()}")
            key, _, value = line.strip().partition(": ")
            lines[key] = value
    finally:
        timer.cancel()
    assert set(lines) == set(names)
    return proc, lines


def test_cli_starts_the_bench_and_takes_faults(rm) -> None:
    proc, lines = _start_cli("--seed", "1", "--load-ohms", "4700")
    try:
        assert os.path.exists(lines["port"])
        assert lines["dmm"].startswith("TCPIP::127.0.0.1::") and lines["dmm"].endswith("::SOCKET")
        with open_instrument(lines["decade"], DecadeResistor, resource_manager=rm, timeout_ms=3000) as box:
            assert box.resistance_ohm == 4700.0
        with open_instrument(lines["dmm"], KeysightDmm, resource_manager=rm, timeout_ms=3000) as dmm:
            fault = subprocess.run([sys.executable, "-m", "ionto_sim.scpi.cli", "fault", "dmm",
                                    "hang", "--control", lines["bench-control"]],
                                   capture_output=True, text=True, timeout=60)
            assert fault.returncode == 0, fault.stderr
            dmm.resource.timeout = 300
            with pytest.raises(InstrumentTimeout):
                dmm.read()
        bad = subprocess.run([sys.executable, "-m", "ionto_sim.scpi.cli", "error", "dmm", "x", "y",
                              "--control", lines["bench-control"]], capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "invalid int value" in bad.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
