"""ionto-users: an administrator adds, lists, re-passwords, disables, unlocks and sets roles and clinic
settings; others are refused; a password file others can read is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from ionto_console.accounts import AccountError, Role, authenticate, create_first_admin, sign_in
from ionto_console.records import audit_history
from ionto_console.records.clinic_settings import load_clinic_settings
from ionto_console.users_cli import main

pytestmark = pytest.mark.usefixtures("fast_passwords")
ADMIN = "admin pass phrase 1"


@pytest.fixture
def url(db, tmp_path):
    create_first_admin(db, "ada", "Ada Admin", ADMIN)
    return f"sqlite:///{tmp_path / 'records.sqlite3'}"


def answers(*texts):
    queue = list(texts)
    return lambda prompt: queue.pop(0)


def test_an_administrator_adds_lists_and_disables(db, url, capsys):
    assert main(["--database", url, "--user", "ada", "add", "sam", "Sam Lee", "therapist"],
                ask=answers(ADMIN, "therapy in 2026", "therapy in 2026")) == 0
    sam = authenticate(db, "sam", "therapy in 2026")
    assert sam.role is Role.THERAPIST and sam.must_change_password
    assert main(["--database", url, "--user", "ada", "list"], ask=answers(ADMIN)) == 0
    listed = capsys.readouterr().out
    assert "sam" in listed and "therapist" in listed and "Sam Lee" in listed
    assert main(["--database", url, "--user", "ada", "passwd", "sam"],
                ask=answers(ADMIN, "new pass in 2026", "new pass in 2026")) == 0
    assert authenticate(db, "sam", "new pass in 2026") is not None
    assert main(["--database", url, "--user", "ada", "disable", "sam", "--why", "left"], ask=answers(ADMIN)) == 0
    assert authenticate(db, "sam", "new pass in 2026") is None
    assert [entry["who"] for entry in audit_history(db, "user", "sam")
            if entry["action"] not in ("sign in", "sign-in failed")][-3:] == ["ada", "ada", "ada"]


def test_refusals_say_why_and_change_nothing(db, url, capsys):
    main(["--database", url, "--user", "ada", "add", "sam", "Sam Lee", "therapist"],
         ask=answers(ADMIN, "therapy in 2026", "therapy in 2026"))
    assert main(["--database", url, "--user", "sam", "add", "eve", "Eve Ng", "engineer"],
                ask=answers("therapy in 2026", "engineer in 2026", "engineer in 2026")) == 1
    assert "not an administrator" in capsys.readouterr().err
    assert main(["--database", url, "--user", "ada", "add", "eve", "Eve Ng", "engineer"],
                ask=answers(ADMIN, "engineer in 2026", "typo")) == 1
    assert "differ" in capsys.readouterr().err
    assert authenticate(db, "eve", "engineer in 2026") is None
    assert main(["--database", "sqlite:////nonexistent-dir/x/records.sqlite3", "--user", "ada", "list"],
                ask=answers(ADMIN)) == 2
    assert main(["--database", url, "--user", "ada", "list"], ask=answers("wrong")) == 1
    assert "Wrong user name or password" in capsys.readouterr().err
    assert main(["--database", url, "--user", "ada", "list"], ask=answers(ADMIN)) == 1  # at once: slowed down
    assert "Wait 1 s before trying again" in capsys.readouterr().err


def test_tried_a_password_file_readable_by_others_is_refused(db, url, tmp_path, capsys):
    secret = tmp_path / "ada.pw"
    secret.write_text(ADMIN + "\n")
    secret.chmod(0o644)
    assert main(["--database", url, "--user", "ada", "--password-file", str(secret), "list"]) == 1
    err = capsys.readouterr().err
    assert "can be read or changed by other users (mode 0644)" in err and "chmod 600" in err
    (refusal,) = [e for e in audit_history(db) if e["action"] == "refused"]
    assert refusal["who"] == "ada" and "mode 0644" in refusal["why"] and ADMIN not in repr(refusal)
    secret.chmod(0o600)
    assert main(["--database", url, "--user", "ada", "--password-file", str(secret), "list"]) == 0


def test_tried_the_only_administrator_cannot_disable_itself(db, url, capsys):
    assert main(["--database", url, "--user", "ada", "disable", "ada"], ask=answers(ADMIN)) == 1
    assert "last enabled administrator" in capsys.readouterr().err
    assert main(["--database", url, "--user", "ada", "role", "ada", "therapist"], ask=answers(ADMIN)) == 1
    assert "cannot be demoted" in capsys.readouterr().err
    assert authenticate(db, "ada", ADMIN).role is Role.ADMIN


def test_unlock_role_and_settings(db, url, capsys):
    main(["--database", url, "--user", "ada", "add", "sam", "Sam Lee", "therapist"],
         ask=answers(ADMIN, "therapy in 2026", "therapy in 2026"))
    start = dt.datetime.now(dt.timezone.utc)
    for i in range(5):
        with pytest.raises(AccountError):
            sign_in(db, "sam", "not sams password", station="s2", now=start + dt.timedelta(seconds=10 * i))
    assert main(["--database", url, "--user", "ada", "unlock", "sam", "--why", "checked"], ask=answers(ADMIN)) == 0
    assert authenticate(db, "sam", "therapy in 2026") is not None
    assert main(["--database", url, "--user", "ada", "role", "sam", "engineer"], ask=answers(ADMIN)) == 0
    assert authenticate(db, "sam", "therapy in 2026").role is Role.ENGINEER
    assert main(["--database", url, "--user", "ada", "settings", "lockout_failures", "3", "--why", "policy"],
                ask=answers(ADMIN)) == 0
    assert load_clinic_settings(db).lockout_failures == 3
    assert main(["--database", url, "--user", "ada", "settings", "calibration_interval_days", "3650"],
                ask=answers(ADMIN)) == 1
    assert "calibration_interval_days" in capsys.readouterr().err
    assert load_clinic_settings(db).calibration_interval_days == 365


def test_a_must_change_account_chooses_its_password_at_the_prompt_not_from_a_file(db, url, tmp_path, capsys):
    main(["--database", url, "--user", "ada", "add", "bo", "Bo Admin", "admin"],
         ask=answers(ADMIN, "given by ada 2026", "given by ada 2026"))
    secret = tmp_path / "bo.pw"
    secret.write_text("given by ada 2026\n")
    secret.chmod(0o600)
    assert main(["--database", url, "--user", "bo", "--password-file", str(secret), "list"]) == 1
    assert "must choose a new password" in capsys.readouterr().err
    assert main(["--database", url, "--user", "bo", "list"],
                ask=answers("given by ada 2026", "bo chose this one", "bo chose this one")) == 0
    assert not authenticate(db, "bo", "bo chose this one").must_change_password
