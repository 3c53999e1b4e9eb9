"""The pre-treatment checklist: yes/no questions from core.prechecks, judged live.

The dialog only collects answers, reasons and confirmations; ``core.prechecks.evaluate``
decides. OK is enabled only when the result says the treatment can start.

WHY nothing moves: clicks landed on the wrong answers when reason fields
appeared and collapsed. Every row has its reason field from the start (enabled
only when a reason is needed), the Yes/No columns have fixed widths, the
question column wraps whole sentences, and the caution confirmation sits in
its own box below the answers, never between them. The questions scroll when
the screen is short; the verdict and the buttons stay.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QScrollArea,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..core.prechecks import PrecheckResult, QuestionKind, evaluate, questions_for


class ChecklistDialog(QDialog):
    def __init__(
        self,
        *,
        is_corticosteroid: bool,
        drug_name: str | None,
        last_corticosteroid_session: dt.date | None,
        today: dt.date,
        tap_water: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pre-treatment checklist")
        self._kwargs = dict(
            is_corticosteroid=is_corticosteroid,
            last_corticosteroid_session=last_corticosteroid_session,
            today=today,
            drug_name=drug_name,
            tap_water=tap_water,
        )
        self.questions = questions_for(is_corticosteroid=is_corticosteroid, drug_name=drug_name, tap_water=tap_water)
        self.yes: dict[str, QRadioButton] = {}
        self.no: dict[str, QRadioButton] = {}
        self.reasons: dict[str, QLineEdit] = {}
        answers = QWidget()
        grid = QGridLayout(answers)
        grid.setColumnStretch(0, 1)
        grid.setColumnMinimumWidth(0, 380)
        grid.setColumnMinimumWidth(1, 70)
        grid.setColumnMinimumWidth(2, 70)
        grid.setColumnMinimumWidth(3, 260)
        grid.setVerticalSpacing(10)
        for row, question in enumerate(self.questions):
            key = question.check.value
            label = QLabel(question.text)
            label.setWordWrap(True)
            yes, no = QRadioButton("Yes"), QRadioButton("No")
            yes.setObjectName(f"yes_{key}")
            no.setObjectName(f"no_{key}")
            group = QButtonGroup(self)
            group.addButton(yes)
            group.addButton(no)
            reason = QLineEdit()
            reason.setObjectName(f"reason_{key}")
            reason.setPlaceholderText(
                "Written reason to proceed anyway" if question.kind is QuestionKind.CONTRAINDICATION else ""
            )
            reason.setEnabled(False)  # present from the start: the row never changes shape
            if question.kind is not QuestionKind.CONTRAINDICATION:
                reason.setVisible(False)
                policy = reason.sizePolicy()
                policy.setRetainSizeWhenHidden(True)
                reason.setSizePolicy(policy)
            grid.addWidget(label, row, 0)
            grid.addWidget(yes, row, 1)
            grid.addWidget(no, row, 2)
            grid.addWidget(reason, row, 3)
            for widget in (yes, no):
                widget.toggled.connect(self._update)
            reason.textChanged.connect(self._update)
            self.yes[key], self.no[key], self.reasons[key] = yes, no, reason
        # Spare height goes below the last question: spread over the rows, it moved every row down as the
        # list of what is missing shrank and the questions' area grew.
        grid.setRowStretch(len(self.questions), 1)
        self.confirm = QCheckBox("I confirm the cautions listed here with the prescriber's approval")
        self.confirm.setObjectName("confirm_cautions")
        self.confirm.setEnabled(False)
        self.confirm.toggled.connect(self._update)
        self.cautions = QGroupBox("Cautions to confirm")
        self.cautions.setObjectName("cautions")
        self.caution_text = QLabel("None.")
        self.caution_text.setWordWrap(True)
        caution_layout = QVBoxLayout(self.cautions)
        caution_layout.addWidget(self.caution_text)
        caution_layout.addWidget(self.confirm)
        self.verdict = QLabel("")
        self.verdict.setObjectName("checklist_verdict")
        self.verdict.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Always there: a scroll bar that vanished as the verdict list shrank widened the questions and moved
        # the Yes/No columns ~14 px under the mouse mid-checklist (new-user pass, 1366x768).
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        scroll.setWidget(answers)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.cautions)
        layout.addWidget(self.verdict)
        layout.addWidget(self.buttons)
        self._fit_screen(answers)
        self.result_: PrecheckResult = self._evaluate()
        self._update()

    def _fit_screen(self, answers: QWidget) -> None:
        """As wide as the questions need (whole sentences), as tall as the screen allows."""
        screen = self.screen().availableGeometry()
        want = answers.sizeHint()
        self.resize(min(want.width() + 60, screen.width() - 40), min(want.height() + 260, screen.height() - 60))

    def answer(self, check: str, yes: bool, reason: str = "") -> None:
        """Answer one question (used by tests and keyboard users alike)."""
        (self.yes if yes else self.no)[check].setChecked(True)
        if reason:
            self.reasons[check].setText(reason)

    def _evaluate(self) -> PrecheckResult:
        answers = {
            key: True if self.yes[key].isChecked() else False if self.no[key].isChecked() else None
            for key in self.yes
        }
        overrides = {key: edit.text() for key, edit in self.reasons.items() if edit.text().strip()}
        result = evaluate(answers, overrides=overrides, **self._kwargs)
        if self.confirm.isChecked():
            result = evaluate(
                answers, overrides=overrides, confirmed=[f.check for f in result.confirmations_needed],
                **self._kwargs,
            )
        return result

    def _update(self) -> None:
        result = self._evaluate()
        self.result_ = result
        blocked = {f.check for f in result.blockers} | {o.check for o in result.overridden}
        for question in self.questions:
            key = question.check.value
            self.reasons[key].setEnabled(
                question.kind is QuestionKind.CONTRAINDICATION and (self.yes[key].isChecked() or key in blocked)
            )
        cautions = [*result.confirmations_needed, *result.confirmed]
        self.confirm.setEnabled(bool(cautions))
        self.caution_text.setText("\n".join(f"• {f.message}" for f in cautions) or "None.")
        lines = [f"Blocked: {f.message}" for f in result.blockers]
        lines += [f"Needs confirmation: {f.message}" for f in result.confirmations_needed]
        lines += [f"Warning: {f.message}" for f in result.warnings]
        lines += [f"Overridden: {o.message} — reason: {o.reason}" for o in result.overridden]
        if result.can_start:
            lines.insert(0, "The treatment may start.")
        self.verdict.setText("\n".join(lines))
        self.verdict.setStyleSheet("color:#1b5e20;" if result.can_start else "color:#b71c1c;")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(result.can_start)

    def result_value(self) -> PrecheckResult:
        return self.result_
