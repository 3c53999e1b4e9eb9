"""SessionRecorder's times: a step of the computer's clock is recorded, and kept out of the session's times."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from ionto_console.control import session_recorder
from ionto_console.control.session_recorder import SessionRecorder
from ionto_console.control.treatment_desk import SessionPlan
from ionto_console.core import engine as e
from ionto_console.core.samples import Sample
from ionto_console.core.session import SessionEvent, SessionState, Transition
from ionto_console.drivers.board import messages as m
from ionto_console.records import load_events, load_samples, load_session, open_database, sqlite_url, verify_audit
from ionto_console.records.audit import utc_now
from support import small_protocol

IDENT = m.Ident(1, 1, 0, 0, "IONTO1-000042", 25_000, 90_000, 1.0, 0.0, 1_700_000_000)
PLAN = SessionPlan(protocol=small_protocol(), patient_id="P-1", patient_name="Ann Example", site="forearm",
                   electrode="standard", checklist_passed=True, checklist_record={"overridden": []})


@pytest.fixture
def db(tmp_path):
    database = open_database(sqlite_url(tmp_path / "records.sqlite3"))
    yield database
    database.close()


def test_clock_steps_are_recorded_as_events_and_the_session_lasts_its_monotonic_time(db, monkeypatch):
    step = {"s": 0.0}
    monkeypatch.setattr(session_recorder, "utc_now", lambda: utc_now() + dt.timedelta(seconds=step["s"]))
    monkeypatch.setattr(session_recorder, "CLOCK_CHECK_S", 0.0)  # compare the clocks at every sample
    real_start = time.monotonic()
    recorder = SessionRecorder(db, PLAN, IDENT, operator="Dana", station="station-1")
    n = 0

    def samples(count: int) -> None:
        nonlocal n
        for _ in range(count):
            recorder.add_sample(Sample(t=50.0 + n * 0.005, current_ma=1.0, voltage_v=5.0, target_ma=1.0,
                                       output_on=True))
            n += 1

    samples(10)
    step["s"] = 0.3  # an NTP-sized correction: not a clock change worth a record
    samples(10)
    step["s"] += 3600.0
    samples(10)
    step["s"] -= 3 * 3600.0
    samples(10)
    end = 50.0 + n * 0.005
    recorder.add_events([e.StateChanged(end, Transition(end, SessionEvent.INTERRUPT, SessionState.TREATING,
                                                         SessionState.INTERRUPTED, "test ends here"))])
    assert recorder.finished.wait(10.0)
    real_s = time.monotonic() - real_start
    events = load_events(db, recorder.session_id)
    changes = [event.evidence["change_s"] for event in events if event.kind == "clock_changed"]
    assert changes == [pytest.approx(3600.0, abs=0.5), pytest.approx(-10800.0, abs=0.5)], changes
    messages = [event.message for event in events if event.kind == "clock_changed"]
    assert "+3600 s" in messages[0] and "-10800 s" in messages[1], messages
    summary = load_session(db, recorder.session_id)
    assert summary.state == "interrupted"
    assert summary.duration_s is not None and 0.0 <= summary.duration_s <= real_s, (summary.duration_s, real_s)
    ats = [event.at for event in events]
    assert ats == sorted(ats) and all(summary.started_at <= at <= summary.ended_at for at in ats)
    assert verify_audit(db).ok


def _ended(t: float) -> e.StateChanged:
    return e.StateChanged(t, Transition(t, SessionEvent.STOP, SessionState.TREATING, SessionState.STOPPED, "nausea"))


def test_the_record_closes_with_the_dose_the_engine_announced_final(db, monkeypatch):
    """The recorder is told the final dose by the engine's DoseFinal event (no polling of the
    controller); the dose source is only a fallback and is not read when the event came."""
    recorder = SessionRecorder(db, PLAN, IDENT, operator="Dana", station="station-1")
    recorder.dose_from(lambda: pytest.fail("the fallback was read although DoseFinal came"))
    for i in range(5):
        recorder.add_sample(Sample(t=10.0 + i * 0.005, current_ma=1.0, voltage_v=5.0, target_ma=1.0, output_on=True))
    recorder.add_events([_ended(10.03)])
    recorder.add_sample(Sample(t=10.035, current_ma=0.0, voltage_v=0.0, target_ma=0.0, output_on=False))
    recorder.add_events([e.DoseFinal(10.035, 0.125)])
    assert recorder.finished.wait(10.0)
    summary = load_session(db, recorder.session_id)
    assert summary.state == "stopped" and summary.dose_delivered_ma_min == 0.125
    assert not [ev for ev in load_events(db, recorder.session_id) if ev.kind == "event"]  # no row of its own
    assert len(load_samples(db, recorder.session_id).t) == 6  # the sample that made the dose final is kept


def test_without_dose_final_the_record_closes_with_the_dose_as_it_stands(db, monkeypatch):
    monkeypatch.setattr(session_recorder, "DOSE_SETTLE_TIMEOUT_S", 0.05)  # the link is gone: nothing comes
    recorder = SessionRecorder(db, PLAN, IDENT, operator="Dana", station="station-1")
    recorder.dose_from(lambda: 0.5)
    recorder.add_sample(Sample(t=10.0, current_ma=1.0, voltage_v=5.0, target_ma=1.0, output_on=True))
    recorder.add_events([_ended(10.01)])
    assert recorder.finished.wait(10.0)
    assert load_session(db, recorder.session_id).dose_delivered_ma_min == 0.5


@pytest.mark.parametrize("pulsed", [True, False])
def test_the_stored_flags_keep_the_boards_pulsed_flag(pulsed):
    """The engine counts a sample at ``amplitude x duty`` only when the board said it was pulsed;
    the record must keep that bit, or a dose recomputed from it (a recovered session) differs."""
    sample = Sample(t=1.0, current_ma=2.0, voltage_v=10.0, target_ma=2.0, output_on=True, pulsed=pulsed)
    assert bool(session_recorder.sample_flags(sample) & m.Flags.PULSED) is pulsed
