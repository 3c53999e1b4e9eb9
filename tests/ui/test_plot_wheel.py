"""The wheel over a plot (issue 14): on the treatment screen it scrolls the page and never zooms;
an engineer's plot zooms and has a "Reset view" that every new session applies too."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QScrollArea, QVBoxLayout, QWidget

from ionto_console.control.telemetry_buffer import TelemetryBuffer
from ionto_console.ui.live_plots import LivePlots
from test_treatment_screen import screen, WAIT_MS  # noqa: F401 (fixture)


def history(seconds: float = 60.0, rate: float = 100.0):
    t = np.arange(int(seconds * rate)) / rate
    current = np.ones(len(t), np.float32)
    buf = TelemetryBuffer()
    buf.extend(t, current, current * 5.0, np.ones(len(t)))
    return buf.view()


def wheel_over(widget: QWidget, notches: int = -3) -> None:
    """A mouse wheel turned over the middle of ``widget`` (negative: towards the user, page down)."""
    local = QPointF(widget.width() / 2, widget.height() / 2)
    global_pos = QPointF(widget.mapToGlobal(local.toPoint()))
    event = QWheelEvent(local, global_pos, QPoint(0, 0), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def x_range(plots: LivePlots) -> list[float]:
    """The time range on screen (painted first: pyqtgraph applies an auto-range when it paints)."""
    plots.grab()
    return list(plots.current_plot.getViewBox().viewRange()[0])


@pytest.fixture
def page(qtbot):
    """Fixed plots on a page taller than its scroll area, as on the treatment screen."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    body = QWidget()
    layout = QVBoxLayout(body)
    plots = LivePlots(min_redraw_s=0.0, inspect=False)
    plots.setMinimumHeight(400)
    layout.addWidget(QLabel("readouts"))
    layout.addWidget(plots)
    layout.addSpacing(1500)
    area.setWidget(body)
    area.resize(900, 600)
    qtbot.addWidget(area)
    area.show()
    plots.show_history(history())
    qtbot.waitExposed(area)
    return area, plots


def test_the_wheel_over_a_fixed_plot_scrolls_the_page_and_leaves_the_view_alone(page, qtbot):
    area, plots = page
    before = x_range(plots)
    assert area.verticalScrollBar().value() == 0
    wheel_over(plots._graphics.viewport())
    assert area.verticalScrollBar().value() > 0, "the page did not scroll"
    assert x_range(plots) == before, "the wheel zoomed the plot"


def test_a_fixed_plot_has_no_pan_zoom_menu_or_reset_button(page):
    _, plots = page
    for plot in (plots.current_plot, plots.impedance_plot):
        box = plot.getViewBox()
        assert box.state["mouseEnabled"] == [False, False]
        assert not box.menuEnabled()
    assert plots.reset_button is None


def test_an_engineers_plot_zooms_and_reset_view_and_a_new_session_bring_the_whole_trace_back(qtbot):
    plots = LivePlots(min_redraw_s=0.0)  # Board monitor, Records replay
    qtbot.addWidget(plots)
    plots.resize(900, 500)
    plots.show()
    qtbot.waitExposed(plots)
    plots.show_history(history())
    whole = x_range(plots)
    plots.current_plot.getViewBox().setXRange(5.36, 5.46, padding=0)  # an engineer zoomed in
    assert x_range(plots) != whole
    plots.reset_button.click()
    assert x_range(plots) == pytest.approx(whole)
    plots.current_plot.getViewBox().setXRange(5.36, 5.46, padding=0)
    plots.clear()  # the next session
    plots.show_history(history())
    assert x_range(plots) == pytest.approx(whole)


def test_the_treatment_screens_plot_scrolls_its_page(qtbot, screen):  # noqa: F811
    """The real treatment screen: its plots are fixed, and the wheel over them scrolls its page."""
    view = screen.treatment
    screen.resize(1100, 640)
    qtbot.waitUntil(lambda: view.scroll.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    view.scroll.verticalScrollBar().setValue(0)
    before = x_range(view.plots)
    wheel_over(view.plots._graphics.viewport())
    assert view.scroll.verticalScrollBar().value() > 0
    assert x_range(view.plots) == before


def test_the_wheel_over_an_unfocused_drop_down_scrolls_the_page_and_changes_no_choice(qtbot, screen):  # noqa: F811
    """A new-user pass scrolled the set-up form and the Site under the pointer changed by itself."""
    view = screen.treatment
    screen.resize(1100, 640)
    qtbot.waitUntil(lambda: view.scroll.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
    view.scroll.verticalScrollBar().setValue(0)
    setup = screen.setup
    for combo in (setup.protocol, setup.site, setup.side, setup.diagnosis, setup.electrode):
        before = combo.currentIndex()
        wheel_over(combo)
        assert combo.currentIndex() == before, combo
    assert view.scroll.verticalScrollBar().value() > 0  # the page scrolled instead
    # picked from the list, a drop-down keeps the focus: scrolling on must not change it (a later
    # new-user pass: the protocol became Lidocaine as the page scrolled past it)
    setup.protocol.setCurrentIndex(1)
    setup.protocol.setFocus()
    qtbot.waitUntil(setup.protocol.hasFocus, timeout=WAIT_MS)
    view.scroll.verticalScrollBar().setValue(0)
    wheel_over(setup.protocol, notches=-1)
    assert setup.protocol.currentIndex() == 1
    assert view.scroll.verticalScrollBar().value() > 0
