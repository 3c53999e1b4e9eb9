"""Fault drill: the console is killed mid-treatment (SIGKILL: a crash, the task manager, a power cut
of the PC alone).

Nothing on the console side can act any more, so the drill runs the console
in a child process (``console_child.py``: station -> treatment desk ->
controller -> recorder -> SQLite) against a simulated board this process
owns, kills it while it treats at about 1 mA, and checks:

- the output ends at zero: the board's own watchdog (ICD §4, fault 1; the
  console sets 500 ms for treatments) cuts it, seen in the simulator's state
  and in the telemetry the next console start reads from the board;
- the next start recovers the session (``app.open_records``): it is closed as
  "interrupted" with the reason, the committed samples are kept (times in
  order, the treatment current visible, at most the last commit interval
  lost), the dose is the one they show, and the audit chain verifies.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ionto_console.app import open_records
from ionto_console.control.treatment_desk import TREATMENT_WATCHDOG_MS
from ionto_console.core.samples import BoardFault
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from ionto_console.records import load_events, load_samples, load_session, sqlite_url
from ionto_console.records.store import INTERRUPTED_REASON, dose_from_samples
from drill_bench import DEADLINE_S, TREATING_MA, assert_record_intact, connect_station, sqlite_path
from support import wait_for

HERE = Path(__file__).parent
#: The child needs a few seconds to import, connect and ramp on a loaded machine.
CHILD_READY_S = 30.0
#: Treat this long (reports from the child) before the kill, so several commits are on disk.
TREAT_BEFORE_KILL_S = 0.6
#: Scheduling slack on top of the board's watchdog time (the simulator shares this loaded PC).
WATCHDOG_SLACK_S = 1.5
#: The writer commits every 200 ms (DESIGN §4: a crash loses at most 250 ms); slack for a loaded PC.
COMMIT_BUDGET_S = 0.25
COMMIT_SLACK_S = 0.5


class ChildConsole:
    """The console process and its report lines (read on a thread: a hung child never blocks the test)."""

    def __init__(self, port: str, url: str, log_path: Path) -> None:
        paths = [str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        # stderr to a file: a pipe nobody reads while the child runs could fill and stall it
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.process = subprocess.Popen([sys.executable, str(HERE / "console_child.py"), port, url],
                                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session_id: int | None = None
        self.newest_t = 0.0  # session time of the newest sample the child's controller had seen
        self.treating_since: float | None = None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def take(self, timeout: float) -> bool:
        """Take one report line; False when the child's output ended."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return True
        if line is None:
            return False
        words = line.split()
        if words[:1] == ["session"]:
            self.session_id = int(words[1])
        elif words[:1] == ["treating"] and words[1] == "treating" and float(words[2]) > TREATING_MA:
            self.newest_t = float(words[3])
            if self.treating_since is None:
                self.treating_since = time.monotonic()
        return True

    def treat_for(self, seconds: float, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        while self.treating_since is None or time.monotonic() - self.treating_since < seconds:
            if not self.take(0.1):
                pytest.fail(f"the console ended on its own: {self.stderr()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"the console did not start treating in time: {self.stderr()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(DEADLINE_S)
        self._reader.join(DEADLINE_S)
        while not self.lines.empty() and self.take(0):  # what it printed before it died
            pass

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def board():
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=7).start()
    try:
        yield server
    finally:
        server.stop()


def board_output(server: SimulatedBoardServer) -> tuple[bool, float, int]:
    """(output enabled, true current A, latched fault) from the simulated board itself."""
    with server.lock:
        return bool(server.board.flags() & 1), server.model.snapshot().true_current_a, int(server.board.latched_fault)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_console_killed_the_board_watchdog_ends_the_output_and_the_next_start_recovers_the_session(board, tmp_path):
    url = sqlite_url(sqlite_path(tmp_path))
    child = ChildConsole(board.port, url, tmp_path / "console.log")
    try:
        child.treat_for(TREAT_BEFORE_KILL_S, CHILD_READY_S)
        enabled, current_a, fault = board_output(board)
        assert enabled and current_a > TREATING_MA / 1000 and fault == BoardFault.NONE, (enabled, current_a, fault)
        killed_at = time.monotonic()
        child.kill()
    finally:
        child.close()
    assert child.process.returncode == -signal.SIGKILL and child.session_id is not None

    # The output ends at zero, by the board's watchdog and nothing else.
    wait_for(lambda: board_output(board) == (False, 0.0, BoardFault.WATCHDOG), DEADLINE_S,
             "the board's watchdog to cut the output")
    to_zero_s = time.monotonic() - killed_at
    print(f"SIGKILL to zero output: {to_zero_s * 1000:.0f} ms (watchdog {TREATMENT_WATCHDOG_MS} ms)")
    assert to_zero_s <= TREATMENT_WATCHDOG_MS / 1000 + WATCHDOG_SLACK_S, f"output on for {to_zero_s:.2f} s"

    # The next start: the console connects to the board and opens the records.
    station = connect_station(board.port)
    try:
        wait_for(lambda: station.snapshot().live.latched_fault == BoardFault.WATCHDOG, DEADLINE_S,
                 "the watchdog fault in telemetry")
        live = station.snapshot().live
        assert not live.output_on and abs(live.current_ma) < 0.05 and live.target_ma == 0, live
    finally:
        station.disconnect()
    db, problem, recovered = open_records(url, "drill-station", demo=True)
    assert db is not None and problem == "" and recovered == [child.session_id], (problem, recovered)
    try:
        summary = load_session(db, child.session_id)
        assert summary.state == "interrupted" and summary.reason == INTERRUPTED_REASON, summary
        series = load_samples(db, child.session_id)
        assert len(series) > 0 and summary.sample_count == len(series)
        steps = np.diff(series.t)
        assert (steps > 0).all(), "stored sample times are not strictly increasing"
        assert steps.max() < 0.1, f"a {steps.max():.3f} s hole in the stored samples"
        assert float(series.current_ma.max()) > TREATING_MA, "the stored samples never show the treatment"
        lost_s = child.newest_t - float(series.t[-1])
        print(f"samples lost at SIGKILL: {lost_s * 1000:.0f} ms")
        assert lost_s <= COMMIT_BUDGET_S + COMMIT_SLACK_S, f"lost {lost_s:.3f} s of samples"
        # The record is complete: its end at the last saved sample, the dose the samples show.
        duration = summary.duration_s
        assert duration is not None and float(series.t[-1]) - 1e-3 <= duration <= float(series.t[-1]) + 0.5, \
            (duration, float(series.t[-1]))
        assert summary.dose_delivered_ma_min == pytest.approx(dose_from_samples(series), rel=1e-6)
        assert summary.dose_delivered_ma_min > 0
        assert "state" in [event.kind for event in load_events(db, child.session_id)]
        assert_record_intact(db)
    finally:
        db.close()
