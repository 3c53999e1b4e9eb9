"""The one-page treatment report PDF drawn from a recorded session."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ionto_console.records import (
    RecordNotFound,
    SampleSeries,
    SampleWriter,
    add_note,
    finish_session,
    record_side_effect,
    report_data,
    sign_session,
    start_session,
)
from ionto_console.reports.treatment_report import (
    _segments,
    dose_text,
    outcome_text,
    overrides_lines,
    render_treatment_report,
    write_treatment_report,
)

from ionto_console.records.demo import mark_as_demo

from records_helpers import account, UTC, new_patient, session_start

T0 = dt.datetime(2026, 5, 4, 8, 10, tzinfo=UTC)
OVERRIDES = {"overridden": [{"check": "consecutive_corticosteroid",
                             "message": "Corticosteroid iontophoresis yesterday at the same site",
                             "reason": "Physician ordered a second session, see chart"}]}


def pdf_pages(path: Path) -> int:
    """Page objects in the PDF (``/Type /Page``, not the ``/Pages`` tree node)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def recorded_session(db, *, minutes: float = 9.5, notes: int = 1, alarms: int = 1) -> int:
    pid = new_patient(db)
    sid = start_session(db, session_start(pid, started_at=T0, overrides=OVERRIDES, course_planned_sessions=6))
    writer = SampleWriter(db, sid)
    n = int(minutes * 60 * 10)  # 10 Hz is plenty for the report's reduced series
    t = np.arange(n) / 10.0
    target = np.minimum(3.0, t / 60.0).astype(np.float32)
    current = (target + 0.05 * np.sin(t)).astype(np.float32)
    writer.add_block(SampleSeries(t, current, np.full(n, 18.0, np.float32), np.full(n, 6.0, np.float32), target,
                                  np.full(n, 3, np.uint16)))
    for i in range(alarms):
        writer.add_event("trip:open_circuit", f"Open circuit: electrode contact lost ({i})", {"voltage_v": 89.8},
                         t=120.0 + i, alarm=True, at=T0 + dt.timedelta(seconds=120 + i))
    writer.close()
    record_side_effect(db, sid, kind="dizziness", who="dana", at=T0 + dt.timedelta(minutes=9), note="pale")
    finish_session(db, sid, state="stopped", reason="Dizziness", dose_delivered_ma_min=21.5, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=minutes))
    for i in range(notes):
        add_note(db, sid, f"Dizzy at 9 min, note {i}. " + "Patient rested and recovered. " * 3, author="dana")
    sign_session(db, sid, username=account(db, "dana", "Dana Miller"), meaning="performed and reviewed")
    return sid


def test_the_report_is_one_pdf_page(sqlite_db, tmp_path):
    sid = recorded_session(sqlite_db)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "report.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    assert pdf_pages(path) == 1
    assert path.stat().st_size > 2000


def test_many_notes_and_alarms_still_fit_one_page(sqlite_db, tmp_path):
    sid = recorded_session(sqlite_db, notes=40, alarms=30)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "long.pdf")
    assert pdf_pages(path) == 1


def test_a_full_page_counts_notes_never_the_signature(sqlite_db, tmp_path):
    """A new-user pass found "… and 1 more" where the session's only signature should be."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    sid = recorded_session(sqlite_db, notes=40, alarms=30)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "long.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    signatures = text[text.index("Signatures"):]
    assert "Dana Miller" in signatures and "performed and reviewed" in signatures, signatures[:300]
    assert "more (see the CSV or FHIR export)" in text[:text.index("Signatures")]  # the notes were counted


def test_the_page_shows_the_record(sqlite_db, tmp_path):
    """The words on the page come from the record (checked with pdftotext when poppler is installed)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    sid = recorded_session(sqlite_db)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    for needle in ("Ann Example", "P-0001", "Stopped: dizziness", "21.5 of", "dizziness", "Open circuit",
                   "Corticosteroid iontophoresis yesterday", "Dana Miller", "performed and reviewed",
                   "Therapist's signature", "IONTO1-000042", "Audit trail intact"):
        assert needle in text, needle
    # The audit head (sequence number and 16 hex digits) is printed in the footer.
    assert re.search(r"audit head #\d+ [0-9a-f]{16}", text), text[-400:]
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile", str(path),
                        "/tmp/treatment_report"], check=True)


def test_an_unknown_session_raises_before_a_file_is_made(sqlite_db, tmp_path):
    with pytest.raises(RecordNotFound):
        write_treatment_report(sqlite_db, 999, tmp_path / "none.pdf")
    assert not (tmp_path / "none.pdf").exists()


def test_a_missing_folder_is_an_os_error(sqlite_db, tmp_path):
    sid = recorded_session(sqlite_db)
    with pytest.raises(OSError):
        render_treatment_report(report_data(sqlite_db, sid), tmp_path / "missing" / "r.pdf")


def test_a_session_without_samples_still_reports(sqlite_db, tmp_path):
    pid = new_patient(sqlite_db)
    sid = start_session(sqlite_db, session_start(pid, started_at=T0))
    finish_session(sqlite_db, sid, state="faulted", reason="Board lost", dose_delivered_ma_min=0.0, who="dana",
                   ended_at=T0 + dt.timedelta(seconds=5))
    path = write_treatment_report(sqlite_db, sid, tmp_path / "empty.pdf")
    assert pdf_pages(path) == 1


def test_text_helpers():
    assert outcome_text({"state": "complete", "reason": ""}) == "Complete"
    assert outcome_text({"state": "stopped", "reason": "Nausea"}) == "Stopped: nausea"
    assert outcome_text({"state": "faulted", "reason": "Board lost"}) == "Stopped by a safety check: board lost"
    assert dose_text({"delivered_ma_min": 20.0, "target_ma_min": 40.0, "percent": 50.0}) == "20.0 of 40.0 mA·min (50 %)"
    assert overrides_lines(OVERRIDES) == ["Corticosteroid iontophoresis yesterday at the same site — reason: "
                                          "Physician ordered a second session, see chart"]
    assert overrides_lines({"overridden": []}) == []
    assert list(_segments([0, 1, 2, 3, 4], [1.0, None, 2.0, float("nan"), 3.0])) == [[(0, 1.0)], [(2, 2.0)], [(4, 3.0)]]


def test_a_simulated_session_says_simulated_on_the_page_and_is_not_billed(sqlite_db, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    mark_as_demo(sqlite_db)
    pid = new_patient(sqlite_db, "P-SIM", "Demo Patient")
    sid = start_session(sqlite_db, session_start(pid, started_at=T0, simulated=True))
    finish_session(sqlite_db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=20))
    path = write_treatment_report(sqlite_db, sid, tmp_path / "simulated.pdf")
    assert pdf_pages(path) == 1
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "SIMULATED" in text and "not billed: simulated board" in text and "CPT 97033" not in text
    real = write_treatment_report(sqlite_db, recorded_session(sqlite_db), tmp_path / "real.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(real), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "SIMULATED" not in text and "CPT 97033" in text


def test_the_page_shows_the_polarity_per_lead(sqlite_db, tmp_path):
    """Issue 14 item 9: polarity was shown nowhere, neither on the screen nor in the PDF."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    sid = recorded_session(sqlite_db)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "report.pdf")
    text = " ".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert "on the ACTIVE lead:" in text and ("CATHODE" in text or "ANODE" in text)


# --- the diagnosis, its coverage flag and the course position (issue 14, new-user pass) ------------------

def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_the_diagnosis_has_its_name_and_the_guidelines_flag(sqlite_db, tmp_path):
    """New-user pass: "Diagnosis M76.60" with no name, and nothing said that dexamethasone for a tendinitis
    is not medically necessary under the coverage guideline."""
    pid = new_patient(sqlite_db)
    sid = start_session(sqlite_db, session_start(pid, started_at=T0, diagnosis_code="M76.60"))
    finish_session(sqlite_db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=20))
    text = " ".join(pdf_text(write_treatment_report(sqlite_db, sid, tmp_path / "r.pdf")).split())
    assert "M76.60 Achilles tendinitis" in text
    assert "Flagged (CG-MED-28)" in text and "not medically necessary" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_a_covered_code_and_a_missing_one_are_said_plainly(sqlite_db, tmp_path):
    pid = new_patient(sqlite_db)
    covered = start_session(sqlite_db, session_start(pid, "tap-water-hands-dc", started_at=T0,
                                                     diagnosis_code="L74.512",
                                                     coverage_answers={"prescription_antiperspirant_failed": True,
                                                                       "significant_functional_impairment": True}))
    missing = start_session(sqlite_db, session_start(new_patient(sqlite_db, "P-0002", "Bob"), started_at=T0))
    for sid in (covered, missing):
        finish_session(sqlite_db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana",
                       ended_at=T0 + dt.timedelta(minutes=20))
    text = " ".join(pdf_text(write_treatment_report(sqlite_db, covered, tmp_path / "c.pdf")).split())
    assert "L74.512 Primary focal hyperhidrosis, palms" in text and "Medically necessary (CG-MED-28)" in text
    assert "Flagged" not in text
    text = " ".join(pdf_text(write_treatment_report(sqlite_db, missing, tmp_path / "m.pdf")).split())
    assert "— (none entered)" in text and "Flagged: no diagnosis" in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_the_course_says_of_how_many_or_first_session(sqlite_db, tmp_path):
    """New-user pass: "Course: Session 1" with no total. With a planned number: "Session 1 of 6"; without
    one the first session is called that."""
    planned = recorded_session(sqlite_db)  # planned: 6 sessions
    assert "Session 1 of 6" in pdf_text(write_treatment_report(sqlite_db, planned, tmp_path / "p.pdf"))
    pid = new_patient(sqlite_db, "P-0003", "Cleo")
    sid = start_session(sqlite_db, session_start(pid, started_at=T0))
    finish_session(sqlite_db, sid, state="complete", reason="", dose_delivered_ma_min=40.0, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=20))
    text = pdf_text(write_treatment_report(sqlite_db, sid, tmp_path / "f.pdf"))
    assert "First session" in text and "Session 1\n" not in text
