"""Readouts and status labels repaint only when what they show changes (they are set 30 times a second)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from ionto_console.ui.readouts import Readout, set_style, set_text


def test_a_readout_sets_its_text_only_when_it_changes(qtbot):
    readout = Readout("Current", "mA")
    qtbot.addWidget(readout)
    calls: list[str] = []
    real = readout._value.setText
    readout._value.setText = lambda text: (calls.append(text), real(text))
    for text in ("1.00", "1.00", "1.00", "1.01", "1.01"):
        readout.set_value(text)
    assert calls == ["1.00", "1.01"] and readout.text() == "1.01"


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
