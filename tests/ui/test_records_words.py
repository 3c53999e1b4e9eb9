"""Plain words on the Records tab and in the treatment PDF (issue 14, found 21; build 12).

New-user pass: the summary read "STOPPED: Dizziness" and "calibration gain
1.0000, offset +0.0 µA", the list and the filter "faulted". Outcomes are worded
in one place (``core.outcomes``) for the list, the filter, the summary, the
course and the PDF; the calibration constants are an engineer's detail, kept in
plain words on the PDF's technical line, not in the therapist's summary.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_records_browser import browser, db_path, select, sessions, threads  # noqa: F401 (fixtures)

from ionto_console.core.outcomes import STATE_WORDS, outcome_words
from ionto_console.records.store import FINAL_STATES
from ionto_console.core.numbers import signed
from ionto_console.reports.treatment_report import calibration_words


def test_every_final_state_has_words():
    assert set(FINAL_STATES) <= set(STATE_WORDS)
    assert outcome_words("faulted", "Open circuit") == "Stopped by a safety check: open circuit"
    assert outcome_words("stopped", "ICD check") == "Stopped: ICD check"  # an abbreviation keeps its capitals
    assert outcome_words("complete") == "Complete"


@given(st.sampled_from(sorted(STATE_WORDS)), st.text(max_size=40))
def test_outcome_words_are_never_shouted_or_stored_names(state, reason):
    text = outcome_words(state, reason)
    assert text.startswith(STATE_WORDS[state])
    assert not text.split(":")[0].isupper()
    assert "faulted" not in text.split(":")[0]


def test_the_list_filter_and_summary_say_it_in_words(qtbot, browser, sessions):
    _db, ids = sessions
    outcomes = [browser.table.item(row, 3).text() for row in range(browser.table.rowCount())]
    assert outcomes == ["Stopped by a safety check: board lost", "Complete", "Stopped: dizziness"]
    combo = browser.search_fields.outcome_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["any", "Complete", "Stopped",
                                                                 "Stopped by a safety check", "Interrupted"]
    assert "burning_tingling" not in [browser.search_fields.side_effect_combo.itemText(i)
                                      for i in range(browser.search_fields.side_effect_combo.count())]
    select(qtbot, browser, 2)  # Ann, May 4: stopped for dizziness
    summary = browser.summary_view.toPlainText()
    assert "Stopped: dizziness" in summary and "STOPPED" not in summary
    assert "gain" not in summary and "offset" not in summary and "µA" not in summary
    assert "IONTO1-000042, calibrated 2026-03-01" in summary
    select(qtbot, browser, 0)  # Ann, June 1: a safety check stopped it
    assert "Stopped by a safety check: board lost" in browser.summary_view.toPlainText()
    assert "faulted" not in browser.course_view.toPlainText()


def test_calibration_words_never_say_minus_zero():
    assert signed(-0.04, 1) == "+0.0" and signed(-1.5, 1) == "-1.5"
    assert calibration_words(1.0, -0.0, None) == ("measured current corrected by a factor of 1.0000 and +0.0 µA "
                                                  "(the board's calibration of —)")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_the_pdf_says_the_outcome_in_words_and_keeps_the_constants_technical(qtbot, browser, sessions, tmp_path):
    _db, ids = sessions
    select(qtbot, browser, 0)
    browser.export("pdf", tmp_path / "june.pdf")
    qtbot.waitUntil(lambda: browser.last_export is not None, timeout=30_000)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "june.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Stopped by a safety check: board lost" in text and "FAULTED" not in text
    assert "Technical details: measured current corrected by a factor of 1.0020 and -1.5 µA" in text
    assert "gain" not in text


def test_the_summary_shows_site_diagnosis_and_the_coverage_flag(qtbot, browser, sessions):
    """The record's indication, as on the PDF: code and name, and the guideline's flag (none entered here)."""
    select(qtbot, browser, 2)
    summary = browser.summary_view.toPlainText()
    assert "Diagnosis" in summary and "— (none entered)" in summary
    assert "Flagged: no diagnosis" in summary
    assert "#b71c1c" in browser.summary_view.toHtml().lower()
