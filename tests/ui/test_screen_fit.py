"""STOP and the side-effect buttons fit every clinic display (issue 14, blocker).

Each case sizes the real main window to a screen's free area in logical
pixels (physical size / QT_SCALE_FACTOR: Qt lays out in logical pixels, and
fonts in points scale with the factor, so a 1366x768 screen at 125 % is laid
out exactly as a 1093x614 window at 100 %). "maximised" is the whole screen
less a 40-pixel taskbar; "window" also loses a 30-pixel title bar and an
8-pixel frame. With an alarm banner up and a known patient's history shown,
every stop button must lie inside the window, uncovered, and the window must
not have grown past the size it was given. The same holds for the controls a
therapist needs next (raise, lower, pause/resume, end early while treating;
Sign after the stop), which are pinned under the scrolling treatment area; and
every protocol's and electrode's whole name is readable on the set-up.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QStyle, QStyleOptionComboBox

from ionto_console.app import SIMULATOR_KEY
from ionto_console.control.patient_history import PatientHistory
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.alarms import AlarmPriority
from ionto_console.core.prechecks import Check
from ionto_console.core.protocols import load_library
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.records import open_database, sqlite_url
from ionto_console.records.demo import mark_as_demo
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import MainWindow
from ionto_console.ui.session_setup import electrode_text

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


# --- the controls a therapist needs next, while treating and after the stop -------------------------------

#: Every screen and scale of the issue, maximised or not (Qt lays out in logical pixels: one window resized).
ALL_AREAS = [(screen, scale, maximised) for screen in SCREENS for scale in SCALES for maximised in (True, False)]
SIGNER_PW = "tendon heals slowly"
WAIT_MS = 15_000


def ready_to_start(qtbot, sources, tmp_path, size: tuple[int, int] | None = None):
    """The demo's window with records (so a session can be signed), the known patient with a long name,
    dexamethasone chosen and a passed checklist: Start is enabled. Returns (window, desk, database)."""
    from ionto_console.accounts import create_first_admin

    db = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    mark_as_demo(db)
    signer = create_first_admin(db, "dana", "Dana Therapist", SIGNER_PW)
    desk = TreatmentDesk(sources.station, db=db, operator=lambda: "Dana Therapist", demo=True, signer=lambda: signer)
    library = load_library()
    win = MainWindow(sources.station, sources, desk, library, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    if size is not None:
        win.resize(*size)
    win.show()
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.station.snapshot().live is not None, timeout=WAIT_MS)
    setup = win.setup
    setup.set_history_source(lambda _id, _protocol, on_done: on_done(KNOWN_PATIENT))
    setup.patient_id.setText("P-1001")
    setup.patient_name.setText(KNOWN_PATIENT.name)
    setup.date_of_birth.setText("1961-04-23")
    setup.protocol.setCurrentIndex(next(i for i, p in enumerate(library) if p.id == "dexamethasone-4mgml-40"))
    setup.side.setCurrentText("left")
    setup.look_up_patient()
    dialog = setup.make_checklist()
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
    setup.accept_checklist(dialog.result_value())
    qtbot.waitUntil(win.treatment.start_button.isEnabled, timeout=WAIT_MS)
    return win, desk, db


@pytest.fixture
def treating_window(qtbot, sources, tmp_path, fast_passwords):
    """The demo's window with records (so the session can be signed), a known patient with a long name,
    a real dexamethasone run on the simulator and a HIGH alarm banner up."""
    win, desk, db = ready_to_start(qtbot, sources, tmp_path, size=(1280, 860))
    win.treatment.start()
    qtbot.waitUntil(lambda: desk.controller is not None and desk.controller.snapshot().current_ma > 0.3,
                    timeout=WAIT_MS)
    desk.alarms.raise_alarm("test-high", AlarmPriority.HIGH,
                            "Output stopped: the electrode lifted off the skin (impedance above the limit)",
                            time.monotonic())
    win.alarm_banner.refresh()
    yield win
    desk.shutdown()
    db.close()


def misplaced(window, buttons) -> list[str]:
    """Each button not wholly on screen and uncovered (inside the window, not under the alarm banner,
    not clipped by a scroll area or its parents), as a line saying where it is."""
    inside = window.rect()
    banner = rect_in(window, window.alarm_banner)
    problems = []
    for button in buttons:
        where = rect_in(window, button)
        if not button.isVisible():
            problems.append(f"{button.text()!r} hidden")
        elif not inside.contains(where):
            problems.append(f"{button.text()!r} at {where} outside {inside}")
        elif window.alarm_banner.isVisible() and banner.intersects(where):
            problems.append(f"{button.text()!r} at {where} under the alarm banner {banner}")
        elif button.visibleRegion().boundingRect() != button.rect():
            problems.append(f"{button.text()!r} at {where} clipped to {button.visibleRegion().boundingRect()}")
        elif where.height() < 40:
            problems.append(f"{button.text()!r} too small: {where}")
    return problems


def check_every_area(qtbot, window, buttons) -> list[str]:
    problems = []
    for screen_size, scale, maximised in ALL_AREAS:
        width, height = logical_area(*screen_size, scale, maximised)
        window.resize(width, height)
        qtbot.wait(40)  # the reflowing grids and the banner settle
        label = f"{screen_size[0]}x{screen_size[1]}@{scale:g} {'max' if maximised else 'win'}"
        if (window.width(), window.height()) != (width, height):
            problems.append(f"{label}: the window grew to {window.width()}x{window.height()}")
        if window.treatment.stops.height() != window.left_column.height():
            problems.append(f"{label}: the stop panel is {window.treatment.stops.height()} px tall, "
                            f"not the column's {window.left_column.height()}")
        problems += [f"{label}: {line}" for line in misplaced(window, [*buttons(), *window.treatment.stops.all_buttons()])]
    return problems


def test_treatment_controls_and_sign_stay_on_screen(qtbot, treating_window):
    """New-user pass at 1366x768 (and 1920x1080 at 125 %): while treating, Pause, End early, + and -
    were below the fold of the scroll area, and after the stop so was Sign (the green "Session
    signed…" line ended up above it). They are pinned under the scrolling area now."""
    win = treating_window
    view = win.treatment
    assert win.alarm_banner.isVisible() and view.patient_banner.isVisible()
    assert win.setup.history_label.text().startswith("2026-11-02")
    running = lambda: [view.down_button, view.up_button, view.pause_button, view.end_button]  # noqa: E731
    problems = check_every_area(qtbot, win, running)
    assert view.pause_button.isEnabled() and view.end_button.isEnabled()
    win.resize(1280, 860)
    controller = win.desk.controller
    view.stop(SideEffect.DIZZINESS.value)
    qtbot.waitUntil(lambda: controller.snapshot().state is SessionState.STOPPED, timeout=WAIT_MS)
    qtbot.waitUntil(view.sign_button.isEnabled, timeout=WAIT_MS)
    problems += check_every_area(qtbot, win, lambda: [view.sign_button, view.start_button])
    assert not problems, "\n".join(problems)


# --- whole protocol and electrode names ------------------------------------------------------------

def combo_field_width(combo: QComboBox) -> int:
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


def readable_on(setup, text: str) -> bool:
    """``text`` is shown whole on the set-up: in a visible label that wraps or is wide enough for it,
    or as the current text of a visible drop-down whose box is wide enough for it (QFontMetrics)."""
    for label in setup.findChildren(QLabel):
        if label.isVisible() and text in label.text() and (
                label.wordWrap() or label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()):
            return True
    for combo in setup.findChildren(QComboBox):
        if combo.isVisible() and combo.currentText() == text and \
                combo.fontMetrics().horizontalAdvance(text) <= combo_field_width(combo):
            return True
    return False


@pytest.mark.parametrize("area", [((1366, 768), 1.0, True), ((1366, 768), 1.25, True), ((1366, 768), 1.25, False),
                                  ((1920, 1080), 1.25, True)], ids=lambda a: f"{a[0][0]}x{a[0][1]}@{a[1]:g}-"
                                                                              f"{'max' if a[2] else 'win'}")
def test_every_protocol_and_electrode_name_is_readable_whole(qtbot, sources, desk, area):
    """New-user pass: the drop-downs cut "Dexamethasone 4 mg/mL, 40 r" and "Active electrode 10 cm², rated"
    (40 or 80? which electrode?). Each name is readable whole on the set-up of a new patient (the
    narrowest set-up: no history lines widen it), and each open list is as wide as its longest item."""
    window = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(window)
    screen_size, scale, maximised = area
    window.resize(*logical_area(*screen_size, scale, maximised))
    window.show()
    qtbot.waitExposed(window)
    setup = window.setup
    cut = []
    for index, protocol in enumerate(setup._protocols):
        setup.protocol.setCurrentIndex(index)
        qtbot.wait(20)
        for text in (protocol.name, electrode_text(protocol), setup.electrode.currentText()):
            if not readable_on(setup, text):
                cut.append(text)
        for combo in (setup.protocol, setup.electrode, setup.site, setup.diagnosis):
            combo.showPopup()
            widest = combo.view().sizeHintForColumn(0)
            shown = combo.view().viewport().width()
            combo.hidePopup()
            if shown < widest:
                cut.append(f"the open list of {combo.objectName()} is {shown} px for items {widest} px wide")
    assert not cut, cut


def test_a_closed_drop_down_elides_in_the_middle_with_the_whole_name_as_tooltip(qtbot):
    from ionto_console.ui.session_setup import WholeNameCombo

    combo = WholeNameCombo()
    qtbot.addWidget(combo)
    combo.addItems(["Tap water, hyperhidrosis of the hands (DC, trays)",
                    "Tap water, hyperhidrosis of the feet (pulsed, trays)"])
    combo.resize(200, 30)
    combo.show()
    combo.setCurrentIndex(1)
    shown = combo.shown_text()
    assert "…" in shown and shown.startswith("Tap") and shown.endswith("trays)")
    assert combo.toolTip() == "Tap water, hyperhidrosis of the feet (pulsed, trays)"


# --- the live area stays in view at Start and at a stop ------------------------------------------------

#: The sizes of the new-user pass's report (maximised 1280x720, 1366x768 at 125 %, 1920x1080 at 150 %) and
#: the smallest: 1280x720 at 150 %, maximised and as a window.
#: The layouts that differ: the smallest page, the common laptop, the shortest page (a window at 150 %).
#: (1920x1080 at 150 % and 1280x720 at 150 % maximised lay out as the laptop and the window; the stop
#: buttons are checked at every size above.)
LIVE_AREAS = [((1280, 720), 1.0, True), ((1366, 768), 1.25, True), ((1280, 720), 1.5, False)]


@pytest.fixture
def ready_window(qtbot, sources, tmp_path, fast_passwords):
    """The demo's window with records, a known patient and a passed checklist: Start is enabled."""
    win, desk, db = ready_to_start(qtbot, sources, tmp_path)
    yield win
    desk.shutdown()
    db.close()


def outside_viewport(view) -> list[str]:
    """The state line and the Current readout each wholly inside the scroll area's viewport, or why not."""
    viewport = view.scroll.viewport()
    problems = []
    for widget in (view.state_banner, view.current):
        where = QRect(widget.mapTo(viewport, QPoint(0, 0)), widget.size())
        if not widget.isVisible() or not viewport.rect().contains(where):
            problems.append(f"{widget.objectName()} at {where}, viewport {viewport.rect()}")
    return problems


@pytest.mark.parametrize("area", LIVE_AREAS, ids=lambda a: f"{a[0][0]}x{a[0][1]}@{a[1]:g}-{'max' if a[2] else 'win'}")
def test_start_and_a_stop_keep_the_state_line_and_current_in_view(qtbot, ready_window, area):
    """New-user pass: pressing Start scrolled the page to the trace (the focused Start button hid and the
    scroll area followed the focus), and after Esc at 1280x720 the page jumped to the set-up form with
    the stop line half cut. After Start and after a stop the state line and Current stay in view."""
    win = ready_window
    view = win.treatment
    (screen_w, screen_h), scale, maximised = area
    win.resize(*logical_area(screen_w, screen_h, scale, maximised))
    win.activateWindow()
    qtbot.wait(50)
    view.scroll.verticalScrollBar().setValue(view.scroll.verticalScrollBar().maximum())  # the form, scrolled
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)  # as a therapist does: Start gets the focus
    qtbot.waitUntil(lambda: win.desk.controller is not None and win.desk.controller.snapshot().current_ma > 0.3,
                    timeout=WAIT_MS)
    qtbot.wait(100)  # the set-up folds and the run's rows appear
    problems = [f"running: {line}" for line in outside_viewport(view)]
    controller = win.desk.controller
    qtbot.keyClick(win, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: controller.snapshot().state is SessionState.STOPPED, timeout=WAIT_MS)
    qtbot.waitUntil(view.sign_button.isEnabled, timeout=WAIT_MS)
    qtbot.wait(100)  # the set-up comes back on a narrow page
    problems += [f"stopped: {line}" for line in outside_viewport(view)]
    assert "Stopped" in view.state_banner.text()
    assert not problems, "\n".join(problems)
    # the therapist scrolls down to the form: the page stays where they put it
    bar = view.scroll.verticalScrollBar()
    if bar.maximum() > bar.value():
        wheel = QWheelEvent(QPointF(20, 20), QPointF(20, 20), QPoint(0, 0), QPoint(0, -240), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view.scroll.viewport(), wheel)
        scrolled = bar.value()
        win.resize(win.width(), win.height() - 1)  # the page's height changes (a look-up answer, a banner)
        qtbot.wait(100)
        assert bar.value() >= scrolled - 1, "the page jumped back after the therapist scrolled"


class _Heights(QObject):
    """Every height a widget is resized to (an event filter: the layout's own passes included)."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.seen: list[int] = []
        widget.installEventFilter(self)

    def eventFilter(self, _obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Resize:
            self.seen.append(event.size().height())
        return False


def test_a_side_effect_stop_lays_out_nothing_while_the_output_ramps_down(qtbot, ready_window):
    """Issue 15: at a side-effect stop on a narrow page the set-up came back at once, during the output's
    250 ms ramp to zero: the page's layout squeezed the plots from 480 to 180 px and back (two full
    repaints of both plots in the GUI thread while current still flowed, the longest GUI tasks of the
    stop). Now the stop's row, the set-up and its enabling wait for the output to be off, and the plots
    keep their height throughout."""
    win = ready_window
    view = win.treatment
    win.resize(*logical_area(1366, 768, 1.25, True))  # the set-up goes above/below the readouts, not beside
    qtbot.wait(50)
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.desk.controller is not None and win.desk.controller.snapshot().current_ma > 0.5,
                    timeout=WAIT_MS)
    controller = win.desk.controller
    qtbot.wait(100)
    assert view.setup.isHidden()
    heights = _Heights(view.plots._graphics)
    before = view.plots._graphics.height()
    qtbot.mouseClick(view.stops.buttons[SideEffect.DIZZINESS.value], Qt.MouseButton.LeftButton)
    seen_winding_down = False
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and not view.sign_button.isVisible():
        view.refresh()
        if controller.snapshot().state is SessionState.STOPPED and win.desk.winding_down:
            seen_winding_down = True  # the session has ended, the output is still on its way to zero
            assert view.setup.isHidden() and not view.setup.isEnabled(), "the set-up came back during the ramp"
            assert view.run_controls.isVisible()
        qtbot.wait(5)
    assert seen_winding_down, "the output was never seen ramping down after the stop"
    qtbot.waitUntil(view.setup.isVisible, timeout=WAIT_MS)
    qtbot.wait(100)  # the set-up's layout settles
    assert view.setup.isEnabled()
    assert min(heights.seen, default=before) >= before, f"the plots were squeezed: {before} -> {heights.seen}"
