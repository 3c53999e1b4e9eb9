"""The set-up form says the last corticosteroid session as the checklist does: the same words and the
same severity, once (issue 14: "Reminder: Corticosteroid on consecutive days …" beside "Last corticosteroid
session: 2026-11-30" on the form, "Blocked" and "Warning" for the same fact on the checklist)."""

from __future__ import annotations

import datetime as dt

from ionto_console.control.patient_history import PatientHistory
from ionto_console.core.corticosteroids import is_corticosteroid
from ionto_console.core.prechecks import Check
from ionto_console.core.protocols import load_library
from ionto_console.ui.session_setup import SessionSetup

TODAY = dt.date(2026, 11, 30)


def _setup(qtbot, last: dt.date, steroid: bool) -> SessionSetup:
    protocols = [p for p in load_library() if is_corticosteroid(p) is steroid]
    history = PatientHistory(True, "Ann Example", (), last, ())
    setup = SessionSetup(protocols, history=lambda _who, _p, reply: reply(history), today=lambda: TODAY)
    qtbot.addWidget(setup)
    setup.patient_id.setText("P-7")
    setup.look_up_patient()
    return setup


def test_the_form_and_the_checklist_say_today_once_as_blocked(qtbot):
    setup = _setup(qtbot, TODAY, steroid=True)
    text = setup.history_label.text()
    assert "Blocked: Last corticosteroid session: today (2026-11-30)." in text
    assert text.count("corticosteroid") + text.count("Corticosteroid") == 2  # the one line: date, rule
    dialog = setup.make_checklist()
    qtbot.addWidget(dialog)
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
    verdict = dialog.verdict.text()
    assert "Blocked: Last corticosteroid session: today (2026-11-30)." in verdict
    assert "Warning" not in verdict and verdict.count("Last corticosteroid session") == 1


def test_an_older_date_is_a_note_in_plain_words(qtbot):
    setup = _setup(qtbot, TODAY - dt.timedelta(days=2), steroid=True)
    assert "Note: Last corticosteroid session: 2 days ago (2026-11-28)." in setup.history_label.text()
    plain = _setup(qtbot, TODAY, steroid=False)
    assert "Note: last corticosteroid session today (2026-11-30)." in plain.history_label.text()
    assert "Blocked" not in plain.history_label.text()
