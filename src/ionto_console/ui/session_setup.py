"""Choosing the patient, protocol, site and electrode, and running the checklist.

Produces a ``SessionPlan`` for the treatment desk. The protocol list comes
from the validated library; the checklist decision comes from core.prechecks.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..control.treatment_desk import SessionPlan
from ..core.prechecks import PrecheckResult
from ..core.protocols import Protocol
from .checklist_dialog import ChecklistDialog

SITES = ["Achilles tendon", "Lateral epicondyle", "Shoulder", "Knee", "Plantar fascia", "Hands (trays)",
         "Feet (trays)", "Forearm (venipuncture)", "Other"]
ELECTRODES = ["Small drug electrode (active 4 cm²)", "Medium drug electrode (active 10 cm²)",
              "Large drug electrode (active 20 cm²)", "Tap-water trays"]


class SessionSetup(QGroupBox):
    """Intent out: ``plan_changed``; ``plan()`` returns the current plan or None."""

    plan_changed = Signal()

    def __init__(
        self,
        protocols: list[Protocol],
        *,
        last_corticosteroid_session: Callable[[str], dt.date | None] = lambda patient_id: None,
        today: Callable[[], dt.date] = dt.date.today,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Session", parent)
        self._protocols = protocols
        self._last_cortico = last_corticosteroid_session
        self._today = today
        self._checklist: PrecheckResult | None = None
        self.patient_id = QLineEdit()
        self.patient_id.setObjectName("patient_id")
        self.patient_name = QLineEdit()
        self.patient_name.setObjectName("patient_name")
        self.protocol = QComboBox()
        self.protocol.setObjectName("protocol")
        for p in protocols:
            self.protocol.addItem(p.name, p.id)
        self.site = QComboBox()
        self.site.addItems(SITES)
        self.electrode = QComboBox()
        self.electrode.addItems(ELECTRODES)
        self.checklist_button = QPushButton("Pre-treatment checklist…")
        self.checklist_button.setObjectName("checklist_button")
        self.checklist_state = QLabel("Checklist not done")
        self.checklist_state.setObjectName("checklist_state")
        form = QFormLayout(self)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Protocol", self.protocol)
        form.addRow("Site", self.site)
        form.addRow("Electrode", self.electrode)
        form.addRow(self.checklist_button, self.checklist_state)
        self.checklist_button.clicked.connect(self.run_checklist)
        for widget in (self.patient_id, self.patient_name):
            widget.textChanged.connect(self._invalidate)
        self.protocol.currentIndexChanged.connect(self._invalidate)

    def selected_protocol(self) -> Protocol:
        return self._protocols[self.protocol.currentIndex()]

    def make_checklist(self) -> ChecklistDialog:
        protocol = self.selected_protocol()
        return ChecklistDialog(
            is_corticosteroid=protocol.corticosteroid,
            drug_name=protocol.agent.solution,
            last_corticosteroid_session=self._last_cortico(self.patient_id.text().strip()),
            today=self._today(),
            parent=self,
        )

    def run_checklist(self) -> None:
        dialog = self.make_checklist()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.accept_checklist(dialog.result_value())

    def accept_checklist(self, result: PrecheckResult) -> None:
        self._checklist = result
        self.checklist_state.setText("Checklist complete" if result.can_start else "Checklist blocks the start")
        self.plan_changed.emit()

    def _invalidate(self) -> None:
        """A different patient or protocol needs a new checklist."""
        if self._checklist is not None:
            self._checklist = None
            self.checklist_state.setText("Checklist not done")
        self.plan_changed.emit()

    def plan(self) -> SessionPlan | None:
        if not self.patient_id.text().strip() or not self.patient_name.text().strip():
            return None
        checklist = self._checklist
        return SessionPlan(
            protocol=self.selected_protocol(),
            patient_id=self.patient_id.text().strip(),
            patient_name=self.patient_name.text().strip(),
            site=self.site.currentText(),
            electrode=self.electrode.currentText(),
            checklist_passed=bool(checklist and checklist.can_start),
            checklist_record=checklist.as_record() if checklist else {},
        )
