"""Output lost: the board reports its output off (bit0 clear, no STOP ramp, no fault) while the engine treats.

Before: nothing judged the output flag while the output was off, so the session ran on as
"treating" with no current, and resumed if the board enabled its output again. Now it is a
CUT trip (OUTPUT_LOST) once every sample for ``output_lost_window_s`` says so; the engine's own
cut, its STOP ramps and a stop the controller wrote first never count.
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine_helpers import FakeBoard, Run
from ionto_console.core.engine import CutOutput, EnableOutput, TreatmentEngine, TripRecorded
from ionto_console.core.interlocks import InterlockLimits, Interlocks, TripKind
from ionto_console.core.samples import Sample
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from test_engine_properties import FAST_DRUG, FAST_PULSED, FAST_TAP

WINDOW = InterlockLimits.output_lost_window_s


def output_lost_trips(engine: TreatmentEngine) -> list:
    return [ev for ev in engine.drain_events() if isinstance(ev, TripRecorded) and ev.trip.kind is TripKind.OUTPUT_LOST]


def drop(board: FakeBoard) -> None:
    """The board's output opens by itself: no fault, no STOP ramp."""
    board.enabled, board.output, board.stop = False, 0.0, None


def test_output_lost_while_treating_trips_cuts_and_never_resumes():
    run = Run(TreatmentEngine(FAST_DRUG), FakeBoard(load_kohm=lambda t: 5.0), rate_hz=200.0)
    run.advance(0.1)
    run.intent("start")
    run.advance(0.5)
    assert run.engine.state is SessionState.RAMPING_UP or run.engine.state is SessionState.TREATING
    drop(run.board)
    dropped = run.t
    run.advance(1.0, until=lambda: run.engine.state.terminal)
    assert run.engine.state is SessionState.FAULTED
    assert run.engine.snapshot().active_trip.kind is TripKind.OUTPUT_LOST
    assert run.t - dropped <= WINDOW + 2 / 200.0 + 1e-9
    assert run.log[-1][1] == CutOutput()
    enables = len(run.commands(EnableOutput))
    run.board.enabled = True  # the board enables itself again: the engine cuts, never resumes
    run.advance(1.0)
    assert not run.board.enabled and len(run.commands(EnableOutput)) == enables


def test_one_sample_with_the_output_flag_clear_does_not_trip():
    interlocks = Interlocks(InterlockLimits(4.0, 10.0, 0.5, 0.1))
    interlocks.expect_output(True, 0.0)
    on = dict(current_ma=1.0, voltage_v=5.0, target_ma=1.0)
    trips = interlocks.check(Sample(t=0.01, output_on=True, **on))
    trips += interlocks.check(Sample(t=0.015, output_on=False, current_ma=0.0, voltage_v=0.0, target_ma=1.0))
    trips += interlocks.check(Sample(t=0.02, output_on=True, **on))
    trips += interlocks.check(Sample(t=0.02 + WINDOW, output_on=True, **on))
    assert not trips


def test_off_before_the_board_confirmed_the_enable_counts_only_after_the_grace():
    lim = InterlockLimits(4.0, 10.0, 0.5, 0.1)
    interlocks = Interlocks(lim)
    interlocks.expect_output(True, 0.0)
    off = dict(output_on=False, current_ma=0.0, voltage_v=0.0, target_ma=0.0)
    t, trips = 0.0, []
    while t < lim.output_on_grace_s:  # setup commands still in flight on a loaded host
        t += 0.005
        trips = interlocks.check(Sample(t=t, **off))
        assert not trips or t >= lim.output_on_grace_s
    while not trips:
        t += 0.005
        trips = interlocks.check(Sample(t=t, **off))
    assert trips[0].kind is TripKind.OUTPUT_LOST  # a board that never enabled is lost too
    assert t <= lim.output_on_grace_s + lim.output_lost_window_s + 0.011


def test_a_stop_written_by_the_controller_before_the_engine_took_it_is_not_output_lost():
    run = Run(TreatmentEngine(FAST_DRUG), FakeBoard(load_kohm=lambda t: 5.0), rate_hz=200.0)
    run.advance(0.1)
    run.intent("start")
    run.advance(0.5)
    run.board.apply([CutOutput()], run.t)  # the controller's emergency OUTPUT 0, the intent still queued
    run.engine.stop_written()
    run.advance(0.5)
    assert not output_lost_trips(run.engine) and not run.engine.state.terminal
    run.send(run.engine.stop(EMERGENCY, "", run.t))
    assert run.engine.state is SessionState.STOPPED


ENDINGS = st.sampled_from(["none", "side_effect", "emergency", "end_early", "dose"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocol=st.sampled_from([FAST_DRUG, FAST_TAP, FAST_PULSED]), ending=ENDINGS,
       end_at=st.floats(0.2, 6.0), drop_at=st.one_of(st.none(), st.floats(0.2, 12.0)),
       rate_hz=st.sampled_from([50.0, 200.0, 1000.0]))
def test_output_lost_trips_exactly_when_the_board_drops_an_output_the_engine_expects(
        protocol, ending, end_at, drop_at, rate_hz):
    """Whatever the session does (ramps, reversal, pauses by the plan, stops, the dose's ramp-down),
    an output off the engine caused never trips; one the board dropped by itself always does."""
    run = Run(TreatmentEngine(protocol), FakeBoard(load_kohm=lambda t: 2.0), rate_hz=rate_hz, tick_hz=50.0)
    run.advance(0.1)
    run.intent("start")
    deadline = 0.1 + 14.0
    dropped_at = None
    ended: float | bool = False  # when the therapist ended the session
    while run.t < deadline and not run.engine.state.terminal:
        run.advance(0.01)
        if not ended and run.t >= end_at and ending != "none" and ending != "dose":
            ended = run.t
            if ending == "side_effect":
                run.send(run.engine.stop(SideEffect.BURNING_TINGLING, "", run.t))
            elif ending == "emergency":
                run.send(run.engine.stop(EMERGENCY, "", run.t))
            else:
                run.intent("end_early")
        if drop_at is not None and dropped_at is None and run.t >= drop_at:
            expected = run.engine.interlocks._output_expected_since is not None and run.board.enabled
            dropped_at = run.t if expected else math.inf
            drop(run.board)
    run.advance(0.5)
    trips = output_lost_trips(run.engine)
    if dropped_at is None or dropped_at == math.inf:
        assert trips == [], (dropped_at, trips)
        event("no drop under an expected output: no trip")
    elif ended is not False and ended <= dropped_at + WINDOW + 2.0 / rate_hz + 0.01:
        assert len(trips) <= 1 and run.engine.state.terminal  # the therapist's stop came within the window
        event("dropped, then stopped within the window")
    else:
        assert len(trips) == 1 and trips[0].t - dropped_at <= WINDOW + 2.0 / rate_hz + 0.01 + 1e-9, trips
        assert run.engine.state is SessionState.FAULTED
        event("dropped: tripped")
