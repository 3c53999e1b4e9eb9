"""The set-up's indication list follows the protocol (issue 14, new-user pass item 1)."""

from __future__ import annotations

from ionto_console.core.protocols import load_library
from ionto_console.ui.session_setup import OTHER_INDICATIONS, SessionSetup

HYPERHIDROSIS_PREFIXES = ("L74.51", "L74.52", "R61")


def _codes(setup):
    """The protocol's own codes: those above the "Other indications" heading."""
    codes = [setup.diagnosis.itemData(i) for i in range(setup.diagnosis.count())]
    return codes[:codes.index(None)] if None in codes else codes  # the separator has no data


def _others(setup):
    codes = [setup.diagnosis.itemData(i) for i in range(setup.diagnosis.count())]
    return codes[codes.index(OTHER_INDICATIONS) + 1:]


def _text(setup, code):
    return setup.diagnosis.itemText(setup.diagnosis.findData(code))


def _choose(setup, protocol_id):
    setup.protocol.setCurrentIndex(setup.protocol.findData(protocol_id))


def test_dexamethasone_lists_musculoskeletal_codes_flagged_and_tap_water_hyperhidrosis_first(qtbot):
    setup = SessionSetup(load_library())
    qtbot.addWidget(setup)
    _choose(setup, "dexamethasone-4mgml-40")
    codes = _codes(setup)
    assert codes[0] == "M76.60" and not any(c.startswith(HYPERHIDROSIS_PREFIXES) for c in codes), codes
    assert _others(setup)[0].startswith(HYPERHIDROSIS_PREFIXES)  # offered, but after the protocol's own
    # CG-MED-28: corticosteroid iontophoresis for inflammatory musculoskeletal disorders is not medically necessary
    assert "not medically necessary" in setup.diagnosis.itemText(0)
    _choose(setup, "tap-water-hands-dc")
    codes = _codes(setup)
    assert all(c.startswith(HYPERHIDROSIS_PREFIXES) for c in codes[:7]) and codes[0] == "L74.512", codes
    assert not any("not medically necessary" in _text(setup, code) for code in codes)
    # the guideline's not-medically-necessary ones are still offered below, flagged as such
    assert "M26.609" in _others(setup) and "not medically necessary" in _text(setup, "M26.609")
    heading = setup.diagnosis.findData(OTHER_INDICATIONS)
    assert not setup.diagnosis.model().item(heading).isEnabled()  # a heading, not a choice
    _choose(setup, "lidocaine-venipuncture")
    assert _codes(setup)[0] == "Z01.812"
    setup.diagnosis.setCurrentIndex(0)
    assert setup.coverage.text().startswith("Medically necessary"), setup.coverage.text()


def test_another_code_can_still_be_typed_and_survives_a_protocol_change(qtbot):
    setup = SessionSetup(load_library())
    qtbot.addWidget(setup)
    _choose(setup, "dexamethasone-4mgml-40")
    setup.diagnosis.setEditText("m79.604")
    assert setup.diagnosis_code() == "M79.604"
    _choose(setup, "dexamethasone-4mgml-80")
    assert setup.diagnosis_code() == "M79.604"
    setup.diagnosis.setCurrentIndex(setup.diagnosis.findData("M77.10"))
    _choose(setup, "dexamethasone-4mgml-40")
    assert setup.diagnosis_code() == "M77.10"  # a listed code chosen stays chosen


def test_the_list_has_no_blank_row_and_starts_with_nothing_chosen(qtbot):
    """New-user pass: the open list began with an empty row (the old "nothing chosen" item)."""
    setup = SessionSetup(load_library())
    qtbot.addWidget(setup)
    for protocol_id in ("dexamethasone-4mgml-40", "tap-water-hands-dc", "lidocaine-venipuncture"):
        _choose(setup, protocol_id)
        rows = [setup.diagnosis.itemText(i) for i in range(setup.diagnosis.count())]
        separators = [i for i in range(setup.diagnosis.count()) if setup.diagnosis.itemData(i) is None]
        blank = [i for i, text in enumerate(rows) if not text.strip() and i not in separators]
        assert not blank, f"{protocol_id}: blank rows at {blank} of {rows[:3]}…"
        assert rows[0].split()[0] == _codes(setup)[0]  # the protocol's first indication opens the list
        assert setup.diagnosis.currentIndex() == -1 and setup.diagnosis_code() == ""  # nothing chosen yet
        assert setup.diagnosis.lineEdit().placeholderText()  # "Choose, or type another ICD-10 code" shows
    setup.diagnosis.setCurrentIndex(0)
    code = setup.diagnosis_code()
    setup.reset_site_side_indication()  # another patient: nothing chosen again, still no blank row
    assert setup.diagnosis.currentIndex() == -1 and setup.diagnosis_code() == "" and code


def test_a_long_indication_shows_its_code_first_and_its_whole_text_as_tooltip(qtbot):
    """New-user screenshot at 1920x1080 @ 125 %: the box read ':hanteric bursitis  (not medically
    necessary)', the code scrolled out of view (the editable box's cursor at the end of the text)."""
    setup = SessionSetup(load_library())
    qtbot.addWidget(setup)
    setup.resize(480, 700)
    setup.show()
    _choose(setup, "dexamethasone-4mgml-40")
    longest = max(range(setup.diagnosis.count()), key=lambda i: len(setup.diagnosis.itemText(i) or ""))
    setup.diagnosis.setCurrentIndex(longest)
    edit = setup.diagnosis.lineEdit()
    assert edit.fontMetrics().horizontalAdvance(edit.text()) > edit.width()  # the case: longer than the box
    assert edit.cursorPosition() == 0
    assert setup.diagnosis.toolTip() == setup.diagnosis.itemText(longest)
