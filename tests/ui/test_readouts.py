"""Readouts and status labels repaint only when what they show changes (they are set 30 times a second)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from ionto_console.ui.readouts import Readout, set_style, set_text


def test_a_readout_repaints_only_when_its_text_changes_and_never_asks_the_window_for_a_layout(qtbot):
    """A QLabel asks its window for a new layout on every setText; at 30 Hz that repainted the
    whole treatment screen. A readout's value repaints itself, and only on a change."""
    window = QWidget()
    qtbot.addWidget(window)
    readout = Readout("Current", "mA", window)
    QVBoxLayout(window).addWidget(readout)
    window.show()
    readout.set_value("10.00")  # the widest text: the one layout it may ask for
    qtbot.wait(20)
    events: list[str] = []

    class Spy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.LayoutRequest and obj in (window, readout):
                events.append("layout")
            elif event.type() == QEvent.Type.UpdateRequest or (
                    event.type() == QEvent.Type.Paint and obj is readout._value):
                events.append("paint")
            return False

    spy = Spy()
    QApplication.instance().installEventFilter(spy)
    try:
        for text in ("1.00", "1.01", "1.02", "1.03"):
            readout.set_value(text)
            qtbot.wait(5)
        painted = events.count("paint")
        readout.set_value("1.03")
        readout.set_value("1.03")
        qtbot.wait(20)
    finally:
        QApplication.instance().removeEventFilter(spy)
    assert "layout" not in events
    assert painted >= 1 and events.count("paint") == painted  # the same text again: no repaint
    assert readout.text() == "1.03"


def test_a_style_is_set_only_when_it_changes(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    calls: list[str] = []
    real = label.setStyleSheet
    label.setStyleSheet = lambda css: (calls.append(css), real(css))
    for css in ("color: red;", "color: red;", "color: blue;"):
        set_style(label, css)
    set_text(label, "x")
    set_text(label, "x")
    assert calls == ["color: red;", "color: blue;"] and label.text() == "x"
