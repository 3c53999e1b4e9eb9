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
#: An asynchronous patient search: (text, callback receiving (matches, error) on the GUI thread).
SearchSource = Callable[[str, Callable[[list["PatientMatch"], str], None]], None]


def no_history(_identifier: str, _protocol: "Protocol", on_done: Callable[["PatientHistory"], None]) -> None:
    """Without records: nothing to look up."""
    on_done(UNKNOWN)


def no_search(_text: str, on_done: Callable[[list["PatientMatch"], str], None]) -> None:
    """Without records: nobody to find."""
    on_done([], "")

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from ..control.indications import coverage_words, indication_choices
from ..control.patient_history import SEARCH_LIMIT, UNKNOWN, PatientHistory, PatientMatch
from ..core.corticosteroids import corticosteroid_interval, is_corticosteroid
from ..core.sites import OTHER, SIDES, sites_for
from ..core.patients import birth_date_problem, normalise_patient_id, same_person_details
from ..core.continuation import Continuation
from ..core.plan import SessionPlan
from ..core.prechecks import PrecheckResult
from ..core.protocols import AgentKind, Protocol
from .checklist_dialog import ChecklistDialog
from .wheel_guard import guard_choices_from_the_wheel

NO_SIDE = "(no side)"
#: The heading above the indications that are not the protocol's own (a heading, never chosen).
OTHER_INDICATIONS = "Other indications (not this protocol's usual use):"


def electrode_text(protocol: Protocol) -> str:
    """The electrode the protocol was validated for (its area sets the current-density interlock).

    WHY not a free choice: a smaller electrode than the protocol's would carry a higher
    current density than the interlock computes; another electrode needs its own protocol."""
    rating = f", rated {protocol.electrode_rating_ma_min} mA·min" if protocol.electrode_rating_ma_min else ""
    return f"Active electrode {protocol.electrode_area_cm2:g} cm²{rating}"


def protocol_facts(protocol: Protocol) -> str:
    """The protocol's whole name with its dose, maximum current, expected time and electrode, in a line
    that wraps under the choice (the list used to cut "Dexamethasone 4 mg/mL, 4…": 40 or 80?, and the
    electrode "Active electrode 10 cm², rated…")."""
    minutes = protocol.planned_minutes_at_max
    return (f"{protocol.name}: {protocol.dose_target_ma_min:g} mA·min, at most {protocol.max_current_ma:g} mA, "
            f"about {minutes:.0f} min at {protocol.max_current_ma:g} mA. {electrode_text(protocol)}.")


class WholeNameCombo(QComboBox):
    """A drop-down whose open list is as wide as its longest item, and whose closed box elides in the
    middle (with the whole text as its tooltip) rather than cutting the end.

    WHY: names in the library differ at their end ("Dexamethasone 4 mg/mL, 40 mA·min" and "…, 80 mA·min";
    "Tap water, hyperhidrosis of the hands (DC)" and "…of the feet (pulsed)"); a box cut at the right hides
    exactly that. The list's width is set when it opens, so items added later (the electrode and sites
    follow the protocol) are measured too."""

    #: Room for the list's frame and a vertical scroll bar beside the widest item.
    POPUP_MARGIN_PX = 32

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # long names must not widen the window past a 1280-pixel screen: the box keeps a modest width
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(18)
        self.view().setTextElideMode(Qt.TextElideMode.ElideNone)
        self.currentTextChanged.connect(self.setToolTip)

    def popup_width(self) -> int:
        """The open list's width: every item whole."""
        return max(self.view().sizeHintForColumn(0) + self.POPUP_MARGIN_PX, self.width())

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        self.view().setMinimumWidth(self.popup_width())
        super().showPopup()

    def shown_text(self) -> str:
        """What the closed box shows: the current text, elided in the middle when it does not fit."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        return self.fontMetrics().elidedText(self.currentText(), Qt.TextElideMode.ElideMiddle, field.width())

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        option.currentText = self.shown_text()
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


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
        #: (patient id, protocol id, records generation) the shown history is for; None before the first answer.
        self._history_key: tuple[str, str, int] | None = None
        #: Bumped when this screen's runs change the records (``records_changed``): an answer looked up
        #: before is out of date even for the same patient and protocol.
        self._records_generation = 0
        self._lookups = 0  # the newest look-up's number: older answers are dropped
        self._pending: tuple[str, str, int] | None = None
        self._checklist_waiting = False
        self._today = today
        self._checklist: PrecheckResult | None = None
        self._search_of: SearchSource = no_search
        #: The records' details differ from what was typed for a known ID: the therapist must resolve it.
        self._mismatch = ""
        self.search = QLineEdit()
        self.search.setObjectName("patient_search")
        self.search.setPlaceholderText("Name, ID or birth date (YYYY-MM-DD)")
        self.search_button = QPushButton("Find")
        self.search_button.setObjectName("patient_search_button")
        self.results = QListWidget()
        self.results.setObjectName("patient_results")
        self.results.setMaximumHeight(140)
        self.results.setVisible(False)
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
        self.protocol = WholeNameCombo()
        self.protocol.setObjectName("protocol")
        for p in protocols:
            self.protocol.addItem(p.name, p.id)
        self.site = WholeNameCombo()
        self.site.setObjectName("site")
        self.other_site = QLineEdit()
        self.other_site.setObjectName("other_site")
        self.other_site.setPlaceholderText("Describe the site")
        self.other_site.setVisible(False)
        self.side = QComboBox()
        self.side.setObjectName("side")
        self.side.addItems(["Choose the side…", *SIDES, NO_SIDE])
        self.diagnosis = QComboBox()
        self.diagnosis.setObjectName("diagnosis")
        self.diagnosis.setEditable(True)
        self.diagnosis.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.diagnosis.lineEdit().setPlaceholderText("Choose, or type another ICD-10 code")
        self.coverage = QLabel("")
        self.coverage.setObjectName("coverage")
        self.coverage.setWordWrap(True)
        self.protocol_facts = QLabel("")
        self.protocol_facts.setObjectName("protocol_facts")
        self.protocol_facts.setWordWrap(True)
        self.electrode = WholeNameCombo()
        self.electrode.setObjectName("electrode")
        # the diagnosis box is editable (a typed code): its list is as wide as its longest indication
        self.diagnosis.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.diagnosis.setMinimumContentsLength(18)
        self.diagnosis.view().setTextElideMode(Qt.TextElideMode.ElideNone)
        self.diagnosis.view().setMinimumWidth(self.diagnosis.view().sizeHintForColumn(0) + WholeNameCombo.POPUP_MARGIN_PX)
        self.diagnosis.currentIndexChanged.connect(self._show_diagnosis_from_its_code)
        #: The rest of an interrupted run's prescription, offered by the desk (None: nothing to continue).
        self._offer: Continuation | None = None
        #: The last corticosteroid date the continued run's checklist saw (the continued run itself
        #: is the same prescription, not a second session of the day).
        self._checklist_corticosteroid = None
        self._run_corticosteroid = None
        self.continue_box = QCheckBox("Continue the interrupted run")
        self.continue_box.setObjectName("continue_run")
        self.continue_box.setVisible(False)
        #: The offer's words (how much is left, how much was delivered), wrapped under the box. WHY not the
        #: box's own text: a check box does not wrap, and the long line widened the page past a 1280x720
        #: screen at 150 % (a sideways scroll bar, the Dose readout cut in half).
        self.continue_text = QLabel("")
        self.continue_text.setObjectName("continue_run_text")
        self.continue_text.setWordWrap(True)
        self.continue_text.setVisible(False)
        self.continue_box.toggled.connect(lambda _on: self._invalidate())
        self.checklist_button = QPushButton("Pre-treatment checklist…")
        self.checklist_button.setObjectName("checklist_button")
        self.checklist_state = QLabel("Checklist not done")
        self.checklist_state.setObjectName("checklist_state")
        self.history_label = QLabel("")
        self.history_label.setObjectName("patient_history")
        self.history_label.setWordWrap(True)
        self.mismatch_label = QLabel("")
        self.mismatch_label.setObjectName("patient_mismatch")
        self.mismatch_label.setWordWrap(True)
        self.mismatch_label.setStyleSheet("color:#b71c1c; font-weight:bold;")
        self.use_recorded = QPushButton("Use the recorded name and birth date")
        self.use_recorded.setObjectName("use_recorded")
        for widget in (self.mismatch_label, self.use_recorded):
            widget.setVisible(False)
        find_row = QHBoxLayout()
        find_row.addWidget(self.search, 1)
        find_row.addWidget(self.search_button)
        form = QFormLayout(self)
        form.addRow("Find patient", find_row)
        form.addRow(self.results)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Date of birth", self.date_of_birth)
        form.addRow("Patient notes", self.patient_notes)
        form.addRow("Protocol", self.protocol)
        form.addRow(self.protocol_facts)
        form.addRow("Site", self.site)
        form.addRow("", self.other_site)
        form.addRow("Side", self.side)
        form.addRow("Indication", self.diagnosis)
        form.addRow(self.coverage)
        form.addRow("Electrode", self.electrode)
        form.addRow(self.mismatch_label)
        form.addRow(self.use_recorded)
        form.addRow(self.history_label)
        form.addRow(self.continue_box)
        form.addRow(self.continue_text)
        form.addRow(self.checklist_button, self.checklist_state)
        self.checklist_button.clicked.connect(self.run_checklist)
        self.search.returnPressed.connect(self.find_patients)
        self.search_button.clicked.connect(self.find_patients)
        self.results.itemActivated.connect(self.choose_result)
        guard_choices_from_the_wheel(self)
        self.results.itemClicked.connect(self.choose_result)
        self.patient_id.textEdited.connect(self._id_edited)
        self.use_recorded.clicked.connect(self._use_recorded_details)
        self.date_of_birth.textChanged.connect(self._invalidate)
        for field in (self.patient_name, self.date_of_birth):
            field.textChanged.connect(self._recheck_details)
        for widget in (self.patient_id, self.patient_name):
            widget.textChanged.connect(self._invalidate)
        self.protocol.currentIndexChanged.connect(self._invalidate)
        self.patient_id.editingFinished.connect(self.look_up_patient)
        self.protocol.currentIndexChanged.connect(self.look_up_patient)
        self.protocol.currentIndexChanged.connect(self._show_electrode)
        self.site.currentIndexChanged.connect(lambda _i: self.other_site.setVisible(self.site.currentText() == OTHER))
        for signal in (self.site.currentIndexChanged, self.side.currentIndexChanged,
                       self.diagnosis.currentTextChanged, self.other_site.textChanged):
            signal.connect(self._record_fields_changed)
        self._show_electrode()

    def _show_electrode(self) -> None:
        """The protocol's electrode, facts and sites (the site list follows the protocol).

        WHY site, side and indication start again when the site list changes: the new-user pass
        chose a feet (trays) protocol after an Achilles one and kept "left" and "M76.60 Achilles
        tendinitis" from the previous patient. The same list (another drug for the same site)
        keeps the choices."""
        previous_sites = [self.site.itemText(i) for i in range(self.site.count())]
        previous_site = self.site.currentText()
        self.electrode.clear()
        if not self._protocols:
            self.site.clear()
            return
        protocol = self.selected_protocol()
        sites = sites_for(protocol)
        if list(sites) != previous_sites:
            self.site.clear()
            self.site.addItems(sites)
            self.reset_site_side_indication()
        elif previous_site in sites:
            self.site.setCurrentText(previous_site)
        # the row says "Electrode"; the box shows what differs between electrodes (area, rating) whole,
        # and the plan records the full wording (the item's data)
        self.electrode.addItem(electrode_text(protocol).removeprefix("Active electrode "), electrode_text(protocol))
        self.electrode.setToolTip(f"{electrode_text(protocol)}: the electrode the protocol is made for; "
                                  "a different one needs its own protocol")
        self.protocol.setToolTip(protocol.name)
        self._show_indications(protocol)
        self.protocol_facts.setText(protocol_facts(protocol))
        self._record_fields_changed()

    def _show_indications(self, protocol: Protocol) -> None:
        """The protocol's indications first (``core.indications``); a code already chosen or typed stays.

        WHY no empty item for "none chosen": it was a blank first row in the open list (new-user pass);
        nothing chosen is the box's own "no current item" (index -1), with its placeholder text."""
        kept = self.diagnosis.currentText()
        self.diagnosis.blockSignals(True)
        self.diagnosis.clear()
        for choice in indication_choices(protocol):
            if not choice.own and self.diagnosis.findData(OTHER_INDICATIONS) < 0:
                self.diagnosis.insertSeparator(self.diagnosis.count())  # the protocol's own above, the rest below
                self.diagnosis.addItem(OTHER_INDICATIONS, OTHER_INDICATIONS)
                index = self.diagnosis.count() - 1
                self.diagnosis.model().item(index).setEnabled(False)  # a heading, not a choice
            self.diagnosis.addItem(choice.label, choice.code)
            if choice.flagged:
                self.diagnosis.setItemData(self.diagnosis.count() - 1, "The coverage guideline calls this not "
                                           "medically necessary with this protocol", Qt.ItemDataRole.ToolTipRole)
        code = kept.split()[0].upper() if kept.strip() else ""
        index = self.diagnosis.findData(code) if code else -1
        self.diagnosis.setCurrentIndex(index)  # -1: none chosen (the first item added became current)
        if index < 0:
            self.diagnosis.setEditText(kept)  # another code, typed: kept as typed ("" when none)
        self._show_diagnosis_from_its_code()  # signals are blocked here
        self.diagnosis.view().setMinimumWidth(self.diagnosis.view().sizeHintForColumn(0)
                                              + WholeNameCombo.POPUP_MARGIN_PX)
        self.diagnosis.blockSignals(False)

    def _show_diagnosis_from_its_code(self, _index: int = -1) -> None:
        """A chosen indication longer than the box shows its start (the ICD-10 code), the whole as tooltip.

        WHY: the editable box put its cursor at the end of the text, so the field read
        ":hanteric bursitis  (not medically necessary)" with the code scrolled out of view."""
        self.diagnosis.lineEdit().setCursorPosition(0)
        self.diagnosis.setToolTip(self.diagnosis.currentText())

    def reset_site_side_indication(self) -> None:
        """Back to the first site, no side and no indication chosen: another patient, or a protocol
        for other sites, must have them chosen afresh (they go into the record and the bill)."""
        if self.site.count():
            self.site.setCurrentIndex(0)
        self.other_site.clear()
        self.side.setCurrentIndex(0)
        self.diagnosis.setCurrentIndex(-1)
        self.diagnosis.setEditText("")

    def diagnosis_code(self) -> str:
        """The chosen or typed ICD-10 code (its first word), upper case."""
        text = self.diagnosis.currentText().strip()
        return text.split()[0].upper() if text else ""

    def site_text(self) -> str:
        return self.other_site.text().strip() if self.site.currentText() == OTHER else self.site.currentText()

    def side_text(self) -> str:
        return "" if self.side.currentText() == NO_SIDE or self.side.currentIndex() == 0 else self.side.currentText()

    def _record_fields_changed(self, *_args) -> None:
        if self._protocols:
            words, flagged = coverage_words(self.diagnosis_code(), self.selected_protocol())
            self.coverage.setText(words)
            self.coverage.setStyleSheet("color:#8d6e00; font-weight:bold;" if flagged else "color:#1b5e20;")
        self.plan_changed.emit()

    def _key(self) -> tuple[str, str, int]:
        return (self.patient_identifier(), self.selected_protocol().id if self._protocols else "",
                self._records_generation)

    def patient_identifier(self) -> str:
        """The ID as typed, normalised (case, spaces): "  p-1001 " is P-1001."""
        return normalise_patient_id(self.patient_id.text())

    # --- finding the patient ------------------------------------------------------

    def set_search_source(self, search: SearchSource) -> None:
        self._search_of = search

    def find_patients(self) -> None:
        """Search by name, ID or birth date; the result list shows when the answer comes."""
        text = self.search.text().strip()
        if not text:
            return
        self.search_button.setEnabled(False)
        self._search_of(text, self._found)

    def _found(self, matches: list[PatientMatch], error: str) -> None:
        self.search_button.setEnabled(True)
        self.results.clear()
        if error:
            self.results.addItem(error)
        elif not matches:
            self.results.addItem("No patient found: check the spelling, or enter a new patient below.")
        for match in matches[:SEARCH_LIMIT]:
            item = QListWidgetItem(match.label)
            item.setData(Qt.ItemDataRole.UserRole, match)
            self.results.addItem(item)
        if len(matches) > SEARCH_LIMIT:  # WHY: the list stopped at the 50th without a word (new-user pass)
            more = QListWidgetItem(f"More than {SEARCH_LIMIT} patients match: type more of the name or ID, "
                                   "or search by the birth date.")
            more.setFlags(Qt.ItemFlag.NoItemFlags)
            self.results.addItem(more)
        self.results.setVisible(True)

    def choose_result(self, item: QListWidgetItem) -> None:
        """A found patient fills ID, name and birth date, and is looked up."""
        match = item.data(Qt.ItemDataRole.UserRole)
        if not isinstance(match, PatientMatch):
            return
        if normalise_patient_id(match.identifier) != self.patient_identifier():
            self.reset_site_side_indication()
        self.patient_id.setText(match.identifier)
        self.patient_name.setText(match.name)
        self.date_of_birth.setText(match.date_of_birth.isoformat() if match.date_of_birth else "")
        self.patient_notes.clear()
        self.results.setVisible(False)
        self.look_up_patient()

    def _id_edited(self, _text: str) -> None:
        """Typing another ID starts a new patient: the previous one's details must not stay."""
        for field in (self.patient_name, self.date_of_birth, self.patient_notes):
            field.clear()
        self.reset_site_side_indication()  # the previous patient's site, side and indication are theirs
        self.history_label.setText("")
        self._set_mismatch("")
        # a search's answer is about the search, not this ID: "No patient found" stayed under a new patient
        # entered below it, as the line itself had suggested (new-user pass)
        self.results.clear()
        self.results.setVisible(False)

    def _set_mismatch(self, text: str) -> None:
        self._mismatch = text
        self.mismatch_label.setText(text)
        for widget in (self.mismatch_label, self.use_recorded):
            widget.setVisible(bool(text))
        self.plan_changed.emit()

    def _use_recorded_details(self) -> None:
        history = self._history
        self.patient_name.setText(history.name)
        self.date_of_birth.setText(history.date_of_birth.isoformat() if history.date_of_birth else "")
        self._set_mismatch("")

    def _check_details(self, history: PatientHistory) -> None:
        """A known ID with another name or birth date: a warning the therapist must resolve."""
        if not history.known or not history.name:
            self._set_mismatch("")
            return
        typed_name = self.patient_name.text().strip()
        typed_born = self.birth_date()
        differences = []
        if typed_name and not same_person_details(history.name, typed_name):
            differences.append(f"name {history.name!r}")
        if self.date_of_birth.text().strip() and history.date_of_birth and typed_born != history.date_of_birth:
            differences.append(f"birth date {history.date_of_birth.isoformat()}")
        if differences:
            self._set_mismatch(
                f"ID {history.identifier or self.patient_identifier()} is recorded with {' and '.join(differences)}. "
                "Check the patient: use the recorded details, or correct the ID.")
        else:
            self._set_mismatch("")

    def _recheck_details(self) -> None:
        if self.history_current():
            self._check_details(self._history)

    def problems(self) -> list[str]:
        """What the set-up still lacks, in plain words (before the desk's own reasons)."""
        problems = []
        if not self.patient_identifier():
            problems.append("Enter the patient's ID (or find the patient).")
        elif not self.patient_name.text().strip():
            problems.append("Enter the patient's name.")
        born = birth_date_problem(self.date_of_birth.text(), self._today())
        if born:
            problems.append(born)
        if self._mismatch:
            problems.append(self._mismatch)
        if not self.site_text():
            problems.append("Describe the treated site.")
        if self.side.currentIndex() == 0:
            problems.append("Choose the side treated (or \"no side\").")
        return problems

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
        self._history_of(self.patient_identifier(), self.selected_protocol(),
                         lambda history: self._history_arrived(number, key, history))

    def records_changed(self) -> None:
        """A run of this screen was recorded (started, or its record closed): look the patient up again.

        WHY: the history on screen was the answer from before the run, so a patient's first run left
        "New patient: no earlier sessions." on screen for the runs after it, for a patient with
        sessions in the records (and a run still "running" in the list after it ended). The new
        look-up goes to the desk's worker after the start's own job (one thread, in order), so it
        sees the run's record."""
        self._records_generation += 1
        self.look_up_patient()

    def _history_arrived(self, number: int, key: tuple[str, str, int], history: PatientHistory) -> None:
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
            if history.date_of_birth and not self.date_of_birth.text().strip():
                self.date_of_birth.setText(history.date_of_birth.isoformat())
        self._check_details(history)
        first = ("Known patient: no earlier sessions." if history.known else
                 f"The records cannot be read, so earlier sessions are unknown: {history.unreadable}"
                 if history.unreadable else "New patient: no earlier sessions.")
        lines = list(history.recent) or ([first] if self.patient_identifier() else [])
        lines += [f"Reminder: {text}" for text in history.reminders]
        if history.last_corticosteroid:
            # the checklist's one message for this fact, with its severity (core.corticosteroids)
            fact = corticosteroid_interval(history.last_corticosteroid, self._today())
            if is_corticosteroid(self.selected_protocol()):
                lines.append(f"{'Blocked' if fact.blocks else 'Note'}: {fact.message}")
            else:  # no rule applies to this protocol: the date is for information
                lines.append(f"Note: last corticosteroid session {fact.when}.")
        self.history_label.setText("\n".join(lines))
        if self._checklist_waiting:
            self._checklist_waiting = False
            self._open_checklist()

    def protocol_or_none(self) -> Protocol | None:
        return self.selected_protocol() if self._protocols else None

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
        last = self._history.last_corticosteroid
        if self.continuing():  # the run being completed does not count against its own prescription
            recorded = self._history.continuation is not None and self._history.continuation == self._offer
            last = self._history.corticosteroid_before_continuation if recorded else self._run_corticosteroid
        self._checklist_corticosteroid = last
        return ChecklistDialog(
            is_corticosteroid=is_corticosteroid(protocol),
            drug_name=protocol.agent.solution,
            tap_water=protocol.agent.kind is AgentKind.TAP_WATER,
            last_corticosteroid_session=last,
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

    def checklist_used(self) -> None:
        """A run has started with the checklist: the next run needs a new one.

        WHY: after a stop the screen kept "Checklist complete", and a second
        corticosteroid run the same day started without the rule that forbids it
        being asked again. The new checklist looks the patient up afresh, so it
        sees the run that just ended."""
        if not self.continuing():
            self._run_corticosteroid = self._checklist_corticosteroid
        self._checklist = None
        self.checklist_state.setText("Checklist not done (each run needs its own)")
        self.records_changed()
        self.plan_changed.emit()

    def offer_continuation(self, offer: Continuation | None) -> None:
        """Show (checked) or hide the offer to continue an interrupted run's prescription."""
        if offer == self._offer:
            return
        self._offer = offer
        self.continue_box.blockSignals(True)
        self.continue_box.setChecked(offer is not None)
        self.continue_box.blockSignals(False)
        words = offer.text.removeprefix(self.continue_box.text() + ": ") if offer else ""
        self.continue_text.setText(words[:1].upper() + words[1:])
        for widget in (self.continue_box, self.continue_text):
            widget.setVisible(offer is not None)
        self._invalidate()

    def recorded_continuation(self) -> Continuation | None:
        """The offer read back from the records for the patient and protocol on screen (after a restart
        of the console), or None before the first answer for them or for another protocol."""
        # the last answer for this patient and protocol, even while a newer look-up is pending: hiding the
        # offer during each look-up unticked it and discarded a checklist just done
        key = self._history_key
        offer = self._history.continuation if key is not None and key[:2] == self._key()[:2] else None
        protocol = self.protocol_or_none()
        return offer if offer is not None and protocol is not None and offer.protocol_id == protocol.id else None

    def continuing(self) -> bool:
        return self._offer is not None and self.continue_box.isChecked()

    def _invalidate(self) -> None:
        """A different patient or protocol needs a new checklist."""
        self.cosigned_by = ""
        if self._checklist is not None:
            self._checklist = None
            self.checklist_state.setText("Checklist not done")
        self.plan_changed.emit()

    def birth_date(self) -> dt.date | None:
        """The date typed, or None when empty or not a plausible date (the field then shows red
        and ``problems()`` says why)."""
        text = self.date_of_birth.text().strip()
        bad = bool(birth_date_problem(text, self._today()))
        self.date_of_birth.setStyleSheet("border: 2px solid #c62828;" if bad else "")
        return None if bad or not text else dt.date.fromisoformat(text)

    def plan(self) -> SessionPlan | None:
        """The plan on screen, or None while ``problems()`` lists something to fix."""
        if self.problems():
            return None
        checklist = self._checklist
        return SessionPlan(
            protocol=self.selected_protocol(),
            patient_id=self.patient_identifier(),
            patient_name=self.patient_name.text().strip(),
            site=self.site_text(),
            side=self.side_text(),
            diagnosis_code=self.diagnosis_code(),
            continues_session_id=self._offer.session_id if self.continuing() else None,
            dose_target_ma_min=self._offer.remaining_ma_min if self.continuing() else None,
            electrode=self.electrode.currentData() or self.electrode.currentText(),
            checklist_passed=bool(checklist and checklist.can_start),
            checklist_record=checklist.as_record() if checklist else {},
            date_of_birth=self.birth_date(),
            patient_notes=self.patient_notes.text().strip(),
            cosigned_by=self.cosigned_by,
        )
