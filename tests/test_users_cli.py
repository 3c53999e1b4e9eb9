"""ionto-users: an administrator adds, lists, re-passwords and disables accounts; others are refused."""

from __future__ import annotations

import pytest

from ionto_console.accounts import Role, authenticate, create_first_admin
from ionto_console.records import audit_history
from ionto_console.users_cli import main

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def url(db, tmp_path):
    create_first_admin(db, "ada", "Ada Admin", "admin-pass-1")
    return f"sqlite:///{tmp_path / 'records.sqlite3'}"


def answers(*texts):
    queue = list(texts)
    return lambda prompt: queue.pop(0)


def test_an_administrator_adds_lists_and_disables(db, url, capsys):
    assert main(["--database", url, "--admin", "ada", "add", "sam", "Sam Lee", "therapist"],
                ask=answers("admin-pass-1", "therapy-2026", "therapy-2026")) == 0
    assert authenticate(db, "sam", "therapy-2026").role is Role.THERAPIST
    assert main(["--database", url, "--admin", "ada", "list"], ask=answers("admin-pass-1")) == 0
    listed = capsys.readouterr().out
    assert "sam" in listed and "therapist" in listed and "Sam Lee" in listed
    assert main(["--database", url, "--admin", "ada", "passwd", "sam"],
                ask=answers("admin-pass-1", "new-pass-2026", "new-pass-2026")) == 0
    assert authenticate(db, "sam", "new-pass-2026") is not None
    assert main(["--database", url, "--admin", "ada", "disable", "sam", "--why", "left"],
                ask=answers("admin-pass-1")) == 0
    assert authenticate(db, "sam", "new-pass-2026") is None
    assert [entry["who"] for entry in audit_history(db, "user", "sam")][-3:] == ["ada", "ada", "ada"]


def test_refusals_say_why_and_change_nothing(db, url, capsys):
    assert main(["--database", url, "--admin", "ada", "list"], ask=answers("wrong")) == 1
    assert "Wrong user name or password" in capsys.readouterr().err
    main(["--database", url, "--admin", "ada", "add", "sam", "Sam Lee", "therapist"],
         ask=answers("admin-pass-1", "therapy-2026", "therapy-2026"))
    assert main(["--database", url, "--admin", "sam", "add", "eve", "Eve Ng", "engineer"],
                ask=answers("therapy-2026", "engineer-2026", "engineer-2026")) == 1
    assert "not an administrator" in capsys.readouterr().err
    assert main(["--database", url, "--admin", "ada", "add", "eve", "Eve Ng", "engineer"],
                ask=answers("admin-pass-1", "engineer-2026", "typo")) == 1
    assert "differ" in capsys.readouterr().err
    assert authenticate(db, "eve", "engineer-2026") is None
    assert main(["--database", "sqlite:////nonexistent-dir/x/records.sqlite3", "--admin", "ada", "list"],
                ask=answers("admin-pass-1")) == 2
