"""Plain words on the clinical screens (issue 14, item 21): what a therapist reads has no ids or
nonsense questions."""

from __future__ import annotations

from ionto_console.core.prechecks import Check
from ionto_console.core.protocols import AgentKind


def test_the_checklist_of_a_tap_water_protocol_asks_about_skin_and_metal_reactions(qtbot, window):
    """It asked "Is the patient known to be allergic to tap water?"."""
    setup = window.setup
    index = next(i for i, p in enumerate(setup._protocols) if p.agent.kind is AgentKind.TAP_WATER)
    setup.protocol.setCurrentIndex(index)
    setup.patient_id.setText("P-2001")
    setup.patient_name.setText("Ada Example")
    setup.look_up_patient()
    qtbot.waitUntil(setup.history_current, timeout=10_000)
    dialog = setup.make_checklist()
    qtbot.addWidget(dialog)
    (allergy,) = [q.text for q in dialog.questions if q.check is Check.DRUG_ALLERGY]
    assert "tap water?" not in allergy and "metal" in allergy and "skin" in allergy
    drug = next(i for i, p in enumerate(setup._protocols) if p.agent.kind is AgentKind.DRUG)
    setup.protocol.setCurrentIndex(drug)
    setup.look_up_patient()
    qtbot.waitUntil(setup.history_current, timeout=10_000)
    dialog = setup.make_checklist()
    qtbot.addWidget(dialog)
    (allergy,) = [q.text for q in dialog.questions if q.check is Check.DRUG_ALLERGY]
    assert setup.selected_protocol().agent.solution in allergy


def test_a_correction_names_the_field_in_words_not_its_column():
    import datetime as dt
    from types import SimpleNamespace

    from ionto_console.control.records_views import correction_line
    from ionto_console.records.store import AMENDABLE_FIELDS

    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc)
    for field in AMENDABLE_FIELDS:
        line = correction_line(SimpleNamespace(field=field, value="x", who="Dana", why="typo", at=at))
        assert field not in line and "_" not in line.split("→")[0]
    assert correction_line(SimpleNamespace(field="diagnosis_code", value="L74.510", who="Dana", why="typo",
                                           at=at)).startswith("Diagnosis code → L74.510 by Dana (typo)")


def test_the_checklist_columns_hold_still_while_it_is_answered(qtbot):
    """New-user pass at 1366x768: as answers shortened the list of what is missing, the questions' scroll
    bar vanished, the questions widened and the Yes/No columns moved ~14 px under the mouse; the rows
    spread downwards as the questions' area grew."""
    import datetime as dt

    from PySide6.QtCore import QPoint

    from ionto_console.ui.checklist_dialog import ChecklistDialog

    dialog = ChecklistDialog(is_corticosteroid=True, drug_name="dexamethasone sodium phosphate",
                             last_corticosteroid_session=None, today=dt.date(2026, 11, 30))
    qtbot.addWidget(dialog)
    dialog.resize(870, 620)
    dialog.show()
    qtbot.waitExposed(dialog)

    def columns() -> list[tuple[QPoint, QPoint]]:
        return [(dialog.yes[k].mapTo(dialog, QPoint(0, 0)), dialog.no[k].mapTo(dialog, QPoint(0, 0)))
                for k in dialog.yes]

    before = columns()
    for question in dialog.questions:
        dialog.answer(question.check.value, yes=question.check is Check.PATIENT_INFORMED)
        qtbot.wait(1)
        assert columns() == before
    assert dialog.result_value().can_start
