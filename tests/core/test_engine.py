"""Treatment engine: full treatments in fake time, stops, trips, and command-stream invariants."""

import pytest

from engine_helpers import DEX_40, TAP_HANDS, FakeBoard, Run, make_protocol, sample, skin_kohm, tray_kohm
from ionto_console.core.engine import (
    Configure,
    CutOutput,
    DoseFinal,
    DoseReached,
    EnableOutput,
    PolarityReversed,
    ProgramStepStarted,
    RampStop,
    SetPolarity,
    SetTarget,
    StateChanged,
    StopRecorded,
    TreatmentEngine,
    TherapistAction,
    TripRecorded,
)
from ionto_console.core.interlocks import TripAction, TripKind
from ionto_console.core.protocols import load_library
from ionto_console.core.session import EMERGENCY, IllegalTransition, SessionState, SideEffect

S = SessionState


def therapist_raises_to_max(run: Run, every_s: float = 15.0, limit_s: float = 3600.0) -> None:
    """Press + every ``every_s`` while treating below the maximum, until the session ends.

    Like a therapist watching the readouts, it does not press + when one more step would
    need more than 80 V across the skin (the board would hit its 90 V compliance).
    """
    engine = run.engine
    while not engine.state.terminal and run.t < limit_s:
        snap = engine.snapshot()
        headroom = snap.impedance_kohm is None or (
            (engine.ramp.target + engine.protocol.step_ma) * snap.impedance_kohm < 80.0)
        if engine.state is S.TREATING and engine.ramp.target < engine.protocol.max_current_ma and headroom:
            run.intent("step_up")
        run.advance(every_s, until=lambda: engine.state.terminal)


def started(protocol=None, load=skin_kohm, rate_hz=100.0) -> Run:
    protocol = protocol or make_protocol()
    run = Run(TreatmentEngine(protocol), FakeBoard(load_kohm=load), rate_hz=rate_hz)
    run.advance(0.2)
    run.intent("start")
    return run


def test_prepare_and_start_put_the_board_in_a_known_state():
    engine = TreatmentEngine(make_protocol())
    prep = engine.prepare(0.0)
    assert prep[0] == CutOutput() and isinstance(prep[1], Configure)
    assert prep[1].max_ua == 4000 and prep[1].slew_ua_s == 100 and prep[1].watchdog_ms == 250
    assert prep[2:] == [SetPolarity(anode=False), SetTarget(0)]
    assert engine.state is S.PRECHECKS
    assert engine.start(0.5) == [EnableOutput()]
    assert engine.state is S.RAMPING_UP
    pulsed = TreatmentEngine(make_protocol(TAP_HANDS, waveform={"mode": "pulsed_dc", "frequency_hz": 5000,
                                                                "duty_pct": 50}))
    cfg = pulsed.start(0.0)[1]
    assert cfg.pulsed and cfg.frequency_hz == 5000 and cfg.duty_pct == 50 and cfg.max_ua == 20000


def test_start_value_is_reached_by_a_slew_then_treating():
    run = started()
    run.advance(3.0)
    assert run.engine.state is S.RAMPING_UP
    assert 0.25 <= run.board.target <= 0.35
    run.advance(3.0)
    assert run.engine.state is S.TREATING and run.board.target == pytest.approx(0.5)


def test_full_dexamethasone_treatment_reaches_dose_and_completes():
    run = started()
    therapist_raises_to_max(run)
    engine = run.engine
    assert engine.state is S.COMPLETE
    delivered = engine.dose.delivered_ma_min
    assert 39.8 <= delivered <= 40.0 <= engine.protocol.dose_cap_ma_min
    events = engine.drain_events()
    reached = [e for e in events if isinstance(e, DoseReached)]
    assert len(reached) == 1 and reached[0].projected_ma_min <= 40.0
    assert [e.transition.target for e in events if isinstance(e, StateChanged)] == [
        S.PRECHECKS, S.RAMPING_UP, S.TREATING, S.RAMPING_DOWN, S.COMPLETE]
    assert isinstance(run.log[-1][1], CutOutput) and not run.board.enabled
    assert run.commands(RampStop)[-1][1].ms == 3000
    snap = engine.snapshot()
    assert snap.state is S.COMPLETE and snap.remaining_s is None
    assert 10 * 60 < snap.elapsed_s < 15 * 60  # 40 mA·min, mostly at 4 mA


@pytest.mark.parametrize("waveform, dose", [({"mode": "dc"}, 400.0),
                                            ({"mode": "pulsed_dc", "frequency_hz": 5000, "duty_pct": 50}, 200.0)])
def test_tap_water_reverses_polarity_once_at_half_dose_with_output_off(waveform, dose):
    protocol = make_protocol(TAP_HANDS, waveform=waveform, dose_target_ma_min=dose)
    run = started(protocol, load=tray_kohm, rate_hz=50.0)
    therapist_raises_to_max(run, every_s=10.0)
    engine = run.engine
    assert engine.state is S.COMPLETE
    assert dose * 0.995 <= engine.dose.delivered_ma_min <= dose
    assert run.board.polarity_log[0][1] is True and [a for _, a in run.board.polarity_log] == [True, False]
    reversal_t = run.board.polarity_log[1][0]
    before = [c for t, c in run.log if t <= reversal_t]
    assert isinstance(before[before.index(SetPolarity(False)) - 1], CutOutput)
    assert any(isinstance(e, PolarityReversed) for e in engine.drain_events())
    assert 18 * 60 < run.t < 24 * 60  # about 20 minutes at up to 20 mA


def test_side_effect_stop_ramps_quickly_then_cuts_and_records():
    run = started()
    run.advance(60.0)
    run.intent("step_up")
    run.advance(10.0)
    run.send(run.engine.stop(SideEffect.DIZZINESS, "", run.t))
    assert run.engine.state is S.STOPPED
    assert run.log[-1][1] == RampStop(250)
    run.advance(0.5)
    assert run.commands(CutOutput)[-1][0] > run.commands(RampStop)[-1][0]
    assert not run.board.enabled and run.board.output == 0.0
    stop = [e for e in run.engine.drain_events() if isinstance(e, StopRecorded)][0]
    assert stop.reason.cause is SideEffect.DIZZINESS and stop.current_ma > 0
    assert run.engine.snapshot().stop_reason.label == "Dizziness"
    with pytest.raises(IllegalTransition):
        run.engine.step_up(run.t)


def test_emergency_stop_cuts_at_once_and_stop_is_never_refused():
    run = started()
    run.advance(10.0)
    assert run.engine.stop(EMERGENCY, "", run.t) == [CutOutput()]
    assert run.engine.state is S.STOPPED
    assert run.engine.stop(EMERGENCY, "", run.t) == [CutOutput()]  # again: harmless
    assert TreatmentEngine(make_protocol()).stop(SideEffect.NAUSEA, "", 0.0) == [CutOutput()]


def test_end_early_ramps_down_and_ends_stopped():
    run = started()
    run.advance(30.0)
    run.intent("end_early")
    assert run.engine.state is S.RAMPING_DOWN and run.log[-1][1] == RampStop(3000)
    run.advance(4.0)
    assert run.engine.state is S.STOPPED
    assert run.engine.session.stop_reason.label == "Ended early by the therapist"


def test_pause_ramps_to_zero_and_resume_returns_to_the_level():
    run = started()
    run.advance(10.0)
    run.intent("step_up")
    run.advance(10.0)
    assert run.board.target == pytest.approx(1.0)
    run.intent("pause")
    run.advance(15.0)
    assert run.engine.state is S.PAUSED and run.board.target == 0.0 and run.board.enabled
    run.intent("resume")
    assert run.engine.state is S.RAMPING_UP
    run.advance(15.0)
    assert run.engine.state is S.TREATING and run.board.target == pytest.approx(1.0)


def test_open_circuit_cuts_within_its_window_and_faults():
    lifted = {"t": None}

    def load(t):
        return float("inf") if lifted["t"] is not None and t >= lifted["t"] else skin_kohm(t)

    run = started(load=load)
    run.advance(20.0)
    lifted["t"] = run.t + 0.001
    n_before = len(run.log)
    window = run.engine.interlocks.limits.open_circuit_window_s
    run.advance(window - 0.015)  # samples at 100 Hz: the evidence has not held for the window yet
    assert run.engine.state is S.TREATING
    run.advance(0.03)  # the first sample at least the window after the lift
    assert run.engine.state is S.FAULTED
    assert CutOutput() in [c for _, c in run.log[n_before:]]
    snap = run.engine.snapshot()
    assert snap.active_trip.kind is TripKind.OPEN_CIRCUIT and snap.active_trip.action is TripAction.CUT
    assert "Open circuit" in snap.active_trip.message
    assert any(isinstance(e, TripRecorded) for e in run.engine.drain_events())


def test_lost_telemetry_trips_on_tick():
    run = started()
    run.advance(5.0)
    assert CutOutput() not in run.engine.on_tick(run.t + 0.1)
    assert run.engine.state is S.TREATING
    assert run.engine.on_tick(run.t + 0.3) == [CutOutput()]
    assert run.engine.snapshot().active_trip.kind is TripKind.LOST_TELEMETRY
    assert run.engine.state is S.FAULTED


@pytest.mark.parametrize("leap_s", [5.0, 4294.967296 - 20.0])
def test_a_leap_of_the_board_clock_cuts_and_adds_no_charge(leap_s):
    """Consecutive samples (by the counter) whose time stamps leap ahead: a 5 s jump, or the
    u32 µs clock wrapping early (unwrapped as ~71 min). No charge that never flowed is counted."""
    run = started()
    run.advance(20.0)
    before = run.engine.snapshot()
    assert before.state is S.TREATING and before.current_ma > 0.4
    n_before = len(run.log)
    run.t = round(run.t + leap_s, 9)
    run.advance(0.01)  # the first sample after the leap
    snap = run.engine.snapshot()
    assert snap.state is S.FAULTED and snap.active_trip.kind is TripKind.BOARD_CLOCK
    assert "clock jumped" in snap.active_trip.message
    assert CutOutput() in [c for _, c in run.log[n_before:]]
    # at most one lost-telemetry window (0.2 s) of charge for the step, not leap_s of it
    assert snap.dose_delivered_ma_min - before.dose_delivered_ma_min <= before.current_ma * 0.21 / 60
    assert run.engine.dose.gap_s >= leap_s - 0.2
    # the session is dated by the last trustworthy sample: the leap is not in its elapsed time
    assert snap.elapsed_s <= before.elapsed_s + 0.02


def test_board_still_on_after_the_end_is_cut_again():
    run = started()
    run.advance(5.0)
    run.send(run.engine.stop(EMERGENCY, "", run.t))
    assert run.engine.on_sample(sample(run.t + 0.01, 0.5)) == [CutOutput()]


def test_illegal_intents_raise_and_change_nothing():
    engine = TreatmentEngine(make_protocol())
    with pytest.raises(IllegalTransition):
        engine.step_up(0.0)
    with pytest.raises(IllegalTransition):
        engine.resume(0.0)
    assert engine.state is S.IDLE


def test_program_steps_by_dose_share():
    protocol = make_protocol(DEX_40, ramp_rate_ma_s=0.5,
                             program=[{"current_ma": 2.0, "dose_share": 0.5}, {"current_ma": 4.0, "dose_share": 0.5}])
    run = started(protocol)
    run.advance(30 * 60, until=lambda: run.engine.state.terminal)
    assert run.engine.state is S.COMPLETE
    steps = [e for e in run.engine.drain_events() if isinstance(e, ProgramStepStarted)]
    assert [(s.index, s.current_ma) for s in steps] == [(0, 2.0), (1, 4.0)]


def test_snapshot_shows_live_figures():
    run = started()
    run.advance(60.0)
    snap = run.engine.snapshot()
    assert snap.state is S.TREATING and snap.current_ma == pytest.approx(0.5)
    assert snap.impedance_kohm == pytest.approx(skin_kohm(run.t), rel=1e-6)
    assert snap.remaining_s == pytest.approx((40 - snap.dose_delivered_ma_min) / 0.5 * 60)
    assert snap.elapsed_s == pytest.approx(60.0, abs=0.05)


@pytest.mark.parametrize("protocol", load_library(), ids=lambda p: p.id)
def test_every_library_protocol_runs_to_completion(protocol):
    load = tray_kohm if protocol.agent.kind.value == "tap_water" else skin_kohm
    run = started(protocol, load=load, rate_hz=20.0)
    therapist_raises_to_max(run, every_s=10.0)
    assert run.engine.state is S.COMPLETE, run.engine.snapshot()
    assert run.engine.dose.delivered_ma_min <= protocol.dose_target_ma_min <= protocol.dose_cap_ma_min


def test_prechecks_ignore_gaps_but_not_board_faults():
    engine = TreatmentEngine(make_protocol())
    engine.prepare(0.0)
    assert engine.on_sample(sample(0.1, 0.0, on=False)) == []
    assert engine.on_sample(sample(30.0, 0.0, on=False)) == []  # the checklist took a while
    assert engine.state is S.PRECHECKS
    assert engine.on_sample(sample(30.01, 0.0, on=False, fault_code=5)) == [CutOutput()]
    assert engine.state is S.FAULTED and "self test" in engine.snapshot().active_trip.message


def test_ramp_is_locked_once_the_ramp_down_begins():
    run = started()
    run.advance(10.0)
    run.intent("end_early")
    assert run.engine.ramp.locked
    with pytest.raises(IllegalTransition):
        run.engine.step_up(run.t)


def test_a_session_stopped_before_it_started_announces_its_dose_final_at_once():
    engine = TreatmentEngine(make_protocol())
    engine.prepare(0.0)
    engine.drain_events()
    engine.stop(SideEffect.NAUSEA, "", 1.0)
    events = engine.drain_events()
    assert events[-1] == DoseFinal(1.0, 0.0) and sum(isinstance(ev, DoseFinal) for ev in events) == 1
    assert engine.dose_final
    engine.stop(EMERGENCY, "", 2.0)  # pressing stop again announces nothing new
    assert not any(isinstance(ev, DoseFinal) for ev in engine.drain_events())


def test_a_press_that_changes_nothing_adds_no_event_and_so_no_marker():
    """+ at the maximum and − at zero change nothing: no TherapistAction (each is a plot marker and
    a record line), while every press that moves the goal still records its new level."""
    protocol = make_protocol(TAP_HANDS)  # 2 mA start, 2 mA steps, 20 mA maximum
    run = started(protocol, load=tray_kohm, rate_hz=20.0)
    run.advance(10.0)
    run.engine.drain_events()
    for _ in range(12):  # 9 presses reach 20 mA; 3 more at the maximum
        run.intent("step_up")
    levels = [e.level_ma for e in run.engine.drain_events() if isinstance(e, TherapistAction)]
    assert levels == [4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0]
    assert run.engine.snapshot().goal_ma == 20.0
    for _ in range(12):  # down to zero, then 2 presses more
        run.intent("step_down")
    levels = [e.level_ma for e in run.engine.drain_events() if isinstance(e, TherapistAction)]
    assert levels == [18.0, 16.0, 14.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0, 0.0]
