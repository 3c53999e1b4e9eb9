"""The Records tab's export buttons: one per format in ``control.exporters``' registry.

WHY built from the registry: a new format is one file in control/exporters,
offered here without an edit (month-wide formats get the month field).

WHY the buttons reflow (``ReflowGrid``): in one row they were about 930
pixels wide, wider than the Records tab at 1366x768 with 125 % scaling, so
the tab scrolled sideways and the first button read "F report…" at its edge
(new-user pass, issue 14). They now fill as many equal columns as fit, in
more rows where they must, each with its whole text.
"""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..control.exporters import Exporter, Scope
from .readouts import ReflowGrid


class ExportBar(QWidget):
    """One button per registered export format (the month field for month-wide ones), and the audit check."""

    def __init__(self, formats: list[Exporter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.formats = {f.key: f for f in formats}
        self.buttons: dict[str, QPushButton] = {f.key: QPushButton(f.label) for f in formats}
        self.month = QDateEdit(QDate.currentDate())
        self.month.setDisplayFormat("yyyy-MM")
        self.audit_button = QPushButton("Verify audit trail")
        cells: list[QWidget] = [self.buttons[f.key] for f in formats if f.scope is Scope.SESSION]
        monthly = [f for f in formats if f.scope is Scope.MONTH]
        if monthly:
            month_cell = QWidget()
            row = QHBoxLayout(month_cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(QLabel("Month"))
            row.addWidget(self.month, 1)
            cells.append(month_cell)
        cells += [self.buttons[f.key] for f in monthly]
        cells.append(self.audit_button)
        self.grid = ReflowGrid(cells)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.grid)
