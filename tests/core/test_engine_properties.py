"""Hypothesis: whatever the therapist does, and whenever the load fails, the command stream stays safe.

Checked on every generated run:
- no SetTarget above the protocol maximum;
- no SetTarget rise faster than the protocol rate (plus one µA of quantisation);
- SetPolarity only while the output is disabled, and only the planned polarities in the planned order;
- once the session has ended (complete, stopped, faulted, interrupted), nothing raises the target or
  enables the output again.
"""

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine_helpers import DEX_40, TAP_HANDS, FakeBoard, Run, make_protocol
from ionto_console.core.engine import CutOutput, DoseFinal, EnableOutput, SetPolarity, SetTarget, TreatmentEngine
from ionto_console.core.session import EMERGENCY, IllegalTransition, SideEffect

# Short protocols so an example can reach the end, the reversal and the dose in seconds of fake time.
FAST_DRUG = make_protocol(DEX_40, ramp_rate_ma_s=1.0, step_ma=1.0, ramp_start_ma=1.0, dose_target_ma_min=0.5,
                          ramp_down_s=1.0)
FAST_TAP = make_protocol(TAP_HANDS, ramp_rate_ma_s=4.0, step_ma=4.0, ramp_start_ma=4.0, dose_target_ma_min=3.0,
                         ramp_down_s=1.0)
FAST_PULSED = make_protocol(TAP_HANDS, ramp_rate_ma_s=4.0, step_ma=4.0, ramp_start_ma=4.0, dose_target_ma_min=1.5,
                            ramp_down_s=0.5, polarity="cathode",
                            waveform={"mode": "pulsed_dc", "frequency_hz": 1000, "duty_pct": 30})

INTENTS = st.sampled_from(["step_up", "step_up", "step_up", "step_down", "pause", "resume", "end_early",
                           "side_effect", "emergency", "lift_electrode", "telemetry_gap", "wait"])


def check_stream(log, protocol, rate_hz) -> None:
    max_ua = round(protocol.max_current_ma * 1000)
    rate_ua_s = protocol.ramp_rate_ma_s * 1000
    enabled = False
    last_target = None
    planned = [protocol.polarity.anode]
    if protocol.polarity_reversal_halfway:
        planned.append(not protocol.polarity.anode)
    polarities = []
    for t, c in log:
        if isinstance(c, SetTarget):
            assert 0 <= c.ua <= max_ua
            if last_target is not None:
                t0, u0 = last_target
                assert c.ua - u0 <= rate_ua_s * (t - t0) + 1, (t0, u0, t, c.ua)
            last_target = (t, c.ua)
        elif isinstance(c, EnableOutput):
            enabled = True
        elif isinstance(c, CutOutput):
            enabled = False
        elif isinstance(c, SetPolarity):
            assert not enabled, f"SetPolarity at {t} with the output enabled"
            if not polarities or polarities[-1] != c.anode:
                polarities.append(c.anode)
    assert polarities == planned[: len(polarities)], (polarities, planned)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from([FAST_DRUG, FAST_TAP, FAST_PULSED]),
    script=st.lists(st.tuples(INTENTS, st.floats(0.0, 8.0)), max_size=12),
    rate_hz=st.sampled_from([50.0, 100.0]),
    tick_hz=st.sampled_from([10.0, 20.0, 33.0]),
)
def test_command_stream_is_safe_whatever_happens(protocol, script, rate_hz, tick_hz):
    lifted = {"t": math.inf}
    ohms = 2.0 if protocol.agent.kind.value == "tap_water" else 5.0  # kΩ: below compliance at max current

    def load(t):
        return math.inf if t >= lifted["t"] else ohms

    run = Run(TreatmentEngine(protocol), FakeBoard(load_kohm=load), rate_hz=rate_hz, tick_hz=tick_hz)
    run.advance(0.1)
    run.intent("start")
    ended_at = None
    for intent, wait in script:
        try:
            if intent in ("step_up", "step_down", "pause", "resume", "end_early"):
                run.intent(intent)
            elif intent == "side_effect":
                run.send(run.engine.stop(SideEffect.BURNING_TINGLING, "", run.t))
            elif intent == "emergency":
                run.send(run.engine.stop(EMERGENCY, "", run.t))
            elif intent == "lift_electrode":
                lifted["t"] = min(lifted["t"], run.t + 0.001)
            elif intent == "telemetry_gap":
                gap_end = run.t + 0.35
                while run.t < gap_end:  # ticks keep coming, samples do not
                    run.t = round(run.t + 1.0 / tick_hz, 9)
                    run.send(run.engine.on_tick(run.t))
        except IllegalTransition:
            pass
        run.advance(wait)
        if run.engine.state.terminal and ended_at is None:
            ended_at = len(run.log)
    run.advance(120.0, until=lambda: run.engine.state.terminal and not run.board.enabled)
    event(f"ended {run.engine.state.value}")
    trip = run.engine.snapshot().active_trip
    if trip is not None:
        event(f"trip {trip.kind.value}")
        injected = {"lift_electrode": "open_circuit", "telemetry_gap": "lost_telemetry"}
        assert trip.kind.value in {injected[i] for i, _ in script if i in injected}, trip
    if len(run.board.polarity_log) > 1:
        event("polarity reversed")
    check_stream(run.log, protocol, rate_hz)
    end = next((i for i, (_, state) in enumerate(run.states) if state.terminal), None)
    if end is not None:
        t_end = run.states[end][0]
        after = [c for t, c in run.log if t > t_end]
        assert not any(isinstance(c, EnableOutput) for c in after)
        assert not any(isinstance(c, SetTarget) and c.ua > 0 for c in after)
        assert not run.board.enabled or run.board.stop is not None
    # Whatever happened, the dose never passed the electrode rating (or the target for trays).
    assert run.engine.dose.delivered_ma_min <= protocol.dose_cap_ma_min + 1e-9


ENDINGS = st.sampled_from(["side_effect", "emergency", "end_early", "lift_electrode", "dose"])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    protocol=st.sampled_from([FAST_DRUG, FAST_TAP, FAST_PULSED]),
    ending=ENDINGS,
    treat_s=st.floats(0.3, 6.0),
    left_on_screen_s=st.floats(1.0, 60.0),
    rate_hz=st.sampled_from([50.0, 200.0]),
    offset_ma=st.sampled_from([0.0, 0.018, 0.05]),
)
def test_an_ended_sessions_dose_stops_at_the_first_sample_with_the_output_off(
        protocol, ending, treat_s, left_on_screen_s, rate_hz, offset_ma):
    """The ramp-down after the end is counted; the board's zero offset afterwards never is."""
    lifted = {"t": math.inf}
    ohms = 2.0 if protocol.agent.kind.value == "tap_water" else 5.0

    def load(t):
        return math.inf if t >= lifted["t"] else ohms

    board = FakeBoard(load_kohm=load, zero_offset_ma=offset_ma)
    run = Run(TreatmentEngine(protocol), board, rate_hz=rate_hz, tick_hz=20.0)
    run.advance(0.1)
    run.intent("start")
    run.advance(treat_s, until=lambda: run.engine.state.terminal)
    if not run.engine.state.terminal:
        if ending == "side_effect":
            run.send(run.engine.stop(SideEffect.BURNING_TINGLING, "", run.t))
        elif ending == "emergency":
            run.send(run.engine.stop(EMERGENCY, "", run.t))
        elif ending == "end_early":
            run.intent("end_early")
        elif ending == "lift_electrode":
            lifted["t"] = run.t + 0.001
        # "dose": let the protocol reach its dose
    run.advance(120.0, until=lambda: run.engine.dose_final)
    assert run.engine.state.terminal and run.engine.dose_final and not run.board.enabled
    ended_at = next(t for t, state in run.states if state.terminal)
    # final at the first sample after the end with the output off: at most the quick STOP ramp
    # (250 ms) plus the cut margin after the end, and two sample periods
    assert run.t - ended_at <= 0.25 + 0.1 + 2.0 / rate_hz + 1e-6, (ending, ended_at, run.t)
    final = run.engine.dose.delivered_ma_min
    run.advance(left_on_screen_s)  # the ended session stays on the screen; the board reads its offset
    assert run.engine.dose.delivered_ma_min == final
    snapshot = run.engine.snapshot()
    assert snapshot.dose_final and snapshot.dose_delivered_ma_min == final
    assert run.engine.is_after_session(run.board.sample(run.t))
    # the record closes on this event: once, carrying the final dose
    finals = [ev for ev in run.engine.drain_events() if isinstance(ev, DoseFinal)]
    assert finals == [DoseFinal(finals[0].t, final)] and ended_at <= finals[0].t <= ended_at + 0.25 + 0.1 + 2.0 / rate_hz + 1e-6
    event(f"ended {run.engine.state.value}")


def test_the_ramp_down_after_a_side_effect_stop_is_counted():
    run = Run(TreatmentEngine(FAST_DRUG), FakeBoard(load_kohm=lambda t: 5.0), rate_hz=200.0)
    run.advance(0.1)
    run.intent("start")
    run.advance(2.0)
    current = run.board.output
    assert current > 0.9
    run.send(run.engine.stop(SideEffect.NAUSEA, "", run.t))
    at_stop = run.engine.dose.delivered_ma_min
    assert run.engine.state.terminal and not run.engine.dose_final
    run.advance(5.0, until=lambda: run.engine.dose_final)
    tail = run.engine.dose.delivered_ma_min - at_stop
    # a linear 250 ms ramp from I to 0 carries I x 0.125 s (one sample period of slack each way)
    assert tail == pytest.approx(current * 0.125 / 60, abs=current * 0.005 / 60)
