"""Issue 13, sign-in and accounts: every line under "Tried" refused with a plain message and an audit entry.

Time is an argument (``now``): the slow-down and lockout are tested on a made-up clock, never by sleeping.
"""

from __future__ import annotations

import datetime as dt

import pytest

from ionto_console.accounts import (AccountError, Role, SignInRefused, authenticate, autologin, change_clinic_setting,
                                    change_own_password, check_new_password, common_passwords, confirm_signer,
                                    create_first_admin, create_user, ensure_demo_users, list_users, set_active,
                                    set_role, sign_in, unlock)
from ionto_console.records import audit_history, verify_audit
from ionto_console.records.clinic_settings import load_clinic_settings

pytestmark = pytest.mark.usefixtures("fast_passwords")

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
GOOD = "tendon heals slowly"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def admin(db):
    return create_first_admin(db, "ada", "Ada Admin", "clinic admin phrase")


@pytest.fixture
def dana(db, admin):
    return create_user(db, "dana", "Dana Weber", Role.THERAPIST, GOOD, who=admin.username)


@pytest.mark.parametrize("password", ["password", "12345678", "aaaaaaaa", "aaaaaaaaaaaa", "qwerty123456",
                                      "1q2w3e4r5t6y", "password1234!", "sunshinesunshine", "abcdefghijklmn",
                                      "121212121212", "my dana password"])
def test_tried_weak_passwords_are_refused_in_plain_words(db, admin, password):
    with pytest.raises(AccountError) as refused:
        create_user(db, "dana", "Dana Weber", Role.THERAPIST, password, who=admin.username)
    assert "password" in str(refused.value).lower() and "Traceback" not in str(refused.value)
    assert [u.username for u in list_users(db)] == ["ada"]
    (entry,) = [e for e in audit_history(db, entity="user", entity_id="dana") if e["action"] == "refused"]
    assert entry["who"] == "ada" and entry["why"] == str(refused.value) and (password == "password" or password not in repr(entry))


def test_good_passwords_need_no_composition_rules():
    for password in ("tendon heals slowly", "correct horse battery staple", "iontophoresis at eight"):
        check_new_password(password, "dana")
    assert len(common_passwords()) > 5000 and "password" in common_passwords()


def test_tried_forty_fast_guesses_slow_down_lock_and_are_audited(db, dana, admin):
    """The issue's run: 40 wrong guesses at 8.6 per second, then the right password."""
    checked, refused = 0, 0
    for i in range(40):
        try:
            sign_in(db, "dana", f"guess number {i}", station="station-2", now=at(i / 8.6))
        except SignInRefused:
            refused += 1
        except AccountError:
            checked += 1
    # a failure makes the account wait 1, 2, 4 s before the next check; the fifth locks it
    assert checked < 5 and refused == 40 - checked
    with pytest.raises(SignInRefused, match="locked|Wait"):
        sign_in(db, "dana", GOOD, station="station-2", now=at(5))
    failures = [e for e in audit_history(db, entity="user", entity_id="dana")
                if e["action"] in ("sign-in failed", "sign-in refused")]
    assert len(failures) == 41 and all(e["after"]["station"] == "station-2" for e in failures)
    assert failures[0]["at"].startswith("2026-11-30T08:00:00")
    assert verify_audit(db).ok


def test_five_failures_in_fifteen_minutes_lock_for_fifteen_minutes_then_admin_unlocks(db, dana, admin):
    for i in range(5):
        with pytest.raises(AccountError) as refused:
            sign_in(db, "dana", "wrong wrong wrong", station="s1", now=at(i * 60))
    assert "locked for 15 minutes" in str(refused.value)
    with pytest.raises(SignInRefused, match="locked"):
        sign_in(db, "dana", GOOD, station="s1", now=at(4 * 60 + 14 * 60))
    assert sign_in(db, "dana", GOOD, station="s1", now=at(4 * 60 + 15 * 60 + 1)).username == "dana"
    for i in range(5):
        with pytest.raises(AccountError):
            sign_in(db, "dana", "wrong wrong wrong", station="s1", now=at(3000 + i * 60))
    with pytest.raises(AccountError, match="not an administrator"):
        unlock(db, "dana", by=dana)
    unlock(db, "dana", by=admin, why="she forgot; new password given by phone")
    assert sign_in(db, "dana", GOOD, station="s1", now=at(3000 + 5 * 60)).username == "dana"
    assert "unlock" in [e["action"] for e in audit_history(db, entity="user", entity_id="dana")]


def test_failures_spread_wider_than_the_window_never_lock(db, dana):
    for i in range(12):  # one failure every 16 minutes: never 5 within one 15-minute window
        with pytest.raises(AccountError) as refused:
            sign_in(db, "dana", "wrong wrong wrong", station="s1", now=at(i * 16 * 60))
        assert not isinstance(refused.value, SignInRefused)
    assert sign_in(db, "dana", GOOD, station="s1", now=at(12 * 16 * 60)).username == "dana"


def test_admin_created_account_changes_its_password_at_first_sign_in(db, admin, dana):
    assert not admin.must_change_password
    user = sign_in(db, "dana", GOOD, station="s1")
    assert user.must_change_password
    with pytest.raises(AccountError, match="different"):
        change_own_password(db, user, GOOD, GOOD, station="s1", now=at(10))
    changed = change_own_password(db, user, GOOD, "my own tendon phrase", station="s1", now=at(20))
    assert not changed.must_change_password
    assert not sign_in(db, "dana", "my own tendon phrase", station="s1", now=at(30)).must_change_password


def test_tried_the_only_administrator_cannot_disable_or_demote_itself(db, admin, dana):
    with pytest.raises(AccountError, match="last enabled administrator"):
        set_active(db, "ada", False, who="ada", why="oops")
    with pytest.raises(AccountError, match="last enabled administrator"):
        set_role(db, "ada", Role.THERAPIST, by=admin)
    refused = [e for e in audit_history(db, entity="user", entity_id="ada") if e["action"] == "refused"]
    assert [e["after"]["requested"] for e in refused] == ["set active", "set role"]
    assert all("last enabled administrator" in e["why"] for e in refused)
    assert list_users(db)[0].active and list_users(db)[0].role is Role.ADMIN
    with pytest.raises(AccountError, match="not an administrator"):
        set_role(db, "dana", Role.ADMIN, by=dana)
    set_role(db, "dana", Role.ADMIN, by=admin, why="second administrator")
    set_active(db, "ada", False, who="dana", why="handing over")
    roles = [e for e in audit_history(db, entity="user", entity_id="dana") if e["action"] == "set role"]
    assert roles[0]["before"] == {"role": "therapist"} and roles[0]["after"] == {"role": "admin"}
    assert roles[0]["who"] == "ada"


def test_clinic_settings_are_changed_by_an_administrator_audited_and_bounded(db, admin, dana):
    change_clinic_setting(db, "idle_lock_minutes", "3", by=admin, why="busy waiting room")
    assert load_clinic_settings(db).idle_lock_minutes == 3
    with pytest.raises(AccountError, match="not an administrator"):
        change_clinic_setting(db, "idle_lock_minutes", "30", by=dana)
    with pytest.raises(AccountError, match="calibration_interval_days"):
        change_clinic_setting(db, "calibration_interval_days", "3650", by=admin)
    with pytest.raises(AccountError, match="Unknown clinic setting"):
        change_clinic_setting(db, "lockout", "0", by=admin)
    (entry,) = [e for e in audit_history(db, entity="clinic_setting") if e["action"] == "change setting"]
    assert {e["entity_id"] for e in audit_history(db, entity="clinic_setting") if e["action"] == "refused"} == {
        "idle_lock_minutes", "calibration_interval_days", "lockout"}
    assert entry["who"] == "ada" and entry["before"] == {"idle_lock_minutes": 5.0}
    assert entry["after"] == {"idle_lock_minutes": 3.0}


def test_tried_demo_accounts_and_autologin_are_refused_on_a_clinic_database(db, admin):
    with pytest.raises(AccountError, match="only in the demo database"):
        ensure_demo_users(db)
    assert autologin(db, demo=True, environ={"IONTO_AUTOLOGIN": "engineer"}) is None
    assert [u.username for u in list_users(db)] == ["ada"]
    assert authenticate(db, "therapist", "therapist") is None
    refusals = [e for e in audit_history(db, entity="database") if e["action"] == "demo refused"]
    assert len(refusals) == 1


def test_a_signer_is_the_signed_in_account_proven_by_its_password(db, dana):
    signed_in = sign_in(db, "dana", GOOD, station="s1", now=at(0))
    with pytest.raises(AccountError, match="Only the signed-in account"):
        confirm_signer(db, signed_in, GOOD, username="Dr. Chief Physician", station="s1", now=at(1))
    with pytest.raises(AccountError, match="Wrong"):
        confirm_signer(db, signed_in, "not it at all", username="dana", station="s1", now=at(2))
    assert confirm_signer(db, signed_in, GOOD, username="DANA", station="s1", now=at(10)) == signed_in
    assert confirm_signer(db, signed_in, GOOD, username=None, station="s1", now=at(20)) == signed_in
    actions = [e["action"] for e in audit_history(db, entity="user", entity_id="dana")]
    assert "signature refused" in actions and "sign-in failed" in actions
