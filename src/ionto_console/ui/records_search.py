"""The Records tab's search fields: what the user types, as a ``SearchCriteria`` for the records service.

WHY the fields reflow: at 1366x768 with 125 % scaling the six filters in two
rows of three were wider than the tab, so the whole tab scrolled sideways and
"To" and "Side effect" were cut at its edge (new-user pass, issue 14). They
now sit three to a row where that fits, two to a row (Patient/Protocol,
From/To, Outcome/Side effect) where it does not, one to a row on the
narrowest window; each keeps its whole text.

WHY the lists show words and search by the stored value: the outcome and
side-effect lists read "Stopped by a safety check" and "Burning / tingling",
not "faulted" and "burning_tingling"; each item carries the stored value the
records are searched by.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..control.records_views import OUTCOMES, SIDE_EFFECTS, words
from ..control.records_views import SearchCriteria
from ..core.outcomes import state_words

ANY = "any"
#: QDateEdit cannot be empty: its minimum date shows as "any" (no bound).
NO_DATE = QDate(2000, 1, 1)

#: The filters' order in each arrangement, by the number of columns that fit (names of the cells).
ARRANGEMENTS: dict[int, tuple[tuple[str, ...], ...]] = {
    3: (("Patient", "From", "To"), ("Protocol", "Outcome", "Side effect")),
    2: (("Patient", "Protocol"), ("From", "To"), ("Outcome", "Side effect")),
    1: (("Patient",), ("Protocol",), ("From",), ("To",), ("Outcome",), ("Side effect",)),
}


class SearchFields(QWidget):
    """The search criteria (what the user types); ``submitted`` when Search or Return is pressed."""

    submitted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.patient_edit = QLineEdit(placeholderText="name or ID")
        self.protocol_edit = QLineEdit(placeholderText="protocol name or id")
        self.date_from = self._date_edit()
        self.date_to = self._date_edit()
        self.outcome_combo = self._choices([(state_words(state), state) for state in OUTCOMES])
        self.side_effect_combo = self._choices([(words(kind).capitalize(), kind) for kind in SIDE_EFFECTS])
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.submitted)
        for edit in (self.patient_edit, self.protocol_edit):
            edit.returnPressed.connect(self.submitted)
        fields = {"Patient": self.patient_edit, "From": self.date_from, "To": self.date_to,
                  "Protocol": self.protocol_edit, "Outcome": self.outcome_combo, "Side effect": self.side_effect_combo}
        self.labels = {name: QLabel(name) for name in fields}
        label_px = max(label.sizeHint().width() for label in self.labels.values())
        self.cells: dict[str, QWidget] = {}
        for name, field in fields.items():
            cell = QWidget()
            row = QHBoxLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            self.labels[name].setMinimumWidth(label_px)  # the fields line up under each other
            row.addWidget(self.labels[name])
            row.addWidget(field, 1)
            self.cells[name] = cell
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self._grid.setContentsMargins(0, 0, 0, 0)
        # the grid must not pin the widget's minimum width to its widest arrangement
        self._grid.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self._grid_host, 1)
        outer.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignTop)
        self._columns = 0
        self._arrange(3)

    @staticmethod
    def _date_edit() -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText(ANY)
        edit.setDate(NO_DATE)
        return edit

    @staticmethod
    def _choices(items: list[tuple[str, str]]) -> QComboBox:
        """A list of words, each carrying the stored value searched by; "any" carries ""."""
        combo = QComboBox()
        combo.addItem(ANY, "")
        for text, value in items:
            combo.addItem(text, value)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # the longest item whole
        return combo

    # --- reflow --------------------------------------------------------------------------

    def _needed(self, columns: int) -> int:
        """The width the filters need in ``columns`` columns (each column as wide as its widest filter)."""
        rows = ARRANGEMENTS[columns]
        spacing = max(self._grid.horizontalSpacing(), 0)
        return sum(max(self.cells[row[c]].sizeHint().width() for row in rows if c < len(row)) + spacing
                   for c in range(columns))

    def columns(self) -> int:
        """How many filters sit in one row now (3, 2 or 1)."""
        return self._columns

    def _arrange(self, columns: int) -> None:
        columns = max(1, min(3, columns))
        if columns == self._columns:
            return
        self._columns = columns
        for cell in self.cells.values():
            self._grid.removeWidget(cell)
        for column in range(3):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)
        for r, names in enumerate(ARRANGEMENTS[columns]):
            for c, name in enumerate(names):
                self._grid.addWidget(self.cells[name], r, c)
        self.updateGeometry()  # more rows: the page's height changes

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """One filter wide (and the Search button): the page never scrolls sideways for the filters."""
        hint = super().minimumSizeHint()
        spacing = self.layout().spacing()
        hint.setWidth(min(hint.width(), self._needed(1) + spacing + self.search_button.sizeHint().width()))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        room = event.size().width() - self.search_button.sizeHint().width() - self.layout().spacing()
        self._arrange(next((n for n in (3, 2) if self._needed(n) <= room), 1))
        super().resizeEvent(event)

    # --- criteria ------------------------------------------------------------------------

    def criteria(self) -> SearchCriteria:
        def date(edit: QDateEdit) -> dt.date | None:
            return None if edit.date() == NO_DATE else edit.date().toPython()

        return SearchCriteria(patient=self.patient_edit.text(), protocol=self.protocol_edit.text(),
                              date_from=date(self.date_from), date_to=date(self.date_to),
                              outcome=self.outcome_combo.currentData() or "",
                              side_effect=self.side_effect_combo.currentData() or "")

    def set_criteria(self, *, patient: str = "", protocol: str = "", date_from: dt.date | None = None,
                     date_to: dt.date | None = None, outcome: str = "", side_effect: str = "") -> None:
        """Fill the fields; ``outcome`` and ``side_effect`` are stored values ("faulted", "burning_tingling"),
        "" or "any" for any."""
        self.patient_edit.setText(patient)
        self.protocol_edit.setText(protocol)
        self.date_from.setDate(QDate(date_from) if date_from else NO_DATE)
        self.date_to.setDate(QDate(date_to) if date_to else NO_DATE)
        for combo, value in ((self.outcome_combo, outcome), (self.side_effect_combo, side_effect)):
            index = combo.findData("" if value == ANY else value)
            combo.setCurrentIndex(max(index, 0))
