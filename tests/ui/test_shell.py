"""The console shell against the simulated board over a real pseudo-terminal."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ionto_console.app import SIMULATOR_KEY
from ionto_console.ui.connection_panel import calibration_text

WAIT_MS = 8000


def test_connects_to_simulator_and_shows_identity_and_live_data(qtbot, window, sources):
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: window.connection.state_label.text() == "Board connected", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "SIM-" in window.connection.ident_label.text(), timeout=WAIT_MS)
    window.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.plots.curve_points() > 20, timeout=WAIT_MS)
    assert window.output_state.text() == "Output off"
    assert window.current.text() != "--"
    assert window.connection.calibration_label.text().startswith("Calibration valid until")


def test_unplugged_board_says_disconnected_then_reconnects(qtbot, window, sources):
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: window.connection.state_label.text() == "Board connected", timeout=WAIT_MS)
    sources.simulator.unplug()
    qtbot.waitUntil(lambda: "disconnected" in window.connection.state_label.text().lower(), timeout=WAIT_MS)
    assert window.current.text() == "--"
    received = window.station.snapshot().telemetry_received
    sources.simulator.replug()
    qtbot.waitUntil(lambda: window.connection.state_label.text() == "Board connected", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.station.snapshot().telemetry_received > received, timeout=WAIT_MS)


def test_missing_port_is_a_plain_message_not_a_traceback(qtbot, window, sources):
    sources.connect("/dev/does-not-exist-ionto")
    qtbot.waitUntil(lambda: "disconnected" in window.connection.state_label.text().lower()
                    or "not" in window.connection.state_label.text().lower(), timeout=WAIT_MS)
    assert "Traceback" not in window.connection.state_label.text()


def test_calibration_line_in_plain_words():
    cal = int(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc).timestamp())
    text, ok = calibration_text(cal, 365, dt.date(2026, 11, 21))
    assert ok and text.startswith("Calibration valid until 2027-03-01")
    text, ok = calibration_text(cal, 180, dt.date(2026, 11, 21))
    assert not ok and "lapsed on 2026-08-28" in text
    text, ok = calibration_text(0, 365, dt.date(2026, 11, 21))
    assert not ok and "never calibrated" in text


def test_console_starts_quickly_as_a_program(tmp_path):
    import os
    import subprocess
    import sys

    shot = tmp_path / "shell.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               IONTO_DATABASE_URL=f"sqlite:///{tmp_path / 'records.sqlite3'}",
               IONTO_DEMO="1", IONTO_AUTOLOGIN="therapist")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ionto_console", "--quit-after", "2.5", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "console ready in" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert shot.stat().st_size > 10_000
