"""The Records tab's search fields: what the user types, as a ``SearchCriteria`` for the records service."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QGridLayout, QLabel, QLineEdit, QPushButton, QWidget

from ..control.records_views import OUTCOMES, SIDE_EFFECTS, SearchCriteria

ANY = "any"
#: QDateEdit cannot be empty: its minimum date shows as "any" (no bound).
NO_DATE = QDate(2000, 1, 1)


class SearchFields(QWidget):
    """The search criteria (what the user types); ``submitted`` when Search or Return is pressed."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patient_edit = QLineEdit(placeholderText="name or ID")
        self.protocol_edit = QLineEdit(placeholderText="protocol name or id")
        self.date_from = self._date_edit()
        self.date_to = self._date_edit()
        self.outcome_combo = QComboBox()
        self.outcome_combo.addItems([ANY, *OUTCOMES])
        self.side_effect_combo = QComboBox()
        self.side_effect_combo.addItems([ANY, *SIDE_EFFECTS])
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.submitted)
        for edit in (self.patient_edit, self.protocol_edit):
            edit.returnPressed.connect(self.submitted)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        fields = (("Patient", self.patient_edit), ("From", self.date_from), ("To", self.date_to),
                  ("Protocol", self.protocol_edit), ("Outcome", self.outcome_combo),
                  ("Side effect", self.side_effect_combo))
        for i, (label, widget) in enumerate(fields):
            row, col = divmod(i, 3)
            grid.addWidget(QLabel(label), row, 2 * col)
            grid.addWidget(widget, row, 2 * col + 1)
        grid.addWidget(self.search_button, 0, 6, 2, 1)
        grid.setColumnStretch(1, 1)  # the text fields take the room; dates and lists keep their size

    @staticmethod
    def _date_edit() -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText(ANY)
        edit.setDate(NO_DATE)
        return edit

    def criteria(self) -> SearchCriteria:
        def date(edit: QDateEdit) -> dt.date | None:
            return None if edit.date() == NO_DATE else edit.date().toPython()

        def choice(combo: QComboBox) -> str:
            return "" if combo.currentText() == ANY else combo.currentText()

        return SearchCriteria(patient=self.patient_edit.text(), protocol=self.protocol_edit.text(),
                              date_from=date(self.date_from), date_to=date(self.date_to),
                              outcome=choice(self.outcome_combo), side_effect=choice(self.side_effect_combo))

    def set_criteria(self, *, patient: str = "", protocol: str = "", date_from: dt.date | None = None,
                     date_to: dt.date | None = None, outcome: str = ANY, side_effect: str = ANY) -> None:
        self.patient_edit.setText(patient)
        self.protocol_edit.setText(protocol)
        self.date_from.setDate(QDate(date_from) if date_from else NO_DATE)
        self.date_to.setDate(QDate(date_to) if date_to else NO_DATE)
        self.outcome_combo.setCurrentText(outcome)
        self.side_effect_combo.setCurrentText(side_effect)
