"""The offer to continue an interrupted run survives a restart, with one rule for which endings qualify
(issue 14: after a restart P-3001's run, cut at the voltage limit, was not offered while an electrode lift
on P-1001, still in the console's memory, was)."""

from __future__ import annotations

import datetime as dt

import pytest

from ionto_console.control.patient_history import dose_line, patient_history
from ionto_console.core.continuation import CONTINUABLE_TRIPS, may_continue
from ionto_console.core.interlocks import TripKind
from ionto_console.core.protocols import load_library
from ionto_console.core.session import SessionState
from ionto_console.records import create_patient, finish_session, record_event, start_session
from ionto_console.records.store import Calibration, PatientData, SessionStart

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.timezone.utc)


def _protocol(word: str):
    return next(p for p in load_library() if word in p.id)


def _run(db, pid, protocol, *, state="faulted", trip="compliance", delivered=1.0, target=None, continues=None,
         started=NOW - dt.timedelta(hours=1)) -> int:
    sid = start_session(db, SessionStart(
        patient_id=pid, protocol=protocol.model_dump(mode="json"), operator="dana", station="station-1",
        board_serial="IONTO1-000042", calibration=Calibration(1.0, 0.0, NOW - dt.timedelta(days=30)),
        dose_target_ma_min=target, continues_session_id=continues, started_at=started))
    if trip:
        record_event(db, sid, kind=f"trip:{trip}", message="cut", evidence={"action": "CUT"},
                     at=started + dt.timedelta(minutes=2))
    finish_session(db, sid, state=state, reason="cut", dose_delivered_ma_min=delivered, who="dana",
                   ended_at=started + dt.timedelta(minutes=2))
    return sid


@pytest.fixture
def patient(db):
    return create_patient(db, PatientData("P-3001", "Maria Sweat", dt.date(1990, 6, 6), ""), who="dana")


def test_a_voltage_limit_trip_is_offered_after_a_restart(db, patient):
    tap = _protocol("tap-water")
    sid = _run(db, patient, tap, trip="compliance", delivered=1.0)
    offer = patient_history(db, "P-3001", tap, NOW).continuation
    assert offer is not None and offer.session_id == sid and offer.patient_id == "P-3001"
    assert offer.delivered_ma_min == 1.0 and offer.target_ma_min == tap.dose_target_ma_min


def test_a_continued_run_cut_again_offers_the_rest_of_the_first_prescription(db, patient):
    dexa = _protocol("dexamethasone")
    first = _run(db, patient, dexa, trip="open_circuit", delivered=0.2, started=NOW - dt.timedelta(hours=2))
    _run(db, patient, dexa, trip="open_circuit", delivered=0.3, target=dexa.dose_target_ma_min - 0.2,
         continues=first)
    offer = patient_history(db, "P-3001", dexa, NOW).continuation
    assert offer.session_id == first and offer.delivered_ma_min == pytest.approx(0.5)


@pytest.mark.parametrize("case", ["stopped", "overcurrent", "impedance_falling", "yesterday", "other protocol",
                                  "complete"])
def test_what_is_not_offered(db, patient, case):
    tap, dexa = _protocol("tap-water"), _protocol("dexamethasone")
    kwargs = {"stopped": dict(state="stopped", trip=None), "overcurrent": dict(trip="overcurrent"),
              "impedance_falling": dict(trip="impedance_falling"),
              "yesterday": dict(started=NOW - dt.timedelta(days=1)), "other protocol": {},
              "complete": dict(state="complete", trip=None, delivered=tap.dose_target_ma_min)}[case]
    _run(db, patient, dexa if case == "other protocol" else tap, **kwargs)
    assert patient_history(db, "P-3001", tap, NOW).continuation is None


def test_only_the_latest_run_is_offered(db, patient):
    tap = _protocol("tap-water")
    _run(db, patient, tap, trip="compliance", started=NOW - dt.timedelta(hours=3))
    _run(db, patient, tap, state="stopped", trip=None, started=NOW - dt.timedelta(hours=1))
    assert patient_history(db, "P-3001", tap, NOW).continuation is None


def test_the_rule_in_words():
    assert may_continue(SessionState.FAULTED, "open_circuit") and may_continue(SessionState.FAULTED, "compliance")
    assert may_continue(SessionState.INTERRUPTED, None)
    assert not may_continue(SessionState.STOPPED, None) and not may_continue(SessionState.FAULTED, None)
    assert CONTINUABLE_TRIPS <= {kind.value for kind in TripKind}


def test_history_lines_show_one_decimal_and_plain_outcomes(db, patient):
    tap = _protocol("tap-water")
    _run(db, patient, tap, trip="compliance", delivered=0.5)
    (line,) = patient_history(db, "P-3001", tap, NOW).recent
    assert f"0.5 of {tap.dose_target_ma_min:g} mA·min" in line and "ended by a safety check" in line
    assert "faulted" not in line and "1/" not in line
    assert dose_line(0.05, 40.0) == "0.1 of 40 mA·min" and dose_line(39.8353, 40) == "39.8 of 40 mA·min"


def test_the_continuing_checklist_still_sees_an_earlier_corticosteroid_day(db, patient):
    """The run being continued does not count against its own prescription; yesterday's session does."""
    dexa = _protocol("dexamethasone")
    _run(db, patient, dexa, state="complete", trip=None, delivered=40.0, started=NOW - dt.timedelta(days=1))
    _run(db, patient, dexa, trip="open_circuit", delivered=0.5)
    history = patient_history(db, "P-3001", dexa, NOW)
    assert history.continuation is not None and history.last_corticosteroid == NOW.astimezone().date()
    assert history.corticosteroid_before_continuation == (NOW - dt.timedelta(days=1)).astimezone().date()


def test_the_history_names_side_effects_as_the_records_list_does(db, patient):
    """New-user pass: the set-up's history line said "side effects: other" where the therapist had typed
    what happened; the Records list showed the words."""
    from ionto_console.records import record_side_effect

    tap = _protocol("tap-water")
    sid = _run(db, patient, tap, state="stopped", trip=None)
    record_side_effect(db, sid, kind="dizziness", who="dana", at=NOW - dt.timedelta(minutes=59))
    record_side_effect(db, sid, kind="other", who="dana", note="skin itching under the tray",
                       at=NOW - dt.timedelta(minutes=58))
    line = patient_history(db, "P-3001", tap, NOW).recent[0]
    assert "side effects: dizziness, skin itching under the tray" in line, line
