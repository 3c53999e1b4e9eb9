"""The board simulator as a separate process, the way the console uses it by default.

Why a process and not threads in the console: a real board keeps its own
time whatever the console is doing. In-process, the simulated board would
share the console's interpreter lock with Qt painting, so a busy GUI could
delay the board itself and fake a telemetry gap. As a process it is as
independent of the console as hardware, and faults are injected through
its control socket, exactly as from ``ionto-sim inject``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from typing import Any

from .control import COMMANDS, ControlError, parse_address, send_command

START_TIMEOUT_S = 15.0
#: The lines ``ionto-sim run --bench`` prints for its instruments (before ``port`` and ``control``).
INSTRUMENT_KEYS = ("dmm", "smu", "lcr", "decade")


class SimulatorProcess:
    """``ionto-sim run`` in a child process; fault commands as methods (``lift_electrode()``...)."""

    def __init__(self, load: str = "skin", serial_number: str = "SIM-00001", seed: int | None = None,
                 bench: bool = False) -> None:
        """``bench``: the calibration bench's simulated instruments too, measuring this board
        (``instruments``: role -> VISA resource, once ready)."""
        self._argv = [sys.executable, "-m", "ionto_sim.cli", "run", "--load", load,
                      "--serial", serial_number]
        if seed is not None:
            self._argv += ["--seed", str(seed)]
        if bench:
            self._argv.append("--bench")
        #: The simulated bench instruments' VISA resources ({} without ``bench``), e.g. ``{"dmm": "TCPIP::…"}``.
        self.instruments: dict[str, str] = {}
        self._proc: subprocess.Popen[str] | None = None
        self.port = ""
        self.control_address: tuple[str, int] = ("127.0.0.1", 0)

    def start(self) -> None:
        """Launch the simulator and wait until it has reported its port and control address."""
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the process without waiting for it (``wait_ready`` reads what it reports)."""
        # stderr to a file, not a pipe: an unread pipe that fills up would stall the board
        self._stderr = tempfile.TemporaryFile(mode="w+t")
        self._proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE, stderr=self._stderr, text=True)

    def wait_ready(self) -> None:
        """Read the port and control address the process prints; raise if it does not start."""
        assert self._proc is not None, "launch() first"
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self._proc.stdout is not None
        while time.monotonic() < deadline and not (self.port and self.control_address[1]):
            line = self._proc.stdout.readline()
            if not line:
                self._stderr.seek(0)
                error = self._stderr.read()
                raise RuntimeError(f"the board simulator did not start: {error.strip()[-500:]}")
            key, _, value = line.strip().partition(": ")
            if key == "port":
                self.port = value
            elif key == "control":
                self.control_address = parse_address(value)
            elif key in INSTRUMENT_KEYS:
                self.instruments[key] = value
        if not self.port:
            self.stop()
            raise RuntimeError("the board simulator did not report its port in time")

    def command(self, name: str, **args: Any) -> dict[str, Any]:
        """Send one control command (see ``ionto-sim inject --help``)."""
        return send_command(self.control_address, name, **args)

    def __getattr__(self, name: str):
        if name in COMMANDS:
            names = [arg for arg, _ in COMMANDS[name]]
            return lambda *values: self.command(name, **dict(zip(names, values)))
        raise AttributeError(name)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)
        if proc.stdout is not None:
            proc.stdout.close()
        self._stderr.close()


__all__ = ["SimulatorProcess", "ControlError"]
