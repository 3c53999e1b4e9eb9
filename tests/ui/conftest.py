"""Fixtures that run the real console pieces against the board simulator on a pty."""

from __future__ import annotations

import pytest

from ionto_console.app import BoardSources
from ionto_console.control.station import Station
from ionto_console.settings import Settings


@pytest.fixture
def sources():
    station = Station()
    sources = BoardSources(station, Settings())
    yield sources
    sources.shutdown()
