"""STOP and the side-effect buttons fit every clinic display (issue 14, blocker).

Each case sizes the real main window to a screen's free area in logical
pixels (physical size / QT_SCALE_FACTOR: Qt lays out in logical pixels, and
fonts in points scale with the factor, so a 1366x768 screen at 125 % is laid
out exactly as a 1093x614 window at 100 %). "maximised" is the whole screen
less a 40-pixel taskbar; "window" also loses a 30-pixel title bar and an
8-pixel frame. With an alarm banner up and a known patient's history shown,
every stop button must lie inside the window, uncovered, and the window must
not have grown past the size it was given.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, QRect

from ionto_console.control.patient_history import PatientHistory
from ionto_console.core.alarms import AlarmPriority
from ionto_console.core.protocols import load_library
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow

SCREENS = [(1280, 720), (1366, 768), (1920, 1080)]
SCALES = [1.0, 1.25, 1.5]
TASKBAR, TITLE_BAR, FRAME = 40, 30, 8

KNOWN_PATIENT = PatientHistory(
    True, "Maximiliane Theodora Wolkenstein-Hohenberg",
    tuple(f"2026-11-{day:02d}: Dexamethasone 4 mg/mL, 40 mA·min — complete, 40.0 mA·min, Achilles tendon (left)"
          for day in (2, 9, 16, 23)),
    None,
    ("Course: 4 of 6 sessions done; the next is due no earlier than 2026-11-30.",
     "Skin redness after the last session: check the site before starting."),
)


def logical_area(width: int, height: int, scale: float, maximised: bool) -> tuple[int, int]:
    w, h = width / scale, height / scale - TASKBAR
    if not maximised:
        w, h = w - 2 * FRAME, h - TITLE_BAR - FRAME
    return int(w), int(h)


@pytest.fixture
def window(qtbot, sources, desk):
    win = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    win.setup.set_history_source(lambda _id, _protocol, on_done: on_done(KNOWN_PATIENT))
    win.setup.patient_id.setText("P-1001")
    win.setup.look_up_patient()
    desk.alarms.raise_alarm("test-high", AlarmPriority.HIGH,
                            "Output stopped: the electrode lifted off the skin (impedance above the limit)",
                            time.monotonic())
    win.alarm_banner.refresh()
    return win


def rect_in(window, widget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


@pytest.mark.parametrize("maximised", [True, False], ids=["maximised", "window"])
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("screen_size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_stop_button_is_on_screen(qtbot, window, screen_size, scale, maximised):
    width, height = logical_area(*screen_size, scale, maximised)
    window.resize(width, height)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)  # let the reflowing grids and the banner settle
    assert window.setup.history_label.text().startswith("2026-11-02")  # the known patient's history is shown
    assert window.alarm_banner.isVisible()
    assert (window.width(), window.height()) == (width, height), "the window grew past the screen"
    inside = window.rect()
    banner = rect_in(window, window.alarm_banner)
    for button in window.treatment.stops.all_buttons():
        where = rect_in(window, button)
        assert button.isVisible(), button.objectName()
        assert inside.contains(where), f"{button.objectName()} at {where} outside {inside}"
        assert not banner.intersects(where), f"the alarm banner covers {button.objectName()}"
        assert where.height() >= 40 and where.width() >= 100, f"{button.objectName()} is too small: {where}"


def test_the_window_can_be_made_as_small_as_the_smallest_screen(qtbot, window):
    """1280x720 at 150 % without a taskbar: 853x480 logical pixels."""
    window.show()
    qtbot.waitExposed(window)
    hint = window.minimumSizeHint()
    assert hint.width() <= 853 and hint.height() <= 480 - TASKBAR - TITLE_BAR - FRAME, hint


def test_the_alarm_banner_overlays_instead_of_pushing(qtbot, window):
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    stop_before = rect_in(window, window.treatment.stops.emergency)
    window.desk.alarms.acknowledge_all(time.monotonic())
    window.desk.alarms.clear("test-high", time.monotonic())
    window.alarm_banner.refresh()
    qtbot.wait(50)
    assert not window.alarm_banner.isVisible()
    assert rect_in(window, window.treatment.stops.emergency) == stop_before
