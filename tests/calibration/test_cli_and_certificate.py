"""ionto-cal CLI against its own simulated bench, and the PDF certificate."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import subprocess
import sys

import pytest

from ionto_console import calibration_cli
from ionto_console.records import calibrations_of, open_database, verify_audit
from ionto_console.core.calibration import (CalibrationResult, Constants, Mode, SweepPlan, Verdict, evaluate_point,
                                            fit_from_points, Tolerance)
from ionto_console.reports.calibration_certificate import title_of, write_certificate

from cal_helpers import clinic_database, database_state

QUICK = ["--currents-ma", "0.1,1,4", "--loads-ohm", "1000", "--samples", "10"]
#: A clinic's bench nobody answers on: the sign-in (against the clinic's records) comes before any connection.
NO_BENCH = ["--board", "/nonexistent/board", "--dmm", "TCPIP::127.0.0.1::1::SOCKET",
            "--load", "TCPIP::127.0.0.1::1::SOCKET"]
RAVI_PW = "he calibrates boards"


@pytest.fixture
def ravi(tmp_path, fast_passwords):
    """An engineer account in the test's records database, and its private password file: the sign-in args."""
    from ionto_console.accounts import Role, change_own_password, create_first_admin, create_user, sign_in

    db = open_database(os.environ["IONTO_DATABASE_URL"])
    create_first_admin(db, "boss", "Clinic Manager", "manager pass phrase")
    create_user(db, "ravi", "Ravi Menon", Role.ENGINEER, "given by the boss", who="boss")
    change_own_password(db, sign_in(db, "ravi", "given by the boss", station="t"), "given by the boss", RAVI_PW,
                        station="t")
    db.close()
    secret = tmp_path / "ravi.pw"
    secret.write_text(RAVI_PW + "\n")
    secret.chmod(0o600)
    return ["--user", "ravi", "--password-file", str(secret)]




@pytest.fixture
def demo_engineer(tmp_path):
    """The README's demo account (engineer/engineer) as a private password file: the sign-in args."""
    secret = tmp_path / "engineer.pw"
    secret.write_text("engineer\n")
    secret.chmod(0o600)
    return ["--user", "engineer", "--password-file", str(secret)]


def test_cli_sim_signs_in_to_the_demo_records_and_leaves_the_clinic_records_untouched(
        qapp, tmp_path, capsys, monkeypatch, fast_passwords, demo_engineer) -> None:
    """Issue 14: the README's ``ionto-cal calibrate --sim`` signed in against the clinic's database (on a fresh
    data folder "Wrong user name or password"). Now it works in the demo's world: the demo account
    engineer/engineer in ``./.demo/records.sqlite3`` (where ``scripts/console.sh`` keeps the demo), the
    result kept there, and the clinic's records (IONTO_DATABASE_URL) not even opened."""
    clinic_url = os.environ["IONTO_DATABASE_URL"]  # where a plain ionto-cal run would sign in and store
    before = clinic_database(clinic_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".demo").mkdir()
    pdf, record = tmp_path / "cert.pdf", tmp_path / "cal.json"
    code = calibration_cli.main(["calibrate", "--sim", *demo_engineer, *QUICK, "--pdf", str(pdf),
                                 "--json", str(record)])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 0, captured
    assert "RESULT: PASS" in out and "largest error as found: 10" in out
    assert re.search(r"largest error as left: \d\.\d µA", out)
    # the summary headlines as the certificate does: SIMULATED, then as found and as left apart
    assert out.index("SIMULATED bench") < out.index("As found: FAIL") < out.index("As left: PASS")
    data = json.loads(record.read_text())
    assert data["verdict"] == "pass" and data["written"] and len(data["as_left"]) == 3
    assert data["simulated"] is True and data["engineer"] == "Demo Engineer"
    assert data["instruments"]["dmm"].startswith("Keysight Technologies,34461A")
    assert pdf.read_bytes().startswith(b"%PDF")
    demo_file = tmp_path / ".demo" / "records.sqlite3"
    assert f"records: Stored in the demo's records on {data['finished_at'][:10]}" in out and str(demo_file) in out
    assert "engineer" in captured.err and str(demo_file) in captured.err  # which records, which account
    with open_database(f"sqlite:///{demo_file}") as demo:
        (kept,) = calibrations_of(demo, data["board_serial"])
        assert kept.simulated and kept.verdict == "pass" and verify_audit(demo).ok
    with open_database(clinic_url) as db:
        assert database_state(db) == before  # not even a sign-in entry: the clinic's records were never opened
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "SIMULATED" in text and "never a patient's treatment" in text


def test_cli_sim_without_a_console_demo_here_uses_the_demo_file_in_the_data_folder(
        qapp, tmp_path, capsys, monkeypatch, fast_passwords, demo_engineer) -> None:
    monkeypatch.chdir(tmp_path)  # no ./.demo here: demo mode's own file in the user data folder
    assert calibration_cli.main(["verify", "--sim", *demo_engineer, *QUICK]) == 1  # the factory board fails
    demo_file = tmp_path / "data" / "demo" / "records.sqlite3"  # IONTO_DATA_DIR (tests/conftest.py)
    assert str(demo_file) in capsys.readouterr().err
    with open_database(f"sqlite:///{demo_file}") as demo:
        (kept,) = calibrations_of(demo, "SIM-00001")
        assert kept.simulated and kept.mode == "verify"


def test_cli_sim_refuses_a_clinic_records_database(qapp, capsys, fast_passwords, demo_engineer) -> None:
    clinic_url = os.environ["IONTO_DATABASE_URL"]
    before = clinic_database(clinic_url)
    assert calibration_cli.main(["calibrate", "--sim", *demo_engineer, "--database", clinic_url, *QUICK]) == 2
    err = capsys.readouterr().err
    assert "--sim works only with the demo's records" in err and "not a demo database" in err
    with open_database(clinic_url) as db:
        assert database_state(db) == before


def test_cli_verify_of_the_factory_board_fails_with_exit_code_1(qapp, capsys, fast_passwords, demo_engineer) -> None:
    assert calibration_cli.main(["verify", "--sim", *demo_engineer, *QUICK]) == 1
    assert "RESULT: FAIL" in capsys.readouterr().out


def test_cli_error_exit_code_2_for_an_unreachable_board(tmp_path, capsys, ravi) -> None:
    code = calibration_cli.main(["verify", *ravi, "--board", str(tmp_path / "none"),
                                 "--dmm", "TCPIP::127.0.0.1::1::SOCKET", "--load", "TCPIP::127.0.0.1::1::SOCKET"])
    assert code == 2 and "RESULT: ERROR: No board" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["calibrate", "--user", "R"], "give --board, --dmm and --load"),
    (["calibrate", "--user", "R", "--sim", "--board", "x"], "--sim starts its own bench"),
    (["calibrate", "--sim", "--user", "R", "--currents-ma", "1,20", "--loads-ohm", "10000"], "needs 200 V"),
    (["calibrate", "--sim"], "--user"),
])
def test_cli_refuses_bad_arguments_with_exit_code_2(args, words, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        calibration_cli.main(args)
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_tried_a_typed_engineer_name_without_sign_in_is_refused_and_audited(capsys, ravi) -> None:
    """Issue 13: `ionto-cal calibrate --sim --engineer "anyone"` stored a calibration by "anyone"."""
    from ionto_console.records import audit_history

    assert calibration_cli.main(["calibrate", *NO_BENCH, "--engineer", "anyone", *ravi, *QUICK]) == 2
    assert "--engineer no longer names the author" in capsys.readouterr().err
    wrong = ravi[:-1] + [ravi[-1] + ".missing"]
    assert calibration_cli.main(["calibrate", *NO_BENCH, *wrong, *QUICK]) == 2
    assert "Cannot read the password file" in capsys.readouterr().err
    db = open_database(os.environ["IONTO_DATABASE_URL"])
    try:
        assert not audit_history(db, entity="calibration")
        refusals = [e["after"]["requested"] for e in audit_history(db) if e["action"] == "refused"]
        assert refusals == ["ionto-cal --engineer", "ionto-cal --password-file"]
    finally:
        db.close()


def test_tried_a_therapist_cannot_calibrate_and_a_wrong_password_is_audited(capsys, ravi) -> None:
    from ionto_console.accounts import Role, create_user
    from ionto_console.records import audit_history

    db = open_database(os.environ["IONTO_DATABASE_URL"])
    create_user(db, "dana", "Dana Weber", Role.THERAPIST, "tendon heals slowly", who="boss")
    db.close()
    assert calibration_cli.main(["calibrate", *NO_BENCH, "--user", "dana", *QUICK],
                                ask=lambda prompt: "tendon heals slowly") == 2
    assert "Dana Weber is not an engineer or administrator" in capsys.readouterr().err
    assert calibration_cli.main(["calibrate", *NO_BENCH, "--user", "ravi", *QUICK], ask=lambda prompt: "guess") == 2
    assert "Wrong user name or password" in capsys.readouterr().err
    db = open_database(os.environ["IONTO_DATABASE_URL"])
    try:
        (failed,) = [e for e in audit_history(db, entity="user", entity_id="ravi") if e["action"] == "sign-in failed"]
        assert failed["after"]["station"].startswith("ionto-cal@")
    finally:
        db.close()


def test_cli_runs_as_a_module() -> None:
    proc = subprocess.run([sys.executable, "-m", "ionto_console.calibration_cli", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "calibrate" in proc.stdout


def _result(many: int) -> CalibrationResult:
    rng = random.Random(5)
    tol = Tolerance()
    old = Constants(gain=1.0, offset_ua=0.0, date=1_700_000_000)
    points = []
    for i in range(many):
        set_ua = 100 + i * 500
        true = (set_ua - 18) / 0.97
        points.append(evaluate_point(load_ohm=1000, set_ua=set_ua, board_ua=[set_ua + rng.gauss(0, 1)] * 3,
                                     board_mv=[true] * 3, dmm_ua=[true] * 2, constants=old, tolerance=tol))
    fit = fit_from_points(points)
    return CalibrationResult(mode=Mode.CALIBRATE, engineer="Ravi", started_at=dt.datetime(2026, 3, 1, 9, 0,
                             tzinfo=dt.timezone.utc), board_serial="SN-42", board_firmware="1.2.3",
                             plan=SweepPlan(), tolerance_rel=0.02, tolerance_abs_ua=20, impedance_tolerance_pct=5,
                             old_constants=old, as_found=points, fit=fit, verdict=Verdict.ERROR,
                             reason="Cancelled by the engineer.", instruments={"dmm": "A,B,C,D"})


@pytest.mark.parametrize("points, pages", [(6, 2), (70, 3)])
def test_certificate_pages(qapp, tmp_path, points, pages) -> None:
    result = _result(points)
    path = write_certificate(result, tmp_path / "sub" / "c.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == pages  # a long sweep flows onto more pages
    assert title_of(result) == "Calibration certificate: IONTO-1 board SN-42"


def test_a_simulated_certificate_says_so_on_every_page(qapp, tmp_path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    result = _result(70).model_copy(update={"simulated": True})
    assert title_of(result) == "SIMULATED Calibration certificate: IONTO-1 board SN-42"
    path = write_certificate(result, tmp_path / "sim.pdf")
    pages = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) == 3 and all("SIMULATED" in page for page in pages)
    real = subprocess.run(["pdftotext", str(write_certificate(_result(6), tmp_path / "real.pdf")), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "SIMULATED" not in real


def test_the_certificate_headlines_as_found_and_as_left_apart(qapp, tmp_path) -> None:
    """Issue 14 item 11: "Result: PASS" headlined a certificate whose as-found points had failed."""
    from ionto_console.reports.calibration_certificate import headlines

    found = _result(6)  # the board reads about 3 % low before the fit: as found, points fail
    left = [p.model_copy(update={"board_ua": p.dmm_ua, "error_ua": 0.0, "passed": True}) for p in found.as_found]
    result = found.model_copy(update={"as_left": left, "verdict": Verdict.PASS, "reason": "all points within"})
    lines = headlines(result)
    assert [(text.split(":")[0], verdict) for text, verdict, _why in lines] == [
        ("As found", Verdict.FAIL), ("As left", Verdict.PASS)]
    assert "out of tolerance" in lines[0][2]
    if shutil.which("pdftotext") is None:
        return
    text = subprocess.run(["pdftotext", str(write_certificate(result, tmp_path / "c.pdf")), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "As found: FAIL" in text and "As left: PASS" in text and "Result: PASS" not in text
