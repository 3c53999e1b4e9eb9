"""The checklist holds still under the mouse and shows every question whole (issue 14, item 5).

New-user pass at 1366x768 (125 %): pressing Yes on the consent question
shortened the list of what was missing below the questions, the questions'
area grew, its scroll range shrank and the scroll position jumped: the next
rows moved ~23 px and clicks landed between them. The consent question was
cut at 1920x1080 (150 %). Each case lays the dialog out on the screen's free
area in logical pixels (physical / scale, less a 40-pixel taskbar, as in
``test_screen_fit``), scrolls each question into view as a therapist would,
answers it (Yes, then No; a reason where one is asked; the caution
confirmation), and asserts that no other widget and no scroll value moved.
"""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractButton, QLabel, QScrollArea, QStyle, QWidget

from ionto_console.core.prechecks import Check, QuestionKind
from ionto_console.ui.checklist_dialog import ChecklistDialog

SCREENS = [((1366, 768), 1.25), ((1920, 1080), 1.5), ((1280, 720), 1.5)]
IDS = ["1366x768@125", "1920x1080@150", "1280x720@150"]
TASKBAR = 40
TODAY = dt.date(2026, 11, 30)
CASES = {
    # a corticosteroid given yesterday: the blocked day rule, cautions to confirm, the allergy to a drug
    "dexamethasone": dict(is_corticosteroid=True, drug_name="dexamethasone sodium phosphate",
                          last_corticosteroid_session=TODAY - dt.timedelta(days=1), today=TODAY),
    "tap water": dict(is_corticosteroid=False, drug_name="tap water", tap_water=True,
                      last_corticosteroid_session=None, today=TODAY),
}


def _geometry(dialog: ChecklistDialog) -> dict[str, QRect]:
    """Every question's label, answer buttons and reason field, the cautions and the dialog's buttons,
    in the dialog's coordinates (so a scroll of the questions shows as a move)."""
    widgets: dict[str, QWidget] = {}
    labels = [w for w in dialog.scroll_area.widget().findChildren(QLabel)]
    for label in labels:
        widgets[f"label {label.text()[:30]}"] = label
    for key in dialog.yes:
        widgets[f"yes {key}"], widgets[f"no {key}"] = dialog.yes[key], dialog.no[key]
        widgets[f"reason {key}"] = dialog.reasons[key]
    widgets["cautions"], widgets["confirm"] = dialog.cautions, dialog.confirm
    for button in dialog.buttons.findChildren(QAbstractButton):
        widgets[f"button {button.text()}"] = button
    return {name: QRect(w.mapTo(dialog, QPoint(0, 0)), w.size()) for name, w in widgets.items()}


def _scrolls(dialog: ChecklistDialog) -> list[int]:
    return [area.verticalScrollBar().value() for area in dialog.findChildren(QScrollArea)]


def _shown(qtbot, case: str, screen: tuple[int, int], scale: float) -> ChecklistDialog:
    """The case's checklist, fitted to the screen's free area in logical pixels and on screen."""
    dialog = ChecklistDialog(**CASES[case])
    qtbot.addWidget(dialog)
    dialog.fit_to(QSize(int(screen[0] / scale), int(screen[1] / scale) - TASKBAR))
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.wait(10)
    return dialog


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("screen,scale", SCREENS, ids=IDS)
def test_answering_moves_no_other_row_nor_the_scroll(qtbot, case, screen, scale):
    dialog = _shown(qtbot, case, screen, scale)

    def act(what: str, action) -> None:
        before, scrolls = _geometry(dialog), _scrolls(dialog)
        action()
        qtbot.wait(5)
        after = _geometry(dialog)
        moved = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
        assert not moved, f"{what} moved {moved}"
        assert _scrolls(dialog) == scrolls, f"{what} scrolled"

    for question in dialog.questions:
        key = question.check.value
        dialog.scroll_area.ensureWidgetVisible(dialog.yes[key])
        qtbot.wait(5)
        act(f"Yes to {key}", lambda: dialog.yes[key].click())
        if question.kind is QuestionKind.CONTRAINDICATION:
            act(f"a reason for {key}", lambda: dialog.reasons[key].setText("Prescriber approved in writing."))
            act(f"no reason for {key}", lambda: dialog.reasons[key].setText(""))
        act(f"No to {key}", lambda: dialog.no[key].click())
        if question.check is Check.PATIENT_INFORMED:
            act("Yes to consent", lambda: dialog.yes[key].click())
    # every answer given; the day rule's reason and the cautions
    if CASES[case]["is_corticosteroid"]:
        for key in (Check.PREGNANCY.value, Check.INFANT.value):
            dialog.scroll_area.ensureWidgetVisible(dialog.yes[key])
            qtbot.wait(5)
            act(f"Yes to {key} again", lambda: dialog.yes[key].click())
        act("the caution confirmation", lambda: dialog.confirm.click())
        act("the confirmation undone", lambda: dialog.confirm.click())
    assert any(word in dialog.verdict.text() for word in ("Blocked", "may start", "Needs"))


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("screen,scale", SCREENS, ids=IDS)
def test_every_question_shows_its_whole_text(qtbot, case, screen, scale):
    dialog = _shown(qtbot, case, screen, scale)
    labels = dialog.scroll_area.widget().findChildren(QLabel)
    assert {label.text() for label in labels} == {q.text for q in dialog.questions}
    for label in labels:
        needed = QFontMetrics(label.font()).boundingRect(
            QRect(0, 0, label.contentsRect().width(), 10_000), int(Qt.TextFlag.TextWordWrap), label.text())
        assert label.contentsRect().height() >= needed.height(), label.text()
        assert label.contentsRect().width() >= needed.width(), label.text()
    # the dialog fits the screen it was laid out for, and every answer column is inside it (not scrolled sideways)
    assert dialog.width() <= screen[0] / scale and dialog.height() <= screen[1] / scale - TASKBAR
    viewport = QRect(dialog.scroll_area.viewport().mapTo(dialog, QPoint(0, 0)), dialog.scroll_area.viewport().size())
    for key in dialog.yes:
        for widget in (dialog.yes[key], dialog.no[key], dialog.reasons[key]):
            place = QRect(widget.mapTo(dialog, QPoint(0, 0)), widget.size())
            assert viewport.left() <= place.left() and place.right() <= viewport.right(), key
    # every reason field shows its whole hint ("Written reason to proceed an…" was cut at 1366x768 @ 125 %)
    for key, reason in dialog.reasons.items():
        if reason.placeholderText():
            frame = reason.style().pixelMetric(QStyle.PixelMetric.PM_DefaultFrameWidth, None, reason)
            room = reason.width() - 2 * frame - 4  # QLineEdit's own 2-pixel text margin on each side
            need = reason.fontMetrics().horizontalAdvance(reason.placeholderText())
            assert room >= need, f"{key}: the hint needs {need} px, the field shows {room}"
    # most questions at once, even on the shortest screen (1280x720 @ 150 % showed 4 of 10 rows)
    rows = QRect(QPoint(0, 0), dialog.scroll_area.viewport().size())
    shown = [key for key in dialog.yes
             if rows.contains(QRect(dialog.yes[key].mapTo(dialog.scroll_area.viewport(), QPoint(0, 0)),
                                    dialog.yes[key].size()))]
    assert len(shown) >= min(8, len(dialog.yes)), f"{len(shown)} of {len(dialog.yes)} questions in view at once"
