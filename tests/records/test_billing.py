"""CPT 97033 units at every boundary of the 8-minute rule, and CG-MED-28 coverage flags."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionto_console.records import (
    Coverage,
    amend_session,
    assess_coverage,
    billable_minutes,
    billing_csv,
    billing_summary,
    cpt_units,
    finish_session,
    start_session,
)

from records_helpers import DEXA, TAP_WATER, UTC, load_protocol, new_patient, session_start


@pytest.mark.parametrize("minutes, units", [(0, 0), (7, 0), (8, 1), (22, 1), (23, 2), (37, 2), (38, 3), (52, 3),
                                            (53, 4), (67, 4), (68, 5)])
def test_eight_minute_rule_boundaries(minutes, units):
    assert cpt_units(minutes) == units


@pytest.mark.parametrize("seconds, minutes", [(0, 0), (479.9, 7), (480, 8), (1379, 22), (1380, 23)])
def test_seconds_are_dropped_never_rounded_up(seconds, minutes):
    assert billable_minutes(seconds) == minutes


@given(st.integers(min_value=0, max_value=600))
def test_units_property(minutes):
    units = cpt_units(minutes)
    # each unit is earned by at least 8 minutes of its 15, and no 15 full minutes go unbilled
    assert units * 15 - 7 <= minutes or units == 0
    assert minutes < (units + 1) * 15 - 7
    assert cpt_units(minutes + 1) in (units, units + 1)


HH_YES = {"indication": "hyperhidrosis", "prescription_antiperspirant_failed": True, "complication": "maceration",
          "significant_functional_impairment": False}


@pytest.mark.parametrize("code, answers, protocol, expected", [
    ("", {"indication": "venipuncture_anesthesia"}, None, Coverage.MEDICALLY_NECESSARY),
    ("Z01.818", {"indication": "dermatologic_procedure_anesthesia"}, None, Coverage.MEDICALLY_NECESSARY),
    ("L74.512", HH_YES, TAP_WATER, Coverage.MEDICALLY_NECESSARY),
    ("L74.519", {**HH_YES, "complication": "secondary_infection"}, TAP_WATER, Coverage.MEDICALLY_NECESSARY),
    ("R61", {**HH_YES, "complication": False, "significant_functional_impairment": True}, TAP_WATER,
     Coverage.MEDICALLY_NECESSARY),
    ("L74.52", {**HH_YES, "indication": None}, TAP_WATER, Coverage.MEDICALLY_NECESSARY),  # indication from code
    ("L74.510", {**HH_YES, "prescription_antiperspirant_failed": False}, TAP_WATER, Coverage.CRITERIA_NOT_MET),
    ("L74.511", {**HH_YES, "complication": False}, TAP_WATER, Coverage.CRITERIA_NOT_MET),
    ("L74.513", {"indication": "hyperhidrosis"}, TAP_WATER, Coverage.CRITERIA_NOT_MET),
    ("L74.8", HH_YES, TAP_WATER, Coverage.CRITERIA_NOT_MET),  # not a covered hyperhidrosis code
    ("M76.60", {"indication": "inflammatory_musculoskeletal"}, DEXA, Coverage.NOT_MEDICALLY_NECESSARY),
    ("M76.60", {}, DEXA, Coverage.NOT_MEDICALLY_NECESSARY),  # M chapter + corticosteroid protocol
    ("M75.30", {"indication": "inflammatory_musculoskeletal", "drug_class": "nsaid"}, None,
     Coverage.NOT_MEDICALLY_NECESSARY),
    ("M26.609", {}, None, Coverage.NOT_MEDICALLY_NECESSARY),
    ("", {"indication": "temporomandibular_disorder"}, DEXA, Coverage.NOT_MEDICALLY_NECESSARY),
    ("M76.60", {"indication": "inflammatory_musculoskeletal", "drug_class": "acetic_acid"}, None,
     Coverage.NOT_ADDRESSED),
    ("", {}, None, Coverage.NOT_ADDRESSED),
    ("G56.00", {"indication": "other"}, None, Coverage.NOT_ADDRESSED),
])
def test_coverage_flags(code, answers, protocol, expected):
    note = assess_coverage(code, answers, load_protocol(protocol) if protocol else None)
    assert note.status is expected, note.reason
    assert note.guideline == "CG-MED-28" and note.reason
    assert note.flagged == (expected is not Coverage.MEDICALLY_NECESSARY)


def test_unanswered_hyperhidrosis_questions_are_named():
    note = assess_coverage("L74.511", {"indication": "hyperhidrosis", "prescription_antiperspirant_failed": True})
    assert note.status is Coverage.CRITERIA_NOT_MET and "unanswered" in note.reason


def test_monthly_billing_summary(db):
    ann = new_patient(db)
    t0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

    def session(day: int, minutes: float, protocol: str, code: str, answers: dict, state: str = "complete") -> int:
        start = t0 + dt.timedelta(days=day)
        sid = start_session(db, session_start(ann, protocol, started_at=start, diagnosis_code=code,
                                              coverage_answers=answers))
        finish_session(db, sid, state=state, reason="", dose_delivered_ma_min=1, who="dana",
                       ended_at=start + dt.timedelta(minutes=minutes))
        return sid

    a = session(0, 20.5, TAP_WATER, "L74.512", HH_YES)
    b = session(3, 7.99, DEXA, "M76.60", {})
    c = session(5, 38, TAP_WATER, "L74.512", {"indication": "hyperhidrosis"}, state="stopped")
    session(40, 20, TAP_WATER, "L74.512", HH_YES)  # next month
    start_session(db, session_start(ann, started_at=t0 + dt.timedelta(days=6)))  # still running: not billed
    amend_session(db, c, "coverage_answers", HH_YES, who="clerk", why="questions answered after the session")
    lines = billing_summary(db, dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert [(x.session_id, x.minutes, x.units) for x in lines] == [(a, 20, 1), (b, 7, 0), (c, 38, 3)]
    assert [x.coverage.status for x in lines] == [Coverage.MEDICALLY_NECESSARY, Coverage.NOT_MEDICALLY_NECESSARY,
                                                  Coverage.MEDICALLY_NECESSARY]
    text = billing_csv(lines).splitlines()
    assert text[0].split(",")[:9] == ["session_uid", "date", "patient_identifier", "patient_name", "operator",
                                      "state", "cpt", "attended_minutes", "units"]
    assert len(text) == 5 and text[-1].startswith("TOTAL,") and ",97033,65,4," in text[-1]
