"""The Records tab's export buttons: one per format in ``control.exporters``' registry.

WHY built from the registry: a new format is one file in control/exporters,
offered here without an edit (month-wide formats get the month field).
"""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QDateEdit, QFormLayout, QHBoxLayout, QPushButton, QWidget

from ..control.exporters import Exporter, Scope


class ExportBar(QWidget):
    """One button per registered export format (the month field for month-wide ones), and the audit check."""

    def __init__(self, formats: list[Exporter], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.formats = {f.key: f for f in formats}
        self.buttons: dict[str, QPushButton] = {f.key: QPushButton(f.label) for f in formats}
        self.month = QDateEdit(QDate.currentDate())
        self.month.setDisplayFormat("yyyy-MM")
        self.audit_button = QPushButton("Verify audit trail")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for f in formats:
            if f.scope is Scope.SESSION:
                layout.addWidget(self.buttons[f.key])
        layout.addStretch(1)
        monthly = [f for f in formats if f.scope is Scope.MONTH]
        if monthly:
            form = QFormLayout()
            form.addRow("Month", self.month)
            layout.addLayout(form)
        for f in monthly:
            layout.addWidget(self.buttons[f.key])
        layout.addWidget(self.audit_button)
