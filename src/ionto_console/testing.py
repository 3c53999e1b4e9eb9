"""``ionto_console.testing``: a pytest plugin for QA, registered through the ``pytest11`` entry point.

Installed with the console, it offers these fixtures to any test suite (the
simulator and Qt are imported only when a fixture that needs them is used):

``simulated_station``
    A board simulator (5 kΩ resistor load) on a pseudo-terminal, a connected
    ``Station`` with telemetry flowing, and a ``TreatmentDesk`` on it in demo
    mode (the only mode that treats on the simulator's board; no records). Attributes ``server``, ``station``, ``desk``.
``fault_injection``
    The simulated station's faults, by name: ``lift_electrode()``,
    ``restore_electrode()``, ``short_electrodes()``, ``inject_overcurrent()``,
    ``stall_link(seconds)``, ``unplug()``, ``replug()``, ``reboot()``,
    ``press_hw_stop()``, ``send_garbage(nbytes)``.
``replayed_recording``
    ``replayed_recording(recording, protocol_id, speed=math.inf)``: replays a
    session's black box (a path to an exported ``.ionto-wire`` file, or its
    bytes) through the console's decoder, sequence rule and engine on the
    recording's own clock (``ionto_console.replay``; ``realtime=True``: through
    a real link and controller in wall-clock time) and returns the ``ReplayReport``: ``recorded`` and ``replayed`` decisions,
    ``missing``, ``extra``, ``same``, ``differences()``.
``console_main_window``
    The real ``MainWindow`` under pytest-qt's ``qtbot``, shown and connected
    to the simulated station (needs pytest-qt).

See docs/qa-guide.md: a field report turned into a regression test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

#: Deadline for the simulated station to connect and stream (the machine may be loaded).
CONNECT_TIMEOUT_S = 10.0


@dataclass
class SimulatedStation:
    server: Any  # ionto_sim.pty_server.SimulatedBoardServer
    station: Any  # ionto_console.control.station.Station
    desk: Any  # ionto_console.control.treatment_desk.TreatmentDesk


class FaultInjector:
    """The simulator's fault methods under their plain names (see the module docstring)."""

    NAMES = ("lift_electrode", "restore_electrode", "short_electrodes", "clear_short", "inject_overcurrent",
             "stall_link", "unplug", "replug", "reboot", "press_hw_stop", "release_hw_stop", "send_garbage")

    def __init__(self, server: Any) -> None:
        self._server = server

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name not in self.NAMES:
            raise AttributeError(f"no fault {name!r}; faults: {', '.join(self.NAMES)}")
        return getattr(self._server, name)


def _wait(predicate: Callable[[], bool], what: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def simulated_station() -> Iterator[SimulatedStation]:
    """A simulated board, a connected station and a treatment desk (no records)."""
    from ionto_sim.model import ResistorLoad  # the simulator only when a test asks for it
    from ionto_sim.pty_server import SimulatedBoardServer

    from .control.station import Station
    from .control.treatment_desk import TreatmentDesk
    from .drivers.board.link import LinkState

    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=11).start()
    station = Station()
    desk = TreatmentDesk(station, demo=True)  # the simulator's board treats only in demo mode
    try:
        station.connect(server.port)
        _wait(lambda: station.link is not None and station.link.state is LinkState.CONNECTED
              and station.snapshot().live is not None, "the simulated board connected with telemetry")
        yield SimulatedStation(server, station, desk)
    finally:
        desk.shutdown()
        station.disconnect()
        server.stop()


@pytest.fixture
def fault_injection(simulated_station: SimulatedStation) -> FaultInjector:
    """Faults of the simulated station's board, by name."""
    return FaultInjector(simulated_station.server)


@pytest.fixture
def replayed_recording() -> Callable[..., Any]:
    """``replayed_recording(recording, protocol_id, speed=math.inf)`` -> ``ReplayReport``."""
    from .core.protocols import load_library
    from .records.wire_log import decode
    from .replay import replay

    def run(recording: str | Path | bytes, protocol_id: str, speed: float = float("inf"), **kwargs: Any) -> Any:
        data = recording if isinstance(recording, bytes) else Path(recording).read_bytes()
        protocol = next((p for p in load_library() if p.id == protocol_id), None)
        if protocol is None:
            raise ValueError(f"no protocol {protocol_id!r} in the library")
        return replay(list(decode(data)), protocol, speed=speed, **kwargs)

    return run


@pytest.fixture
def console_main_window(request: pytest.FixtureRequest, simulated_station: SimulatedStation) -> Any:
    """The real main window under qtbot, connected to the simulated station."""
    qtbot = request.getfixturevalue("qtbot")
    from .app import BoardSources
    from .core.protocols import load_library
    from .settings import Settings
    from .ui.alarm_sound import RecordingPlayer
    from .ui.main_window import MainWindow

    sources = BoardSources(simulated_station.station, Settings(board_port=simulated_station.server.port))
    window = MainWindow(simulated_station.station, sources, simulated_station.desk, load_library(),
                        alarm_player=RecordingPlayer())
    qtbot.addWidget(window)
    window.show()
    return window
