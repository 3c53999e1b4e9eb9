"""Patient identity rules (core/patients.py)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.patients import birth_date_problem, normalise_patient_id, same_person_details


@given(st.text(alphabet="ab-1 P\t", max_size=12), st.text(alphabet=" \t", max_size=3), st.text(alphabet=" ", max_size=3))
def test_normalising_ignores_case_and_surrounding_spaces_and_is_idempotent(core, left, right):
    once = normalise_patient_id(left + core + right)
    assert once == normalise_patient_id(core.lower()) == normalise_patient_id(once)
    assert once == once.strip() and "  " not in once


def test_same_person_ignores_case_and_spacing_only():
    assert same_person_details("Ada Example", "  ada   EXAMPLE ")
    assert not same_person_details("Ada Example", "Ada Exemple")


def test_birth_dates_are_checked_in_words():
    today = dt.date(2026, 11, 30)
    assert birth_date_problem("", today) == ""
    assert birth_date_problem("1961-04-12", today) == ""
    assert "year-month-day" in birth_date_problem("31/12/1970", today)
    assert "130 years" in birth_date_problem("1800-01-01", today)
    assert "future" in birth_date_problem("2027-01-01", today)


def test_only_a_run_that_ended_early_with_dose_left_may_be_continued():
    from ionto_console.core.continuation import continuation_after
    from ionto_console.core.session import SessionState

    lift = dict(trip="open_circuit")
    offer = continuation_after(SessionState.FAULTED, 7, "P-1", "dex", 0.5, 40.0, True, **lift)
    assert offer is not None and offer.remaining_ma_min == 39.5 and offer.session_id == 7
    assert continuation_after(SessionState.COMPLETE, 7, "P-1", "dex", 39.9, 40.0, True, trip=None) is None
    assert continuation_after(SessionState.FAULTED, 7, "P-1", "dex", 0.5, 40.0, False, **lift) is None  # not final
    assert continuation_after(SessionState.FAULTED, None, "P-1", "dex", 0.5, 40.0, True, **lift) is None  # unrecorded
    # a side-effect stop or STOP is the therapist's decision: the next run is a new session
    assert continuation_after(SessionState.STOPPED, 7, "P-1", "dex", 0.5, 40.0, True, trip=None) is None
    assert continuation_after(SessionState.INTERRUPTED, 7, "P-1", "dex", 39.99, 40.0, True, trip=None) is None
