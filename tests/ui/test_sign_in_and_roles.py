"""Sign-in dialog, the window each role gets, and how the composition root signs people in."""

from __future__ import annotations

import argparse
import json

import pytest

from ionto_console.accounts import Role, User, create_first_admin, create_user, has_users, list_users
from ionto_console.app import load_protocols, open_records_and_sign_in, sign_in_without_dialog
from ionto_console.records import open_database
from ionto_console.records.demo import is_demo
from ionto_console.settings import Settings
from ionto_console.core.protocols import load_library
from ionto_console.ui.alarm_sound import RecordingPlayer
from ionto_console.ui.main_window import CANNOT_TREAT, MainWindow
from ionto_console.control.sign_in_service import SignInService
from ionto_console.ui.sign_in import WRONG, SignInDialog

pytestmark = pytest.mark.usefixtures("fast_passwords")


def dialog(qtbot, db, problem: str = "") -> SignInDialog:
    """The dialog once the records have said whether accounts exist (asked off the GUI thread)."""
    service = SignInService(db, problem)
    box = SignInDialog(service)
    qtbot.addWidget(box)
    qtbot.waitUntil(lambda: not box.busy, timeout=10_000)
    return box


def submit(qtbot, box: SignInDialog) -> None:
    """Press OK and wait for the answer (the password check runs on the service's worker)."""
    box.submit()
    qtbot.waitUntil(lambda: not box.busy, timeout=10_000)


def test_first_start_creates_the_administrator_and_signs_in(qtbot, db):
    box = dialog(qtbot, db)
    assert box.first_run and box.ok_button.text() == "Create administrator"
    box.username.setText("dana")
    box.display_name.setText("Dana Weber")
    box.password.setText("correct horse battery")
    box.repeat.setText("correct horse battery!")
    submit(qtbot, box)
    assert box.user is None and "differ" in box.error.text()
    assert box.password.text() == ""  # a refused password is never left in the field
    box.password.setText("correct horse battery")
    box.repeat.setText("correct horse battery")
    submit(qtbot, box)
    assert box.user is not None and box.user.role is Role.ADMIN and box.user.display_name == "Dana Weber"
    assert not dialog(qtbot, db).first_run  # the next start asks to sign in


def test_wrong_name_and_wrong_password_get_the_same_line(qtbot, db):
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "therapy in 2026", who="test")
    box = dialog(qtbot, db)
    assert not box.first_run
    box.username.setText("sam")
    box.password.setText("wrong password")
    submit(qtbot, box)
    wrong_password = box.error.text()
    box.username.setText("nobody")
    box.password.setText("therapy in 2026")
    submit(qtbot, box)
    assert box.error.text() == wrong_password == WRONG and box.user is None


def test_without_records_nobody_signs_in_and_the_dialog_says_why(qtbot):
    box = dialog(qtbot, None, problem="database file is damaged")
    assert not box.ok_button.isEnabled()
    assert "damaged" in box.error.text()
    submit(qtbot, box)  # the button is disabled; a stray call is harmless too
    assert box.user is None


def make_window(qtbot, sources, desk, user: User) -> MainWindow:
    win = MainWindow(sources.station, sources, desk, load_library(), user=user, alarm_player=RecordingPlayer())
    qtbot.addWidget(win)
    return win


def tab_titles(win: MainWindow) -> list[str]:
    return [win.tabs.tabText(i) for i in range(win.tabs.count())]


def test_a_therapist_treats_and_never_sees_calibration(qtbot, sources, desk):
    win = make_window(qtbot, sources, desk, User(1, "sam", "Sam Lee", Role.THERAPIST))
    assert tab_titles(win) == ["Treatment", "Board monitor"]
    assert win.treatment is not None and win.calibration is None
    assert "Sam Lee (therapist)" in win.windowTitle()


def test_an_engineer_calibrates_and_cannot_treat(qtbot, sources, desk):
    win = make_window(qtbot, sources, desk, User(2, "eve", "Eve Ng", Role.ENGINEER))
    assert tab_titles(win) == ["Treatment", "Board monitor", "Calibration"]
    assert win.treatment is None  # no start button, no stop panel: nothing to treat with
    assert win.tabs.widget(0).findChild(type(win.fault_label), "cannot_treat").text() == CANNOT_TREAT
    assert win.calibration.wizard.connect_page.engineer.text() == "Eve Ng"


def test_an_administrator_gets_both(qtbot, sources, desk):
    win = make_window(qtbot, sources, desk, User(3, "ada", "Ada Admin", Role.ADMIN))
    assert tab_titles(win) == ["Treatment", "Board monitor", "Calibration"]
    assert win.treatment is not None and win.calibration is not None


def test_sign_out_is_refused_while_a_treatment_runs(qtbot, sources, desk, monkeypatch):
    win = make_window(qtbot, sources, desk, User(1, "sam", "Sam Lee", Role.THERAPIST))
    asked: list[bool] = []
    win.sign_out_requested.connect(lambda: asked.append(True))
    monkeypatch.setattr(type(desk), "active", property(lambda self: True))
    assert not win.request_sign_out() and not asked
    assert "Stop the treatment" in win.statusBar().currentMessage()
    monkeypatch.setattr(type(desk), "active", property(lambda self: False))
    assert win.request_sign_out() and asked == [True]


def args(**values) -> argparse.Namespace:
    return argparse.Namespace(**{"user": None, "password_file": None, **values})


def test_password_file_sign_in_for_kiosks(db, tmp_path):
    from ionto_console.accounts import change_own_password, sign_in

    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "given by admin 1", who="test")
    secret = tmp_path / "pw"
    secret.write_text("given by admin 1\n", encoding="utf-8")
    secret.chmod(0o600)
    user, why = sign_in_without_dialog(args(user="sam", password_file=secret), db)
    assert user is None and "must choose a new password" in why
    change_own_password(db, sign_in(db, "sam", "given by admin 1", station="t"), "given by admin 1",
                        "therapy in 2026", station="t")
    secret.write_text("therapy in 2026\n", encoding="utf-8")
    user, why = sign_in_without_dialog(args(user="sam", password_file=secret), db)
    assert user is not None and user.username == "sam" and why == ""
    secret.chmod(0o644)  # issue 13 "Tried": a 0644 password file was accepted without a word
    user, why = sign_in_without_dialog(args(user="sam", password_file=secret), db)
    assert user is None and "can be read or changed by other users (mode 0644)" in why
    secret.chmod(0o600)
    secret.write_text("nope\n", encoding="utf-8")
    assert sign_in_without_dialog(args(user="sam", password_file=secret), db) == (None,
                                                                                 "Wrong user name or password.")
    assert sign_in_without_dialog(args(user="sam"), db) == (None, "--user needs --password-file")
    user, why = sign_in_without_dialog(args(user="sam", password_file=tmp_path / "missing"), db)
    assert user is None and why.startswith("Cannot read the password file")


def test_no_option_and_no_demo_means_the_dialog(db, monkeypatch):
    monkeypatch.setenv("IONTO_AUTOLOGIN", "therapist")
    assert sign_in_without_dialog(args(), db) == (None, "")
    assert sign_in_without_dialog(args(), db, demo=False) == (None, "")


def test_an_administrator_set_password_is_changed_in_the_dialog_before_the_window(qtbot, db):
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "given by admin 1", who="ada")
    box = dialog(qtbot, db)
    box.username.setText("sam")
    box.password.setText("given by admin 1")
    submit(qtbot, box)
    assert box.user is None and "Choose your own" in box.heading.text()
    box.password.setText("my own choice now")
    box.repeat.setText("my own choice now")
    submit(qtbot, box)
    assert box.user is not None and not box.user.must_change_password


def test_the_dialog_says_when_an_account_is_slowed_down(qtbot, db):
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "therapy in 2026", who="test")
    box = dialog(qtbot, db)
    box.username.setText("sam")
    box.password.setText("wrong password")
    submit(qtbot, box)
    box.password.setText("therapy in 2026")
    submit(qtbot, box)
    assert box.user is None and box.error.text().startswith("Wait")


def test_custom_protocols_join_the_library_and_bad_files_are_named(tmp_path):
    library = load_library()
    own = json.loads(json.dumps(library[0].model_dump(mode="json")))
    own["id"] = "clinic-dex-30"
    own["name"] = "Clinic dexamethasone 30 mA·min"
    own["dose_target_ma_min"] = 30.0
    (tmp_path / "clinic.json").write_text(json.dumps(own), encoding="utf-8")
    broken = dict(own, id="clinic-broken", max_current_ma=-1)
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    protocols, problems = load_protocols(tmp_path)
    assert [p.id for p in protocols[:len(library)]] == [p.id for p in library]
    assert [p.id for p in protocols[len(library):]] == ["clinic-dex-30"]
    assert len(problems) == 1 and "broken.json" in problems[0] and "max_current_ma" in problems[0]
    assert load_protocols(tmp_path / "absent") == (library, [])


def test_start_up_worker_opens_records_and_signs_the_demo_therapist_in(tmp_path, monkeypatch):
    monkeypatch.delenv("IONTO_AUTOLOGIN", raising=False)  # demo mode signs the therapist in by default
    found = open_records_and_sign_in(args(), Settings(demo=True,
                                                      database_url=f"sqlite:///{tmp_path / 'records.sqlite3'}"))
    try:
        assert found.db is not None and found.db_problem == "" and found.recovered == []
        assert found.user is not None and found.user.username == "therapist" and found.refused == ""
        assert is_demo(found.db)  # the demo's database is marked inside itself at its first open
    finally:
        found.db.close()


def test_a_clinical_start_creates_no_demo_accounts_and_signs_nobody_in(tmp_path, monkeypatch):
    monkeypatch.setenv("IONTO_AUTOLOGIN", "therapist")
    found = open_records_and_sign_in(args(), Settings(database_url=f"sqlite:///{tmp_path / 'records.sqlite3'}"))
    try:
        assert found.db is not None and found.db_problem == "" and found.user is None
        assert not has_users(found.db) and not is_demo(found.db)
    finally:
        found.db.close()


def test_demo_mode_refuses_a_clinics_database_and_a_clinic_refuses_the_demos(tmp_path, monkeypatch):
    monkeypatch.delenv("IONTO_AUTOLOGIN", raising=False)
    clinic_url, demo_url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}", f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    with open_database(clinic_url) as clinic:
        create_user(clinic, "sam", "Sam Lee", Role.THERAPIST, "therapy-2026", who="test")
    found = open_records_and_sign_in(args(), Settings(demo=True, database_url=clinic_url))
    assert found.db is None and "not a demo database" in found.db_problem and found.user is None
    with open_database(clinic_url) as clinic:
        assert [u.username for u in list_users(clinic)] == ["sam"] and not is_demo(clinic)  # untouched
    open_records_and_sign_in(args(), Settings(demo=True, database_url=demo_url)).db.close()
    found = open_records_and_sign_in(args(), Settings(database_url=demo_url))
    assert found.db is None and "demo" in found.db_problem and found.user is None


def test_a_demo_start_on_a_clinics_new_empty_database_leaves_it_the_clinics(tmp_path, monkeypatch):
    """The safety review's case: a demo start pointed at a new, empty clinic database marked it the
    demo's for good, and the clinic's console then refused it."""
    monkeypatch.delenv("IONTO_AUTOLOGIN", raising=False)
    clinic_url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    open_database(clinic_url).close()  # the clinic's first start: schema, no records yet
    found = open_records_and_sign_in(args(), Settings(demo=True, database_url=clinic_url))
    assert found.db is None and "demo mode did not create it" in found.db_problem and found.user is None
    with open_database(clinic_url) as clinic:
        assert not is_demo(clinic) and not has_users(clinic)  # untouched: no mark, no demo accounts
    found = open_records_and_sign_in(args(), Settings(database_url=clinic_url))
    try:
        assert found.db is not None and found.db_problem == ""  # the clinic's console still takes it
    finally:
        found.db.close()


def test_start_up_worker_without_records_leaves_the_dialog_to_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("IONTO_AUTOLOGIN", "therapist")
    (tmp_path / "records.sqlite3").write_bytes(b"this is not a database" * 100)
    found = open_records_and_sign_in(args(), Settings(demo=True,
                                                      database_url=f"sqlite:///{tmp_path / 'records.sqlite3'}"))
    assert found.db is None and found.db_problem and found.user is None and found.refused == ""


def test_start_up_worker_refuses_a_kiosk_password_file_it_cannot_read(db, tmp_path):
    found = open_records_and_sign_in(args(user="sam", password_file=tmp_path / "missing"),
                                     Settings(database_url=db.url))
    try:
        assert found.user is None and found.refused.startswith("Cannot read the password file")
    finally:
        if found.db is not None:
            found.db.close()


def test_the_password_check_runs_off_the_gui_thread_while_the_dialog_shows_busy(qtbot, db, monkeypatch):
    """The argon2 verify (and every records query) runs on the service's worker; meanwhile the
    dialog says so and takes no second click."""
    import threading

    import ionto_console.control.sign_in_service as service_module

    create_first_admin(db, "sam", "Sam Lee", "therapy-2026")  # no password change due at sign-in
    box = dialog(qtbot, db)
    checked_on: list[threading.Thread] = []
    gate = threading.Event()
    real = service_module.authenticate

    def slow_authenticate(*args, **kwargs):
        checked_on.append(threading.current_thread())
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(service_module, "authenticate", slow_authenticate)
    box.username.setText("sam")
    box.password.setText("therapy-2026")
    box.submit()
    qtbot.waitUntil(lambda: box.busy_label.isVisibleTo(box), timeout=10_000)
    assert not box.ok_button.isEnabled()
    box.submit()  # a second click while checking asks nothing more
    gate.set()
    qtbot.waitUntil(lambda: box.user is not None, timeout=10_000)
    assert len(checked_on) == 1 and checked_on[0] is not threading.main_thread()
    assert not box.busy_label.isVisibleTo(box)


def test_an_engineer_lands_on_calibration_with_the_connected_board_first(qtbot, sources, desk):
    """Issue 14 item 20: the engineer landed on "Your role cannot run treatments", and the board port
    defaulted to /dev/ttyS0 while the simulator was connected."""
    from ionto_console.app import SIMULATOR_KEY

    win = make_window(qtbot, sources, desk, User(2, "eve", "Eve Ng", Role.ENGINEER))
    win.show()
    assert win.tabs.currentIndex() == 2 and win.tabs.tabText(2) == "Calibration"
    sources.connect(SIMULATOR_KEY)
    qtbot.waitUntil(lambda: win.connection.state_label.text() == "Board connected", timeout=10_000)
    port = win.station.snapshot().port
    win.tabs.setCurrentIndex(1)
    win.tabs.setCurrentIndex(2)
    page = win.calibration.wizard.connect_page
    qtbot.waitUntil(lambda: "VISA resources" in page.found.text(), timeout=10_000)
    assert page.board.currentText() == port
    assert "Serial ports" in page.found.text()
