"""What keeps start-up short: pages built when first opened, the ready moment, the collector after it."""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtWidgets import QLabel, QTabWidget

from ionto_console.app import console_ready
from ionto_console.ui.deferred_page import DeferredPage
from ionto_console.ui.first_paint import when_first_painted
from ionto_console.ui.live_plots import LivePlots


def test_a_deferred_page_is_built_when_its_tab_is_first_opened(qtbot):
    builds: list[QLabel] = []

    def build() -> QLabel:
        builds.append(QLabel("records"))
        return builds[-1]

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    page = DeferredPage(build)
    tabs.addTab(QLabel("treatment"), "Treatment")
    tabs.addTab(page, "Records")
    tabs.show()
    qtbot.waitExposed(tabs)
    assert not page.built and builds == []
    tabs.setCurrentIndex(1)
    assert page.built and len(builds) == 1
    assert page.content is builds[0] and page.content.isVisible()
    tabs.setCurrentIndex(0)
    tabs.setCurrentIndex(1)
    assert len(builds) == 1  # built once, kept


def test_code_that_asks_for_a_deferred_page_gets_it_built_unshown(qtbot):
    page = DeferredPage(lambda: QLabel("plots"))
    qtbot.addWidget(page)
    assert page.content.text() == "plots" and page.built
    assert not page.content.isVisible()


def test_the_board_monitor_plots_wait_for_their_tab(qtbot, window):
    deferred = window.monitor.findChild(DeferredPage)
    assert deferred is not None and not deferred.built
    window.tabs.setCurrentWidget(window.monitor)
    assert deferred.built and isinstance(window.plots, LivePlots) and window.plots.isVisible()


def test_ready_is_called_after_the_first_paint_only(qtbot):
    label = QLabel("window")
    qtbot.addWidget(label)
    calls: list[bool] = []
    when_first_painted(label, calls.append, at_latest_ms=3000)
    qtbot.wait(50)
    assert calls == []  # never shown, never painted
    label.show()
    qtbot.waitUntil(lambda: calls == [True], timeout=2500)
    label.update()
    label.repaint()
    qtbot.wait(50)
    assert calls == [True]  # the first paint only


def test_a_window_never_painted_still_ends_start_up_at_the_deadline(qtbot):
    label = QLabel("minimized")
    qtbot.addWidget(label)
    calls: list[bool] = []
    when_first_painted(label, calls.append, at_latest_ms=100)
    qtbot.waitUntil(lambda: calls == [False], timeout=2000)
    label.show()  # a paint after the deadline changes nothing
    qtbot.wait(100)
    assert calls == [False]


def test_nothing_is_called_for_a_window_deleted_before_its_first_paint(qtbot):
    label = QLabel("closed at once")
    calls: list[bool] = []
    when_first_painted(label, calls.append, at_latest_ms=50)
    label.deleteLater()
    qtbot.wait(200)
    assert calls == []


def test_console_ready_logs_and_turns_the_collector_back_on(caplog):
    gc.disable()  # as __main__ does for start-up
    try:
        with caplog.at_level(logging.INFO, logger="ionto_console.app"):
            console_ready(time.perf_counter() - 1.25)
        assert gc.isenabled()
        assert any("console ready in 1.2" in r.getMessage() for r in caplog.records)
        gc.disable()
        with caplog.at_level(logging.INFO, logger="ionto_console.app"):
            console_ready(time.perf_counter() - 5.0, painted=False)
        assert gc.isenabled()
        assert any("not painted 5.0" in r.getMessage() for r in caplog.records)
    finally:
        gc.enable()
