"""Finding and identifying the patient on the Treatment tab (issue 14, item 5).

Look-up by name, ID or birth date with a result list; IDs normalised (case,
spaces); a different name or birth date for a known ID is a warning to resolve
before Start; typing another ID clears the previous patient's details; no row
limit hides a returning patient; implausible birth dates say why in words.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt

from ionto_console.records import PatientData, create_patient
from test_treatment_screen import WAIT_MS, recorded_screen  # noqa: F401 (fixture)


def add_patients(db, *patients):
    for identifier, name, born in patients:
        create_patient(db, PatientData(identifier, name, born), who="test")


def look_up(qtbot, win):
    win.setup.look_up_patient()
    qtbot.waitUntil(win.setup.history_current, timeout=WAIT_MS)


def test_an_id_with_other_case_and_spaces_is_the_same_patient(qtbot, recorded_screen):
    win, db = recorded_screen
    add_patients(db, ("P-1001", "Ada Example", dt.date(1961, 4, 12)))
    win.setup.patient_id.setText("  p-1001  ")
    look_up(qtbot, win)
    assert win.setup.patient_name.text() == "Ada Example"
    assert win.setup.date_of_birth.text() == "1961-04-12"
    assert "New patient" not in win.setup.history_label.text()
    assert win.setup.plan() is None or win.setup.plan().patient_id == "P-1001"


def test_a_returning_patient_among_sixty_similar_ids_is_found(qtbot, recorded_screen):
    win, db = recorded_screen
    add_patients(db, *[(f"P-1001-{n:02d}", f"Aaron Similar {n:02d}", None) for n in range(60)])
    add_patients(db, ("P-1001", "Zoe Returning", dt.date(1970, 1, 1)))
    win.setup.patient_id.setText("P-1001")
    look_up(qtbot, win)
    assert win.setup.patient_name.text() == "Zoe Returning"
    # the Find list: more matches than it shows must say so (a new-user pass searched "P-1001-" among 60:
    # the list stopped at the 50th without a word, and the returning patient's row was not in it)
    win.setup.search.setText("similar")
    win.setup.find_patients()
    qtbot.waitUntil(lambda: win.setup.search_button.isEnabled(), timeout=WAIT_MS)
    rows = [win.setup.results.item(i).text() for i in range(win.setup.results.count())]
    assert len(rows) == 51 and "More than 50 patients match" in rows[-1], rows[-3:]
    assert not win.setup.results.item(50).flags() & Qt.ItemFlag.ItemIsSelectable


def test_another_name_for_a_known_id_must_be_resolved_before_start(qtbot, recorded_screen):
    win, db = recorded_screen
    add_patients(db, ("P-1001", "Ada Example", dt.date(1961, 4, 12)))
    win.setup.patient_id.setText("P-1001")
    win.setup.patient_name.setText("Bob Other")
    win.setup.side.setCurrentText("left")
    look_up(qtbot, win)
    assert win.setup.mismatch_label.isVisible() if win.isVisible() else win.setup.mismatch_label.text()
    assert "Ada Example" in win.setup.mismatch_label.text()
    assert win.setup.plan() is None
    win.treatment.refresh()
    assert not win.treatment.start_button.isEnabled()
    assert "recorded with" in win.treatment.message.text()
    qtbot.mouseClick(win.setup.use_recorded, Qt.MouseButton.LeftButton)
    assert win.setup.patient_name.text() == "Ada Example" and win.setup.mismatch_label.text() == ""
    assert win.setup.plan() is not None


def test_another_birth_date_for_a_known_id_is_a_warning(qtbot, recorded_screen):
    win, db = recorded_screen
    add_patients(db, ("P-1001", "Ada Example", dt.date(1961, 4, 12)))
    win.setup.patient_id.setText("P-1001")
    win.setup.patient_name.setText("ada  example")  # the same name, typed differently
    win.setup.date_of_birth.setText("1962-04-12")
    look_up(qtbot, win)
    assert "birth date 1961-04-12" in win.setup.mismatch_label.text()
    assert "name" not in win.setup.mismatch_label.text().split("recorded with")[1]


def test_typing_another_id_clears_the_previous_patient(qtbot, recorded_screen):
    win, _db = recorded_screen
    win.setup.patient_id.setText("P-1001")
    win.setup.patient_name.setText("Ada Example")
    win.setup.date_of_birth.setText("1961-04-12")
    win.setup.patient_notes.setText("left heel")
    win.activateWindow()
    win.setup.patient_id.setFocus()
    qtbot.keyClick(win.setup.patient_id, Qt.Key.Key_Backspace)
    assert (win.setup.patient_name.text(), win.setup.date_of_birth.text(), win.setup.patient_notes.text()) == ("", "", "")


def test_search_by_name_or_birth_date_offers_a_list_to_choose_from(qtbot, recorded_screen):
    win, db = recorded_screen
    add_patients(db, ("P-1001", "Ada Example", dt.date(1961, 4, 12)),
                 ("P-2002", "Adam Sample", dt.date(1975, 8, 30)),
                 ("P-3003", "Eve Other", dt.date(1961, 4, 12)))
    for text, expected in (("ada", ["Ada Example", "Adam Sample"]), ("1961-04-12", ["Ada Example", "Eve Other"]),
                           ("p-2002", ["Adam Sample"])):
        win.setup.search.setText(text)
        win.setup.find_patients()
        qtbot.waitUntil(lambda: win.setup.search_button.isEnabled(), timeout=WAIT_MS)
        names = [win.setup.results.item(i).text().split(" (")[0] for i in range(win.setup.results.count())]
        assert names == expected, text
    win.setup.search.setText("eve")
    win.setup.find_patients()
    qtbot.waitUntil(lambda: win.setup.search_button.isEnabled(), timeout=WAIT_MS)
    win.setup.choose_result(win.setup.results.item(0))
    assert (win.setup.patient_id.text(), win.setup.patient_name.text(), win.setup.date_of_birth.text()) == (
        "P-3003", "Eve Other", "1961-04-12")
    qtbot.waitUntil(win.setup.history_current, timeout=WAIT_MS)


def test_implausible_birth_dates_and_an_empty_id_say_what_is_wrong(qtbot, recorded_screen):
    win, _db = recorded_screen
    win.treatment.refresh()
    assert "Enter the patient's ID" in win.treatment.message.text()
    win.setup.patient_id.setText("P-1001")
    win.setup.patient_name.setText("Ada Example")
    for typed, words in (("1800-01-01", "more than 130 years"), ("31/12/1970", "year-month-day")):
        win.setup.date_of_birth.setText(typed)
        win.treatment.refresh()
        assert words in win.treatment.message.text(), typed
        assert win.setup.plan() is None


def test_site_side_and_indication_are_chosen_before_start_and_recorded(qtbot, recorded_screen):
    """Issue 14 items 3 and 4: the site was recorded nowhere, and no screen took a diagnosis."""
    from ionto_console.records import load_session
    from ionto_console.records.fhir_export import bundle_dict
    from test_treatment_screen import pass_checklist, start, wait_state

    win, db = recorded_screen
    setup = win.setup
    assert setup.site.itemText(0) == "Achilles tendon"  # a dexamethasone protocol: tendons first
    win.setup.patient_id.setText("P-0042")
    win.setup.patient_name.setText("Ada Example")
    win.treatment.refresh()
    assert "side" in win.treatment.message.text() and setup.plan() is None
    setup.side.setCurrentText("left")
    setup.diagnosis.setEditText("M76.60")
    assert "not medically necessary" in setup.coverage.text().lower()
    setup.diagnosis.setEditText("L74.512  Primary focal hyperhidrosis, palms")
    assert not setup.coverage.text().startswith("Flagged")
    assert "mA·min" in setup.protocol_facts.text() and setup.protocol.currentText() in setup.protocol_facts.text()
    pass_checklist(win, qtbot)
    start(qtbot, win)
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    win.treatment.stop("emergency")
    qtbot.waitUntil(lambda: win.desk.can_sign(), timeout=WAIT_MS)
    summary = load_session(db, win.desk.recorder.session_id)
    assert (summary.site, summary.side, summary.diagnosis_code) == ("Achilles tendon", "left", "L74.512")
    procedure = next(e["resource"] for e in bundle_dict(summary)["entry"]
                     if e["resource"]["resourceType"] == "Procedure")
    assert procedure["bodySite"] == [{"text": "Achilles tendon (left)"}]
    assert procedure["reason"][0]["concept"]["coding"][0]["code"] == "L74.512"


def test_the_site_list_follows_the_protocol(qtbot, sources):
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.core.protocols import load_library
    from ionto_console.ui.session_setup import SessionSetup

    setup = SessionSetup(load_library())
    qtbot.addWidget(setup)
    for index in range(setup.protocol.count()):
        setup.protocol.setCurrentIndex(index)
        protocol = setup.selected_protocol()
        sites = [setup.site.itemText(i) for i in range(setup.site.count())]
        if "hands" in protocol.id:
            assert sites[0].startswith("Hands"), sites
        elif "feet" in protocol.id:
            assert sites[0].startswith("Feet"), sites
        assert sites[-1] == "Other"


def test_after_a_run_the_patient_is_no_longer_shown_as_new(qtbot, recorded_screen):
    """Issue 14 (new-user pass item 2): P-1001, with sessions in the records, was shown as "New patient:
    no earlier sessions." The answer on screen was the look-up from before the patient's first run:
    nothing looked the patient up again once the run was recorded."""
    from test_treatment_screen import pass_checklist, start, wait_state

    win, db = recorded_screen
    setup = win.setup
    setup.patient_id.setText("P-1001")
    setup.patient_name.setText("Ada Example")
    setup.side.setCurrentText("left")
    pass_checklist(win, qtbot)
    assert setup.history_label.text() == "New patient: no earlier sessions."  # true before the first run
    start(qtbot, win)
    wait_state(qtbot, win.desk.controller, lambda snap: snap.current_ma > 0.9)
    win.treatment.stop("dizziness")
    qtbot.waitUntil(lambda: win.desk.can_sign(), timeout=WAIT_MS)
    # the run's record is closed: the history on screen is looked up again and shows it
    qtbot.waitUntil(lambda: setup.history_current() and "stopped" in setup.history_label.text(), timeout=WAIT_MS)
    assert "New patient" not in setup.history_label.text()
    assert "dizziness" in setup.history_label.text()


def test_without_the_records_a_patient_is_not_called_new(qtbot, sources):
    """Issue 14 (new-user pass item 2): an answer given without the records (the database could not be
    opened) said "New patient: no earlier sessions." for a patient who may well have sessions."""
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.core.protocols import load_library
    from ionto_console.ui.alarm_sound import RecordingPlayer
    from ionto_console.ui.main_window import MainWindow

    desk = TreatmentDesk(sources.station, db=None, db_problem="the records server does not answer", demo=True)
    win = MainWindow(sources.station, sources, desk, load_library(), alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    try:
        win.setup.patient_id.setText("P-1001")
        win.setup.look_up_patient()
        qtbot.waitUntil(win.setup.history_current, timeout=WAIT_MS)
        text = win.setup.history_label.text()
        assert "New patient" not in text and "the records server does not answer" in text
    finally:
        desk.shutdown()


def test_a_late_answer_for_another_id_never_replaces_the_patient_on_screen(qtbot):
    """A look-up answer that arrives after the therapist moved on to another patient (typed, or chosen
    from the search results) is dropped, whatever order the answers come back in."""
    from ionto_console.control.patient_history import PatientHistory, PatientMatch, UNKNOWN
    from ionto_console.core.protocols import load_library
    from ionto_console.ui.session_setup import SessionSetup

    asked = {}
    setup = SessionSetup(load_library(), history=lambda who, _p, reply: asked.__setitem__(who, reply))
    qtbot.addWidget(setup)
    setup.patient_id.setText("P-2002")
    setup.look_up_patient()  # pending: a new patient, as it will turn out
    setup.search.setText("Ada")
    setup._found([PatientMatch("P-1001", "Ada Example", dt.date(1961, 4, 12))], "")
    setup.choose_result(setup.results.item(0))
    known = PatientHistory(True, "Ada Example", ("2026-11-30  Dexamethasone  12/40 mA·min  stopped",), None, (),
                           dt.date(1961, 4, 12), "P-1001")
    asked["P-1001"](known)
    asked["P-2002"](UNKNOWN)  # the older answer, last
    assert setup.history_current()
    assert "Dexamethasone" in setup.history_label.text() and "New patient" not in setup.history_label.text()


def test_a_search_that_found_nobody_goes_once_a_new_patient_is_typed(qtbot, recorded_screen):
    """New-user pass: "No patient found: … enter a new patient below" stayed on screen under the new
    patient entered below it."""
    win, _db = recorded_screen
    win.setup.search.setText("nobody like this")
    win.setup.find_patients()
    qtbot.waitUntil(lambda: win.setup.search_button.isEnabled(), timeout=WAIT_MS)
    assert not win.setup.results.isHidden() and "No patient found" in win.setup.results.item(0).text()
    qtbot.keyClicks(win.setup.patient_id, "P-7777")
    assert win.setup.results.isHidden() and win.setup.results.count() == 0
