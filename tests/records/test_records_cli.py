"""ionto-records: signed in, each command allowed to its roles, exit codes 0/1/2, files written safely."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3

import pytest

from ionto_console.accounts import change_own_password, create_first_admin, create_user
from ionto_console.records import SampleWriter, finish_session, open_database, start_session
from ionto_console.records_cli import main

from records_helpers import new_patient, session_start

pytestmark = pytest.mark.usefixtures("fast_passwords")
UTC = dt.timezone.utc


@pytest.fixture
def url(tmp_path):
    link = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    db = open_database(link)
    try:
        create_first_admin(db, "ada", "Ada Admin", "admin pass phrase 1")
        for name, shown, role, own in (("dana", "Dana Miller", "therapist", "therapy in 2026"),
                                       ("ravi", "Ravi Rao", "engineer", "engineer in 2026")):
            # set by the administrator, then changed by its owner at the first sign-in (as the CLI asks)
            given = create_user(db, name, shown, role, "given by ada 2026", who="ada")
            change_own_password(db, given, "given by ada 2026", own, station="test")
        pid = new_patient(db, name='=HYPERLINK("http://x","y")')
        start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
        sid = start_session(db, session_start(pid, started_at=start, diagnosis_code="L74.510"))
        writer = SampleWriter(db, sid)
        for i in range(50):
            writer.add(i * 0.1, 2.0, 6.0, 3.0, 2.0, 1)
        writer.add_event("state", "treating", {})
        writer.close()
        finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana",
                       ended_at=start + dt.timedelta(minutes=20))
    finally:
        db.close()
    return link


def answers(*texts):
    queue = list(texts)
    return lambda prompt: queue.pop(0)


def run(url, user, password, *command):
    return main(["--database", url, "--user", user, *command], ask=answers(password))


def test_verify_intact_then_broken(url, capsys):
    assert run(url, "ada", "admin pass phrase 1", "verify") == 0
    out = capsys.readouterr().out
    assert "INTACT" in out and "audit head #" in out
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE sessions SET dose_delivered_ma_min = 80")
    assert run(url, "ada", "admin pass phrase 1", "verify") == 1
    out = capsys.readouterr().out
    assert "BROKEN: first bad: session:1" in out and "'dose_delivered_ma_min' was changed" in out


def test_roles(url, capsys):
    assert run(url, "dana", "therapy in 2026", "verify") == 1
    assert "may not verify: that needs admin" in capsys.readouterr().err
    assert run(url, "ravi", "engineer in 2026", "list") == 1
    assert "may not list" in capsys.readouterr().err
    assert run(url, "dana", "therapy in 2026", "list", "--patient", "hyperlink") == 0
    out = capsys.readouterr().out
    assert "1 session(s)" in out and "complete" in out
    assert run(url, "dana", "wrong", "list") == 1
    assert "Wrong user name or password" in capsys.readouterr().err


def test_usage_errors_exit_2(url):
    with pytest.raises(SystemExit) as exc:
        main(["--database", url, "--user", "ada", "billing", "--month", "March"], ask=answers("x"))
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["--database", url, "verify"], ask=answers("x"))
    assert exc.value.code == 2


def test_records_unavailable_exit_1(capsys):
    assert main(["--database", "sqlite:////nonexistent-dir/x/r.sqlite3", "--user", "ada", "verify"],
                ask=answers("x")) == 1
    assert "records unavailable" in capsys.readouterr().err


def test_password_file_must_be_private(url, tmp_path, capsys):
    secret = tmp_path / "pw"
    secret.write_text("admin pass phrase 1\n")
    secret.chmod(0o644)
    assert main(["--database", url, "--user", "ada", "--password-file", str(secret), "verify"]) == 1
    assert "chmod 600" in capsys.readouterr().err
    secret.chmod(0o600)
    assert main(["--database", url, "--user", "ada", "--password-file", str(secret), "verify"]) == 0


def test_exports(url, tmp_path, capsys):
    for fmt, name in (("csv", "s.csv"), ("pdf", "s.pdf"), ("fhir", "s.json")):
        assert run(url, "dana", "therapy in 2026", "export", "1", "--format", fmt, "--out", str(tmp_path / name)) == 0
    samples = list(csv.reader(io.StringIO((tmp_path / "s.csv").read_text(), newline="")))
    assert len(samples) == 51
    assert (tmp_path / "s-events.csv").exists()
    assert (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads((tmp_path / "s.json").read_text())["resourceType"] == "Bundle"
    assert run(url, "dana", "therapy in 2026", "export", "99", "--format", "pdf", "--out", str(tmp_path / "x.pdf")) == 1
    assert not (tmp_path / "x.pdf").exists()


def test_billing_is_spreadsheet_safe(url, tmp_path, capsys):
    out = tmp_path / "billing.csv"
    assert run(url, "dana", "therapy in 2026", "billing", "--month", "2026-03", "--out", str(out)) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(), newline="")))
    assert rows[1][3] == "'=HYPERLINK(\"http://x\",\"y\")" and rows[1][8] == "1"
    assert run(url, "dana", "therapy in 2026", "billing", "--month", "2026-04") == 0
    assert "TOTAL" in capsys.readouterr().out


def test_backup_sqlite(url, tmp_path, capsys):
    target = tmp_path / "backup.sqlite3"
    assert run(url, "ada", "admin pass phrase 1", "backup", "--to", str(target)) == 0
    assert target.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (1,)
    assert run(url, "ada", "admin pass phrase 1", "backup", "--to", str(target)) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert run(url, "dana", "therapy in 2026", "backup", "--to", str(tmp_path / "b2")) == 1


def test_backup_of_postgresql_says_how(db, db_url, capsys, tmp_path):
    create_first_admin(db, "ada", "Ada Admin", "admin pass phrase 1")
    target = tmp_path / "backup.sqlite3"
    code = run(db_url, "ada", "admin pass phrase 1", "backup", "--to", str(target))
    if db.dialect == "sqlite":
        assert code == 0 and target.exists()
        return
    assert code == 1 and not target.exists()
    captured = capsys.readouterr()
    assert "pg_dump --format=custom" in captured.out and "no backup was made" in captured.err


def test_seal_is_for_admins_and_seals_nothing_new(url, capsys):
    assert run(url, "dana", "therapy in 2026", "seal") == 1
    assert "may not seal" in capsys.readouterr().err
    assert run(url, "ada", "admin pass phrase 1", "seal") == 0
    assert "sealed 0 record(s)" in capsys.readouterr().out


def test_an_account_the_administrator_set_up_chooses_its_own_password_at_first_sign_in(url, capsys):
    """ionto-records signs in as every entry point does (cli_sign_in): an administrator-set password
    must be replaced by the person's own before any command runs."""
    db = open_database(url)
    try:
        create_user(db, "mei", "Mei Chen", "therapist", "set by ada 2026", who="ada")
    finally:
        db.close()
    # an empty new password is refused: nothing runs until the person has chosen a good one
    assert main(["--database", url, "--user", "mei", "list"], ask=answers("set by ada 2026", "", "")) == 1
    assert "refused" in capsys.readouterr().err
    assert main(["--database", url, "--user", "mei", "list"],
                ask=answers("set by ada 2026", "quiet harbour lantern 26", "quiet harbour lantern 26")) == 0
    assert run(url, "mei", "quiet harbour lantern 26", "list") == 0
    assert run(url, "mei", "set by ada 2026", "list") == 1
