"""Record life cycle on both backends: patients, sessions, side effects, notes, signatures, queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from ionto_console.records import (
    InvalidRecord,
    RecordNotFound,
    SampleSeries,
    SampleWriter,
    add_note,
    amend_session,
    audit_history,
    find_patients,
    finish_session,
    load_events,
    load_samples,
    load_session,
    record_event,
    record_side_effect,
    recover_interrupted,
    search_sessions,
    sign_session,
    start_session,
    update_patient,
    verify_audit,
)

from records_helpers import account, CAL, DEXA, TAP_WATER, UTC, load_protocol, new_patient, session_start

T0 = dt.datetime(2026, 5, 4, 8, 10, tzinfo=UTC)


def test_session_starts_running_with_a_frozen_protocol_copy(db):
    pid = new_patient(db)
    sid = start_session(db, session_start(pid, started_at=T0, diagnosis_code="M76.60"))
    summary = load_session(db, sid)
    assert summary.state == "running" and summary.ended_at is None
    assert summary.protocol == load_protocol(DEXA)
    assert summary.dose_target_ma_min == load_protocol(DEXA)["dose_target_ma_min"]
    assert summary.calibration == CAL
    assert summary.board_serial == "IONTO1-000042" and summary.started_at == T0
    assert summary.checklist["informed"] is True


def test_full_session_record(db):
    pid = new_patient(db)
    sid = start_session(db, session_start(pid, started_at=T0))
    writer = SampleWriter(db, sid).start()
    for i in range(500):
        writer.add(i / 100, 2.0 + i / 1000, 12.0, None if i < 5 else 6.0, 2.5, 0b11)
    writer.add_event("trip", "Open circuit: electrode contact lost", {"voltage_v": 89.9}, t=4.2, alarm=True)
    assert writer.close().complete
    record_side_effect(db, sid, kind="dizziness", who="dana", at=T0 + dt.timedelta(minutes=9), note="felt dizzy")
    finish_session(db, sid, state="stopped", reason="Dizziness", dose_delivered_ma_min=18.4, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=9))
    summary = load_session(db, sid)
    assert (summary.state, summary.reason, summary.dose_delivered_ma_min) == ("stopped", "Dizziness", 18.4)
    assert summary.sample_count == 500 and len(summary.samples_sha256) == 64
    assert [e.kind for e in summary.side_effects] == ["dizziness"]
    samples = load_samples(db, sid)
    assert len(samples) == 500
    np.testing.assert_allclose(samples.t, np.arange(500) / 100, atol=1e-6)
    np.testing.assert_allclose(samples.current_ma, 2.0 + np.arange(500) / 1000, rtol=1e-6)
    assert np.isnan(samples.impedance_kohm[:5]).all() and (samples.impedance_kohm[5:] == 6.0).all()
    assert (samples.flags == 3).all()
    (event,) = load_events(db, sid)
    assert event.alarm and event.t == pytest.approx(4.2) and event.evidence == {"voltage_v": 89.9}
    assert verify_audit(db).ok


def test_a_closed_session_is_never_overwritten(db):
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    finish_session(db, sid, state="complete", reason="Dose reached", dose_delivered_ma_min=40, who="dana")
    with pytest.raises(InvalidRecord, match="already closed"):
        finish_session(db, sid, state="stopped", reason="x", dose_delivered_ma_min=1, who="dana")
    with pytest.raises(InvalidRecord, match="Final state"):
        finish_session(db, sid, state="bogus", reason="", dose_delivered_ma_min=0, who="dana")
    amend_session(db, sid, "diagnosis_code", "M76.61", who="dana", why="wrong side entered")
    amend_session(db, sid, "diagnosis_code", "M76.62", who="ravi", why="second correction")
    summary = load_session(db, sid)
    assert summary.diagnosis_code == "M76.62"
    assert [a.value for a in summary.amendments] == ["M76.61", "M76.62"]
    with pytest.raises(InvalidRecord):
        amend_session(db, sid, "operator", "someone", who="dana", why="not allowed")
    history = audit_history(db, "session", sid)
    assert [h["action"] for h in history] == ["start", "close", "amend", "amend"]
    assert history[-1]["before"] == {"diagnosis_code": "M76.61"}


def test_notes_amend_by_appending_and_signatures_append(db):
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    with pytest.raises(InvalidRecord, match="running"):
        sign_session(db, sid, username=account(db, "dana", "Dana Miller"), meaning="performed")
    finish_session(db, sid, state="stopped", reason="Dizziness", dose_delivered_ma_min=10, who="dana")
    first = add_note(db, sid, "Patient dizzy at 9 min.", author="dana")
    with pytest.raises(InvalidRecord, match="reason"):
        add_note(db, sid, "x", author="dana", amends=first)
    add_note(db, sid, "Patient dizzy at 9 min; fine after 5 min rest.", author="dana", amends=first,
             why="added follow-up")
    sign_session(db, sid, username=account(db, "dana", "Dana Miller"), meaning="performed the treatment")
    sign_session(db, sid, username=account(db, "ravi", "Dr. Ravi"), meaning="reviewed")
    summary = load_session(db, sid)
    assert [n.text for n in summary.notes] == ["Patient dizzy at 9 min.",
                                               "Patient dizzy at 9 min; fine after 5 min rest."]
    assert [n.text for n in summary.current_notes] == ["Patient dizzy at 9 min; fine after 5 min rest."]
    assert [(g.name, g.meaning) for g in summary.signatures] == [("Dana Miller", "performed the treatment"),
                                                                ("Dr. Ravi", "reviewed")]


def test_recover_interrupted_closes_running_sessions_and_keeps_their_data(db):
    pid = new_patient(db)
    done = start_session(db, session_start(pid, started_at=T0))
    finish_session(db, done, state="complete", reason="ok", dose_delivered_ma_min=40, who="dana")
    crashed = start_session(db, session_start(pid, started_at=T0 + dt.timedelta(days=2)))
    writer = SampleWriter(db, crashed)
    for i in range(300):
        writer.add(i / 10, 3.0, 18.0, 6.0, 3.0, 1)
    writer.close()
    assert recover_interrupted(db) == [crashed]
    assert recover_interrupted(db) == []
    summary = load_session(db, crashed)
    assert summary.state == "interrupted" and "crash" in summary.reason
    assert summary.ended_at == summary.started_at + dt.timedelta(seconds=29.9)
    assert summary.sample_count == 300 and len(load_samples(db, crashed)) == 300
    assert load_session(db, done).state == "complete"


def test_recovery_on_a_shared_database_leaves_other_stations_running_sessions_alone(db):
    pid = new_patient(db)
    ours = start_session(db, session_start(pid, started_at=T0))
    theirs = start_session(db, replace(session_start(pid, started_at=T0), station="station-2"))
    assert recover_interrupted(db, station="station-1") == [ours]
    assert load_session(db, theirs).state == "running"  # a live treatment at the other station


ON, ON_PULSED = 0x01, 0x21  # ICD TELEMETRY flags: bit0 output enabled, bit5 pulsed mode


@pytest.mark.parametrize(("protocol", "duty", "flags"), [
    (DEXA, 1.0, ON),
    ("tap-water-hands-pulsed", None, ON_PULSED),
    # a pulsed plan on a board that reported DC (SET_WAVEFORM lost, power-on defaults): full amplitude,
    # as the engine counted it (the duty here hid part of the charge from the record)
    ("tap-water-hands-pulsed", 1.0, ON),
])
def test_a_recovered_session_keeps_the_dose_its_saved_samples_show(db, protocol, duty, flags):
    """The console that integrated the dose died with it: recovery takes the measured charge from
    the saved samples (x duty for samples the board reported pulsed), and a gap in them is not
    counted as charge."""
    duty = duty or load_protocol(protocol)["waveform"]["duty_pct"] / 100
    sid = start_session(db, session_start(new_patient(db), protocol, started_at=T0))
    writer = SampleWriter(db, sid)
    for i in range(601):  # 60 s at 2 mA, 10 Hz
        writer.add(i / 10, 2.0, 12.0, 6.0, 2.0, flags)
    for i in range(1, 11):  # a 100 s hole in the saved series, then 1 s more
        writer.add(160.0 + i / 10, 2.0, 12.0, 6.0, 2.0, flags)
    writer.close()
    assert recover_interrupted(db) == [sid]
    summary = load_session(db, sid)
    expected = 2.0 * duty * (60.0 + 0.2 + 0.9) / 60  # the 100.1 s step counts for 0.2 s (the engine's limit)
    assert summary.dose_delivered_ma_min == pytest.approx(expected, rel=1e-4)
    assert verify_audit(db).ok


def test_search_filters(db):
    ann, bob = new_patient(db, "P-0001", "Ann Example"), new_patient(db, "H-77", "Bob Sweat")
    s1 = start_session(db, session_start(ann, started_at=T0))
    record_side_effect(db, s1, kind="dizziness", who="dana")
    finish_session(db, s1, state="stopped", reason="Dizziness", dose_delivered_ma_min=12, who="dana")
    s2 = start_session(db, session_start(bob, TAP_WATER, started_at=T0 + dt.timedelta(days=3)))
    finish_session(db, s2, state="complete", reason="ok", dose_delivered_ma_min=300, who="dana")
    s3 = start_session(db, session_start(ann, started_at=T0 + dt.timedelta(days=10)))
    finish_session(db, s3, state="complete", reason="ok", dose_delivered_ma_min=40, who="dana")

    def ids(**filters):
        return [row.id for row in search_sessions(db, **filters)]

    assert ids() == [s3, s2, s1]
    assert ids(patient="ann") == [s3, s1]
    assert ids(patient="h-7") == [s2]
    assert ids(patient="100%_") == []
    assert ids(date_from=dt.date(2026, 5, 5), date_to=dt.date(2026, 5, 7)) == [s2]
    assert ids(date_to=T0.date()) == [s1]
    assert ids(protocol="tap water") == [s2]
    assert ids(protocol=DEXA) == [s3, s1]
    assert ids(outcome="stopped") == [s1]
    assert ids(outcome=["stopped", "complete"], patient="Ann") == [s3, s1]
    assert ids(side_effect="dizziness") == [s1]
    assert search_sessions(db, side_effect="dizziness")[0].side_effects == ("dizziness",)
    assert [p.identifier for p in find_patients(db, "sweat")] == ["H-77"]


def test_patient_rules_and_corrections(db):
    pid = new_patient(db)
    with pytest.raises(InvalidRecord, match="already exists"):
        new_patient(db)
    update_patient(db, pid, who="dana", why="typo", name="Anne Example")
    (before, after) = [h for h in audit_history(db, "patient", pid)][-1:][0]["before"], \
        audit_history(db, "patient", pid)[-1]["after"]
    assert (before["name"], after["name"]) == ("Ann Example", "Anne Example")
    with pytest.raises(InvalidRecord):
        update_patient(db, pid, who="dana", why="x", identifier="other")
    with pytest.raises(RecordNotFound):
        record_event(db, 999, kind="x", message="y")
    with pytest.raises(RecordNotFound):
        start_session(db, session_start(999))


def test_add_block_and_single_samples_keep_their_order(db):
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    writer = SampleWriter(db, sid).start()
    writer.add(0.0, 1.0, 1.0, 1.0, 1.0, 0)
    writer.add_block(SampleSeries.from_rows([(0.001 * i, 2.0, 2.0, None, 2.0, 1) for i in range(1, 2500)]))
    writer.add(2.5, 3.0, 3.0, 3.0, 3.0, 2)
    assert writer.close().samples_written == 2501
    series = load_samples(db, sid)
    assert len(series) == 2501 and np.all(np.diff(series.t) > 0)
    assert series.current_ma[0] == 1.0 and series.current_ma[-1] == 3.0
