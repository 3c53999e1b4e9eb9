"""The pre-treatment checklist: yes/no questions from core.prechecks, judged live.

The dialog only collects answers, reasons and confirmations; ``core.prechecks.evaluate``
decides. OK is enabled only when the result says the treatment can start.

WHY nothing moves: clicks landed on the wrong answers when reason fields
appeared and collapsed. Every row has its reason field from the start (enabled
only when a reason is needed), the Yes/No columns have fixed widths, the
question column wraps whole sentences, and the caution confirmation sits in
its own box below the answers, never between them. The questions scroll when
the screen is short; the verdict and the buttons stay.

WHY fixed-height panels for the cautions and the verdict: the verdict listed
every unanswered question, so each answer shortened it, the questions' area
grew, its scroll range shrank and the scroll position jumped back: the rows
under the mouse moved ~23 px (new-user pass at 1366x768@125 %). Both panels
now have a height set once (they scroll inside when their text is longer),
the unanswered questions are counted on one line instead of listed, and a
protocol without cautions shows no cautions box at all, so answering changes
no other widget's geometry and no scroll position.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QSize, Qt
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

#: The dialog's width where the screen is wide enough (logical pixels).
PREFERRED_WIDTH = 1000
#: Lines the verdict panel shows without scrolling (the unanswered questions take one line).
VERDICT_LINES = 4
#: Lines of the cautions panel: at most three cautions exist (pregnancy, infant, diabetes).
CAUTION_LINES = 3
#: Below this free height (logical pixels) the cautions, the verdict and the buttons share one row under
#: the questions instead of three: at 1280x720 with 150 % (440 px) the stacked panels left the questions
#: about 150 px, four or five rows at once (new-user pass).
COMPACT_BELOW_PX = 600
#: The reason fields' hint, whole (the field is never narrower than it).
REASON_HINT = "Written reason to proceed anyway"
#: Room the dialog's title bar and frame take beyond its own height.
WINDOW_FRAME_PX = 40


def _fixed_panel(label: QLabel, lines: int) -> QScrollArea:
    """``label`` in a scroll area exactly ``lines`` text lines tall, whatever it says later."""
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(label)
    area.setFixedHeight(label.fontMetrics().lineSpacing() * lines)
    return area


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
        self._grid = grid
        grid.setColumnStretch(0, 3)  # spare width mostly to the questions, some to the reasons
        grid.setColumnStretch(3, 1)
        # minimums that fit a 1280x720 screen at 150 % (853 logical pixels): wider screens get wider questions
        grid.setColumnMinimumWidth(0, 300)
        answer_px = max(QRadioButton(word).sizeHint().width() for word in ("Yes", "No")) + 8
        grid.setColumnMinimumWidth(1, answer_px)
        grid.setColumnMinimumWidth(2, answer_px)
        # the whole hint: "Written reason to proceed an…" was cut at 1366x768 with 125 % (new-user pass)
        probe = QLineEdit()
        probe.setPlaceholderText(REASON_HINT)
        grid.setColumnMinimumWidth(3, max(200, probe.fontMetrics().horizontalAdvance(REASON_HINT) + 24))
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
            reason.setPlaceholderText(REASON_HINT if question.kind is QuestionKind.CONTRAINDICATION else "")
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
        self.scroll_area = scroll = QScrollArea()
        self.confirm = QCheckBox("I confirm the cautions listed here with the prescriber's approval")
        self.confirm.setObjectName("confirm_cautions")
        self.confirm.setEnabled(False)
        self.confirm.toggled.connect(self._update)
        self.cautions = QGroupBox("Cautions to confirm")
        self.cautions.setObjectName("cautions")
        self.caution_text = QLabel("None.")
        caution_layout = QVBoxLayout(self.cautions)
        caution_layout.addWidget(_fixed_panel(self.caution_text, CAUTION_LINES))
        caution_layout.addWidget(self.confirm)
        self.verdict = QLabel("")
        self.verdict.setObjectName("checklist_verdict")
        self._verdict_panel = verdict_panel = _fixed_panel(self.verdict, VERDICT_LINES)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        # Always there: a scroll bar that vanished as the verdict list shrank widened the questions and moved
        # the Yes/No columns ~14 px under the mouse mid-checklist (new-user pass, 1366x768).
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        # never sideways: the questions wrap to the width there is (a sideways bar hid the reason fields)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(answers)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        #: Under the questions: the cautions, the verdict and the buttons (stacked, or in one row: ``fit_to``).
        self._below = QGridLayout()
        layout.addLayout(self._below)
        self.compact = False
        self._arrange_below(compact=False)
        # not a corticosteroid: no caution can ever show, so no box to read (hidden once it has a parent:
        # a parentless widget made visible opens as a window of its own and takes the focus)
        self.cautions.setHidden(not is_corticosteroid)
        self._answers = answers
        self.fit_to(self.screen().availableGeometry().size())
        self.result_: PrecheckResult = self._evaluate()
        self._update()

    def _arrange_below(self, *, compact: bool) -> None:
        """Stacked (cautions, verdict, buttons), or on a short screen one row: cautions | verdict | buttons.

        WHY decided here, before the dialog is shown, and never while answering: the rows must not move
        under the mouse; the panels keep their fixed heights in either arrangement."""
        below = self._below
        for widget in (self.cautions, self._verdict_panel, self.buttons):
            below.removeWidget(widget)
        if compact:
            below.addWidget(self.cautions, 0, 0)
            below.addWidget(self._verdict_panel, 0, 1, Qt.AlignmentFlag.AlignTop)
            below.addWidget(self.buttons, 0, 2, Qt.AlignmentFlag.AlignBottom)
            below.setColumnStretch(0, 1)
            below.setColumnStretch(1, 1)
            self.buttons.setOrientation(Qt.Orientation.Vertical)
        else:
            below.addWidget(self.cautions, 0, 0, 1, 3)
            below.addWidget(self._verdict_panel, 1, 0, 1, 3)
            below.addWidget(self.buttons, 2, 0, 1, 3)
            below.setColumnStretch(0, 0)
            below.setColumnStretch(1, 0)
            self.buttons.setOrientation(Qt.Orientation.Horizontal)
        self._grid.setVerticalSpacing(6 if compact else 10)
        # beside the cautions box the verdict is half as wide: it may take the box's height (its lines wrap)
        lines = self.verdict.fontMetrics().lineSpacing() * VERDICT_LINES
        beside = self.cautions.sizeHint().height() if compact and not self.cautions.isHidden() else 0
        self._verdict_panel.setFixedHeight(max(lines, beside))
        self.compact = compact

    def fit_to(self, screen: QSize) -> None:
        """As wide as the questions need (whole sentences), as tall as a screen of this free area allows;
        on a short screen the panels under the questions share one row (more questions in view at once)."""
        self._arrange_below(compact=screen.height() < COMPACT_BELOW_PX)
        self.layout().activate()
        want = self._answers.sizeHint()
        extra = self.sizeHint().height() - self.scroll_area.sizeHint().height()
        # at least PREFERRED_WIDTH where the screen has it: the questions wrap less and the reason fields
        # show their whole hint (the narrow minimums are for a 1280x720 screen at 150 %)
        self.resize(min(max(want.width() + 60, PREFERRED_WIDTH), screen.width() - 40),
                    min(want.height() + extra + 20, screen.height() - WINDOW_FRAME_PX))

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
        for question in self.questions:
            key = question.check.value
            # a reason is asked only of a "yes" to a contraindication (not of a question still unanswered)
            self.reasons[key].setEnabled(question.kind is QuestionKind.CONTRAINDICATION and self.yes[key].isChecked())
        cautions = [*result.confirmations_needed, *result.confirmed]
        self.confirm.setEnabled(bool(cautions))
        self.caution_text.setText("\n".join(f"• {f.message}" for f in cautions) or "None.")
        unanswered = [k for k, v in result.answers.items() if v is None]
        lines = [f"Not answered yet: {len(unanswered)} of {len(result.answers)} questions."] if unanswered else []
        lines += [f"Blocked: {f.message}" for f in result.blockers if result.answers.get(f.check, True) is not None]
        lines += [f"Needs confirmation: {f.message}" for f in result.confirmations_needed]
        lines += [f"Note: {f.message}" for f in result.warnings]  # the last corticosteroid date, not blocking
        lines += [f"Overridden: {o.message} — reason: {o.reason}" for o in result.overridden]
        if result.can_start:
            lines.insert(0, "The treatment may start.")
        self.verdict.setText("\n".join(lines))
        self.verdict.setStyleSheet("color:#1b5e20;" if result.can_start else "color:#b71c1c;")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(result.can_start)

    def result_value(self) -> PrecheckResult:
        return self.result_
