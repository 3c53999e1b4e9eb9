"""Fixtures that run the real console pieces against the board simulator on a pty."""

from __future__ import annotations

import pytest

from ionto_console.app import BoardSources
from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.protocols import load_library
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow
from ionto_console.settings import Settings


@pytest.fixture(autouse=True)
def close_without_asking(monkeypatch):
    """Test windows are closed by pytest-qt at teardown: answer the window's close questions
    with Yes (stop the output, close unsigned) instead of opening a modal box nobody answers.
    Tests of the questions themselves set ``window.confirm``."""
    monkeypatch.setattr(MainWindow, "confirm", lambda self, title, question: True)


@pytest.fixture
def sources():
    """Demo mode's sources: the only console that offers (and may connect) the simulated board."""
    station = Station()
    sources = BoardSources(station, Settings(demo=True))
    yield sources
    sources.shutdown()


@pytest.fixture
def clinical_sources():
    """A clinical console's sources with no board configured: serial ports only."""
    station = Station()
    sources = BoardSources(station, Settings(demo=False, board_port=None))
    yield sources
    sources.shutdown()


@pytest.fixture
def desk(sources):
    desk = TreatmentDesk(sources.station, demo=True)
    yield desk
    desk.shutdown()


@pytest.fixture
def window(qtbot, sources, desk):
    win = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.show()
    return win
