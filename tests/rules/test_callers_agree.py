"""Each domain rule has one home in core/; here every caller of a rule is asked the same question.

One test per rule: the checklist, the course view and the billing report agree on what is a
corticosteroid; the desk and the connection panel agree on a lapsed calibration; the engine
and a recovered record agree on a dose; the live values, both histories and the engine's
sample agree on an impedance; the station and the treatment converter agree on units; the
station, the interlocks and the driver agree on fault names; the PDF report draws the markers
the rule gives.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_console.control.patient_history import patient_history
from ionto_console.control.samples import SampleConverter
from ionto_console.control.station import LiveValues, Station
from ionto_console.control.telemetry_buffer import TelemetryBuffer
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.corticosteroids import is_corticosteroid
from ionto_console.core.dose import DoseIntegrator, waveform_duty
from ionto_console.core.engine import TreatmentEngine
from ionto_console.core.interlocks import InterlockLimits, Interlocks
from ionto_console.core.markers import plot_markers
from ionto_console.core.prechecks import QuestionKind
from ionto_console.core.protocols import Protocol, ProtocolError, load_library
from ionto_console.core.samples import BoardFault, Sample
from ionto_console.control.session_recorder import sample_flags
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import LinkState, TelemetryEvent
from ionto_console.records import (Calibration, PatientData, SessionStart, create_patient, open_database,
                                   record_event, record_side_effect, start_session)
from ionto_console.records.billing import Coverage, assess_coverage
from ionto_console.records.course import course_sessions
from ionto_console.records.report import report_data
from ionto_console.records.samples import SampleSeries
from ionto_console.records.store import dose_from_samples
from ionto_console.ui.connection_panel import calibration_text
from ionto_console.ui.session_setup import SessionSetup

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'records.sqlite3'}")
    yield database
    database.close()


def _dexamethasone() -> dict[str, Any]:
    path = resources.files("ionto_console.resources").joinpath("protocols", "dexamethasone-4mgml-40.json")
    return json.loads(path.read_text("utf-8"))


def protocol_with(solution: str, polarity: str = "cathode") -> Protocol:
    """A protocol for ``solution`` whose author left the corticosteroid flag off if validation lets them."""
    data = _dexamethasone()
    data.update(id="agent-under-test", name=f"{solution} protocol", polarity=polarity, corticosteroid=False)
    data["agent"] = {**data["agent"], "solution": solution}
    try:
        return Protocol.from_json(json.dumps(data))
    except ProtocolError as exc:
        assert [field for field, _ in exc.problems] == ["corticosteroid"], exc
        return Protocol.from_json(json.dumps({**data, "corticosteroid": True}))


# --- corticosteroids: checklist, course view, billing report ------------------------------------------------

@pytest.mark.parametrize(("solution", "polarity", "expected"), [
    ("dexamethasone sodium phosphate", "cathode", True),
    ("prednisolone", "cathode", True),  # 5 names in records, 3 in core: the copies disagreed here
    ("triamcinolone acetonide", "cathode", True),
    ("betamethasone sodium phosphate", "cathode", True),
    ("methylprednisolone", "cathode", True),
    ("lidocaine hydrochloride", "anode", False),
    ("acetic acid", "cathode", False),
])
def test_corticosteroid_the_same_on_the_checklist_in_the_course_view_and_in_the_report(
        qtbot, db, solution, polarity, expected):
    protocol = protocol_with(solution, polarity)
    stored = protocol.model_dump(mode="json")
    assert is_corticosteroid(protocol) is expected

    # the course view (and the checklist's history line): yesterday's session, today's plan
    pid = create_patient(db, PatientData("P-7", "Ann Example", dt.date(1980, 5, 17), ""), who="dana")
    sid = start_session(db, SessionStart(patient_id=pid, protocol=stored, operator="dana", station="station-1",
                                         board_serial="IONTO1-000042",
                                         calibration=Calibration(1.0, 0.0, T0 - dt.timedelta(days=30)),
                                         checklist={}, started_at=T0 - dt.timedelta(days=1),
                                         diagnosis_code="M76.60"))
    assert [s.corticosteroid for s in course_sessions(db, pid)] == [expected]
    history = patient_history(db, "P-7", protocol, T0)
    assert (history.last_corticosteroid is not None) is expected
    # the planned session's day rule is the checklist's (core.corticosteroids), said once, not a reminder too
    assert not any("Corticosteroid on consecutive days" in r for r in history.reminders)

    # the checklist, fed by that history: its caution questions are the corticosteroid ones
    setup = SessionSetup([protocol], history=lambda who, chosen, reply: reply(patient_history(db, who, chosen, T0)))
    qtbot.addWidget(setup)
    setup.patient_id.setText("P-7")
    setup.look_up_patient()
    dialog = setup.make_checklist()
    qtbot.addWidget(dialog)
    assert any(q.kind is QuestionKind.CAUTION for q in dialog.questions) is expected

    # the billing note and the PDF report's coverage line (an inflammatory M-chapter diagnosis)
    steroid_note = Coverage.NOT_MEDICALLY_NECESSARY
    assert (assess_coverage("M76.60", {}, stored).status is steroid_note) is expected
    assert (report_data(db, sid)["coverage"]["status"] == steroid_note.value) is expected


def test_an_old_record_naming_a_corticosteroid_without_the_flag_still_counts_everywhere(db):
    """A protocol copy stored before the rule knew prednisolone: the records judge it by today's rule."""
    stored = protocol_with("prednisolone").model_dump(mode="json")
    stored["corticosteroid"] = False
    pid = create_patient(db, PatientData("P-8", "Old Record", dt.date(1970, 1, 1), ""), who="dana")
    start_session(db, SessionStart(patient_id=pid, protocol=stored, operator="dana", station="station-1",
                                   board_serial="IONTO1-000042", calibration=Calibration(1.0, 0.0, T0),
                                   checklist={}, started_at=T0))
    assert [s.corticosteroid for s in course_sessions(db, pid)] == [True]
    assert assess_coverage("M76.60", {}, stored).status is Coverage.NOT_MEDICALLY_NECESSARY


# --- calibration lapse: the desk's blocker and the connection panel ---------------------------------------

CAL_DAY = dt.date(2026, 3, 1)
CAL_UNIX = int(dt.datetime(2026, 3, 1, 14, 30, tzinfo=UTC).timestamp())


@dataclass
class _Link:
    ident: m.Ident
    state: LinkState = LinkState.CONNECTED


@dataclass
class _Snapshot:
    live: None = None


@dataclass
class _Station:
    link: _Link
    lent: bool = False
    board_simulated: bool = False  # a real board on a clinical station

    def snapshot(self) -> _Snapshot:
        return _Snapshot()


def _ident(cal_date: int) -> m.Ident:
    return m.Ident(1, 1, 0, 0, "IONTO1-000042", 25_000, 90_000, 1.0, 0.0, cal_date)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days_ago=st.integers(-5, 1200), interval=st.integers(1, 730), never=st.booleans())
def test_a_board_calibrated_n_days_ago_is_lapsed_or_valid_on_the_desk_and_the_panel_alike(days_ago, interval, never):
    today = CAL_DAY + dt.timedelta(days=days_ago)
    cal = 0 if never else CAL_UNIX
    desk = TreatmentDesk(_Station(_Link(_ident(cal))), calibration_interval_days=interval,  # type: ignore[arg-type]
                         today=lambda: today)
    blocked = [b for b in desk.blockers() if "calibrat" in b]
    text, ok = calibration_text(cal, interval, today)
    allowed = min(interval, 365)  # issue 13: an interval shortens the standard 365 days, never lengthens them
    assert bool(blocked) is (not ok) is (never or days_ago > allowed)
    if blocked and not never:
        due = (CAL_DAY + dt.timedelta(days=allowed)).isoformat()
        assert due in blocked[0] and due in text


# --- the dose: the engine's integral and a recovered record -----------------------------------------------

f32 = st.floats(-25, 25, allow_nan=False, width=32)


@settings(max_examples=100, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.0, 0.5, allow_nan=False), f32, st.booleans()), min_size=0, max_size=80),
       pulsed=st.booleans())
def test_the_engine_and_a_recovered_record_count_the_same_dose(steps, pulsed):
    """Per sample, as the board reported it (pulsed flag set or not) and as the recorder stored it."""
    protocol = next(p for p in load_library() if p.pulsed is pulsed)
    engine = TreatmentEngine(protocol)
    stored = protocol.model_dump(mode="json")
    assert engine.dose.duty == waveform_duty(stored["waveform"]) == protocol.duty
    t = np.cumsum([0.0, *(s for s, _, _ in steps)])
    current = [0.0, *(i for _, i, _ in steps)]
    board_pulsed = [pulsed, *(p for _, _, p in steps)]
    integrator = DoseIntegrator(1.0, duty=engine.dose.duty, max_step_s=0.2)
    rows = []
    for ti, ci, pi in zip(t, current, board_pulsed):
        sample = Sample(t=float(ti), current_ma=ci, voltage_v=0.0, target_ma=0.0, output_on=True, pulsed=pi)
        integrator.add(sample.t, sample.current_ma, sample.pulsed)  # as the engine adds a sample
        rows.append((ti, ci, 0.0, None, 0.0, sample_flags(sample)))  # as the recorder stores it
    series = SampleSeries.from_rows(rows)
    assert dose_from_samples(series, waveform_duty(stored["waveform"]), 0.2) == integrator.delivered_ma_min


# --- impedance: live values, histories, the engine's sample ------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(current=f32, voltage=st.floats(-90, 90, allow_nan=False, width=32), on=st.booleans())
def test_every_impedance_shown_or_recorded_is_the_same(current, voltage, on):
    sample = Sample(t=0.0, current_ma=current, voltage_v=voltage, target_ma=0.0, output_on=on)
    flags = m.Flags.OUTPUT_ENABLED if on else m.Flags(0)
    live = LiveValues(current, voltage, 0.0, flags, 0)
    one, many = TelemetryBuffer(), TelemetryBuffer()
    one.append(0.0, current, voltage, 0.0, on)
    many.extend(np.array([0.0]), np.array([current]), np.array([voltage]), np.array([0.0]), np.array([on]))
    expected = sample.impedance_kohm
    assert live.impedance_kohm == expected
    for buffer in (one, many):
        z = float(buffer.view().impedance_kohm[-1])
        assert (np.isnan(z) if expected is None else z == pytest.approx(expected, rel=1e-6))  # the history keeps float32
    if not on:
        assert expected is None  # the board's zero offset is not a load


# --- wire to units: the board monitor and the treatment controller ------------------------------------------

@given(current=st.integers(-30_000, 30_000), voltage=st.integers(-100_000, 100_000), target=st.integers(0, 25_000))
def test_the_station_and_the_treatment_converter_read_a_frame_in_the_same_units(current, voltage, target):
    msg = m.Telemetry(1_000, 1, current, voltage, target, int(m.Flags.OUTPUT_ENABLED), 0)
    event = TelemetryEvent(msg, host_time=5.0, lost_before=0)
    sample = SampleConverter().convert(event)
    station = Station()
    station._on_telemetry(event)  # the link's reader thread calls it; no port needed to read one frame
    view = station.buffer.view()
    assert (view.current_ma[-1], view.voltage_v[-1], view.target_ma[-1]) == (
        sample.current_ma, sample.voltage_v, sample.target_ma)


# --- fault names: the driver, the station and the interlocks -------------------------------------------------

@pytest.mark.parametrize("fault", [f for f in BoardFault if f is not BoardFault.NONE])
def test_a_fault_code_has_one_name_on_the_wire_the_monitor_and_the_interlock(fault):
    wire = m.Fault.from_payload(m.Fault(m.FaultCode(fault.value), 0, 0).payload())
    assert m.FaultCode(wire.code) is fault
    station = Station()
    station._on_fault(wire, 0.0)
    assert BoardFault.describe(fault) in station._shared.last_fault
    limits = InterlockLimits.from_protocol(load_library()[0])
    trips = Interlocks(limits).check(Sample(t=0.0, current_ma=0.0, voltage_v=0.0, target_ma=0.0, output_on=False,
                                            fault_code=fault.value))
    assert [t.evidence["fault"] for t in trips if "fault" in t.evidence] == [BoardFault.describe(fault)]


# --- plot markers: the PDF report draws the rule's markers ---------------------------------------------------

def test_the_report_draws_the_markers_the_rule_gives(db, tmp_path, monkeypatch):
    from ionto_console.reports import treatment_report

    pid = create_patient(db, PatientData("P-9", "Marked", dt.date(1990, 1, 1), ""), who="dana")
    sid = start_session(db, SessionStart(patient_id=pid, protocol=_dexamethasone(), operator="dana",
                                         station="station-1", board_serial="IONTO1-000042",
                                         calibration=Calibration(1.0, 0.0, T0), checklist={}, started_at=T0))
    record_side_effect(db, sid, kind="skin_redness", who="dana", at=T0 + dt.timedelta(seconds=60))
    record_event(db, sid, kind="trip:open_circuit", message="Open circuit", t=30.0, alarm=True,
                 at=T0 + dt.timedelta(seconds=31))
    drawn: list[Any] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        drawn.extend(plot_markers(*args, **kwargs))
        return plot_markers(*args, **kwargs)

    monkeypatch.setattr(treatment_report, "plot_markers", spy)
    treatment_report.write_treatment_report(db, sid, tmp_path / "report.pdf")
    assert [(mk.t_s, mk.label) for mk in drawn] == [(30.0, "open circuit"), (60.0, "skin redness")]
