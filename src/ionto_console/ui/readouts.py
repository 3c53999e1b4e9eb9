"""Large numeric readouts, legible from a step away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QWidget


class Readout(QFrame):
    """One big number with its name and unit."""

    def __init__(self, title: str, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"readout_{title.lower().replace(' ', '_')}")
        self._title = QLabel(title)
        self._value = QLabel("--")
        self._unit = QLabel(unit)
        big = QFont()
        big.setPointSize(30)
        big.setBold(True)
        self._value.setFont(big)
        self._value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._title.setStyleSheet("color: #555; font-size: 12pt;")
        self._unit.setStyleSheet("color: #555; font-size: 14pt;")
        layout = QGridLayout(self)
        layout.addWidget(self._title, 0, 0, 1, 2)
        layout.addWidget(self._value, 1, 0)
        layout.addWidget(self._unit, 1, 1, Qt.AlignmentFlag.AlignBottom)

    def set_value(self, text: str) -> None:
        self._value.setText(text)

    def text(self) -> str:
        return self._value.text()


def format_number(value: float | None, decimals: int) -> str:
    return "--" if value is None else f"{value:.{decimals}f}"
