"""Choosing the patient, protocol, site and electrode, and running the checklist.

Produces a ``SessionPlan`` for the treatment desk. The protocol list comes
from the validated library; the checklist decision comes from core.prechecks.

WHY the patient look-up is asynchronous: it reads the records (a clinic's
server may be slow); the desk runs it on its worker and calls back here on
the GUI thread. The checklist opens only with the answer for the patient and
protocol on screen (its corticosteroid rule needs that patient's last dates).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

#: An asynchronous look-up: (patient id, protocol, callback receiving the history on the GUI thread).
HistorySource = Callable[[str, "Protocol", Callable[["PatientHistory"], None]], None]


def no_history(_identifier: str, _protocol: "Protocol", on_done: Callable[["PatientHistory"], None]) -> None:
    """Without records: nothing to look up."""
    on_done(UNKNOWN)

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

from ..control.patient_history import UNKNOWN, PatientHistory
from ..core.corticosteroids import is_corticosteroid
from ..core.plan import SessionPlan
from ..core.prechecks import PrecheckResult
from ..core.protocols import Protocol
from .checklist_dialog import ChecklistDialog

SITES = ["Achilles tendon", "Lateral epicondyle", "Shoulder", "Knee", "Plantar fascia", "Hands (trays)",
         "Feet (trays)", "Forearm (venipuncture)", "Other"]


def electrode_text(protocol: Protocol) -> str:
    """The electrode the protocol was validated for (its area sets the current-density interlock).

    WHY not a free choice: a smaller electrode than the protocol's would carry a higher
    current density than the interlock computes; another electrode needs its own protocol."""
    rating = f", rated {protocol.electrode_rating_ma_min} mA·min" if protocol.electrode_rating_ma_min else ""
    return f"Active electrode {protocol.electrode_area_cm2:g} cm²{rating}"


class SessionSetup(QGroupBox):
    """Intent out: ``plan_changed``; ``plan()`` returns the current plan or None."""

    plan_changed = Signal()

    def __init__(
        self,
        protocols: list[Protocol],
        *,
        history: HistorySource | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Session", parent)
        self._protocols = protocols
        self._history_of: HistorySource = history or no_history
        self._history = UNKNOWN
        #: (patient id, protocol id) the shown history is for; None before the first answer.
        self._history_key: tuple[str, str] | None = None
        self._lookups = 0  # the newest look-up's number: older answers are dropped
        self._pending: tuple[str, str] | None = None
        self._checklist_waiting = False
        self._today = today
        self._checklist: PrecheckResult | None = None
        #: The second account that co-signed this checklist's override (cleared with the checklist).
        self.cosigned_by = ""
        self.patient_id = QLineEdit()
        self.patient_id.setObjectName("patient_id")
        self.patient_name = QLineEdit()
        self.patient_name.setObjectName("patient_name")
        self.date_of_birth = QLineEdit()
        self.date_of_birth.setObjectName("date_of_birth")
        self.date_of_birth.setPlaceholderText("YYYY-MM-DD (new patients)")
        self.patient_notes = QLineEdit()
        self.patient_notes.setObjectName("patient_notes")
        self.protocol = QComboBox()
        self.protocol.setObjectName("protocol")
        for p in protocols:
            self.protocol.addItem(p.name, p.id)
        self.site = QComboBox()
        self.site.addItems(SITES)
        self.electrode = QComboBox()
        self.electrode.setToolTip("The electrode the protocol is made for; a different one needs its own protocol")
        for combo in (self.protocol, self.site, self.electrode):
            # long protocol names must not widen the window past a 1280-pixel screen; the open list shows them whole
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(18)
        self.checklist_button = QPushButton("Pre-treatment checklist…")
        self.checklist_button.setObjectName("checklist_button")
        self.checklist_state = QLabel("Checklist not done")
        self.checklist_state.setObjectName("checklist_state")
        self.history_label = QLabel("")
        self.history_label.setObjectName("patient_history")
        self.history_label.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Date of birth", self.date_of_birth)
        form.addRow("Patient notes", self.patient_notes)
        form.addRow("Protocol", self.protocol)
        form.addRow("Site", self.site)
        form.addRow("Electrode", self.electrode)
        form.addRow(self.history_label)
        form.addRow(self.checklist_button, self.checklist_state)
        self.checklist_button.clicked.connect(self.run_checklist)
        for widget in (self.patient_id, self.patient_name):
            widget.textChanged.connect(self._invalidate)
        self.protocol.currentIndexChanged.connect(self._invalidate)
        self.patient_id.editingFinished.connect(self.look_up_patient)
        self.protocol.currentIndexChanged.connect(self.look_up_patient)
        self.protocol.currentIndexChanged.connect(self._show_electrode)
        self._show_electrode()

    def _show_electrode(self) -> None:
        self.electrode.clear()
        if self._protocols:
            self.electrode.addItem(electrode_text(self.selected_protocol()))

    def _key(self) -> tuple[str, str]:
        return self.patient_id.text().strip(), self.selected_protocol().id if self._protocols else ""

    def history_current(self) -> bool:
        """The history shown is the answer for the patient and protocol on screen (no look-up pending)."""
        return self._pending is None and self._history_key == self._key()

    def look_up_patient(self) -> None:
        """Ask for the patient's last sessions and reminders; they show when the answer comes."""
        if not self._protocols:
            return
        self._lookups += 1
        number, key = self._lookups, self._key()
        self._pending = key
        if key[0]:
            self.history_label.setText("Looking up the patient…")
        self.checklist_button.setEnabled(False)
        self._history_of(self.patient_id.text(), self.selected_protocol(),
                         lambda history: self._history_arrived(number, key, history))

    def _history_arrived(self, number: int, key: tuple[str, str], history: PatientHistory) -> None:
        if number != self._lookups:
            return  # the therapist typed another patient meanwhile: a newer answer is coming
        self._pending = None
        self.checklist_button.setEnabled(True)
        self._history, self._history_key = history, key
        if key != self._key():  # typed on without leaving the field: this answer is for the old text
            if self._checklist_waiting:
                self.look_up_patient()
            return
        if history.known and history.name and not self.patient_name.text().strip():
            self.patient_name.setText(history.name)
        lines = list(history.recent) or (["New patient: no earlier sessions."] if self.patient_id.text().strip() else [])
        lines += [f"Reminder: {text}" for text in history.reminders]
        if history.last_corticosteroid:
            lines.append(f"Last corticosteroid session: {history.last_corticosteroid.isoformat()}")
        self.history_label.setText("\n".join(lines))
        if self._checklist_waiting:
            self._checklist_waiting = False
            self._open_checklist()

    def selected_protocol(self) -> Protocol:
        return self._protocols[self.protocol.currentIndex()]

    def set_history_source(self, history: HistorySource) -> None:
        self._history_of = history

    def make_checklist(self) -> ChecklistDialog:
        """The checklist for the patient and protocol on screen.

        Raises RuntimeError unless ``history_current()``: the corticosteroid rule needs this
        patient's latest dates (``run_checklist`` looks the patient up first)."""
        if not self.history_current():
            raise RuntimeError("look the patient up before the checklist")
        protocol = self.selected_protocol()
        return ChecklistDialog(
            is_corticosteroid=is_corticosteroid(protocol),
            drug_name=protocol.agent.solution,
            last_corticosteroid_session=self._history.last_corticosteroid,
            today=self._today(),
            parent=self,
        )

    def run_checklist(self) -> None:
        """The checklist button: a fresh look-up of the patient first (a session may have ended since
        the last one), then the dialog with its answer."""
        self._checklist_waiting = True
        self.look_up_patient()

    def _open_checklist(self) -> None:
        dialog = self.make_checklist()
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.accept_checklist(dialog.result_value())

    def accept_checklist(self, result: PrecheckResult) -> None:
        self._checklist = result
        self.cosigned_by = ""
        self.checklist_state.setText("Checklist complete" if result.can_start else "Checklist blocks the start")
        self.plan_changed.emit()

    def _invalidate(self) -> None:
        """A different patient or protocol needs a new checklist."""
        self.cosigned_by = ""
        if self._checklist is not None:
            self._checklist = None
            self.checklist_state.setText("Checklist not done")
        self.plan_changed.emit()

    def birth_date(self) -> dt.date | None:
        """The date typed, or None when empty or not a date (the field then shows red)."""
        text = self.date_of_birth.text().strip()
        try:
            value = dt.date.fromisoformat(text) if text else None
        except ValueError:
            value = None
        bad = bool(text) and (value is None or value > self._today())
        self.date_of_birth.setStyleSheet("border: 2px solid #c62828;" if bad else "")
        return None if bad else value

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
            date_of_birth=self.birth_date(),
            patient_notes=self.patient_notes.text().strip(),
            cosigned_by=self.cosigned_by,
        )
