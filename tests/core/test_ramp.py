"""Ramp limiter: current never steps, never rises faster than the protocol rate."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.core.ramp import RampLimiter, RampLocked

EPS = 1e-9


def limiter(**kw) -> RampLimiter:
    args = dict(max_ma=4.0, up_rate_ma_s=0.1, step_ma=0.5, now=0.0)
    args.update(kw)
    return RampLimiter(**args)


def test_step_is_a_slew_not_a_jump():
    r = limiter()
    r.request(0.5, 0.0)
    assert r.setpoint(0.0) == 0.0
    assert r.setpoint(1.0) == pytest.approx(0.1)
    assert r.setpoint(5.0) == pytest.approx(0.5)
    assert r.setpoint(100.0) == pytest.approx(0.5)
    r.step_up(100.0)
    r.step_up(100.0)  # two presses: heads for 1.5 mA from the target, not from the slewing level
    assert r.target == pytest.approx(1.5)
    assert r.setpoint(102.0) == pytest.approx(0.7)
    assert r.setpoint(200.0) == pytest.approx(1.5)


def test_clamped_to_max_and_zero():
    r = limiter()
    assert r.request(9.0, 0.0) == 4.0
    assert r.setpoint(1000.0) == 4.0
    for _ in range(20):
        r.step_down(1000.0)
    assert r.target == 0.0


def test_lowering_uses_the_faster_down_rate_but_still_slews():
    r = limiter(down_rate_ma_s=1.0)
    r.request(2.0, 0.0)
    r.setpoint(100.0)
    r.request(0.5, 100.0)
    assert r.setpoint(100.5) == pytest.approx(1.5)
    assert r.setpoint(102.0) == pytest.approx(0.5)


def test_down_rate_slower_than_up_rate_is_refused():
    with pytest.raises(ValueError):
        limiter(down_rate_ma_s=0.01)


def test_pause_ramps_to_zero_and_resume_ramps_back():
    r = limiter()
    r.request(1.0, 0.0)
    r.setpoint(20.0)
    r.pause(20.0)
    assert r.setpoint(25.0) == pytest.approx(0.5)
    assert r.setpoint(60.0) == 0.0
    r.step_up(60.0)  # while paused: changes the level to come back to, not the output
    assert r.setpoint(70.0) == 0.0
    assert r.resume(70.0) == pytest.approx(1.5)
    assert r.setpoint(75.0) == pytest.approx(0.5)
    assert r.setpoint(200.0) == pytest.approx(1.5)


def test_stop_locks_at_zero():
    r = limiter()
    r.request(2.0, 0.0)
    r.setpoint(30.0)
    r.stop(30.0)
    with pytest.raises(RampLocked):
        r.step_up(31.0)
    with pytest.raises(RampLocked):
        r.resume(31.0)
    r.request(0.0, 31.0)  # asking for zero is always fine
    assert r.setpoint(100.0) == 0.0


def test_output_cut_drops_setpoint_and_rise_restarts_from_zero():
    r = limiter()
    r.request(2.0, 0.0)
    r.setpoint(30.0)
    r.output_cut(30.0)
    assert r.setpoint(30.0) == 0.0
    assert r.setpoint(31.0) == pytest.approx(0.1)


def test_time_going_backwards_changes_nothing():
    r = limiter()
    r.request(2.0, 10.0)
    level = r.setpoint(15.0)
    assert r.setpoint(12.0) == level


OPS = st.sampled_from(["step_up", "step_down", "pause", "resume", "request", "query", "stop"])


@settings(max_examples=300, deadline=None)
@given(
    up=st.floats(0.01, 5.0),
    down_factor=st.floats(1.0, 10.0),
    max_ma=st.floats(0.5, 25.0),
    step=st.floats(0.05, 5.0),
    script=st.lists(st.tuples(OPS, st.floats(0.0, 5.0), st.floats(-5.0, 30.0)), max_size=60),
)
def test_setpoint_never_rises_faster_than_rate_nor_leaves_range(up, down_factor, max_ma, step, script):
    r = RampLimiter(max_ma=max_ma, up_rate_ma_s=up, down_rate_ma_s=up * down_factor, step_ma=step, now=0.0)
    now = 0.0
    last_t, last = 0.0, r.setpoint(0.0)
    stopped_at = None
    for op, dt, level in script:
        now += dt
        try:
            if op == "request":
                r.request(level, now)
            elif op == "query":
                pass
            elif op == "stop":
                r.stop(now)
                stopped_at = r.setpoint(now)
            else:
                getattr(r, op)(now)
        except RampLocked:
            assert r.locked
        sp = r.setpoint(now)
        elapsed = now - last_t
        assert 0.0 <= sp <= max_ma + EPS
        assert sp - last <= up * elapsed + EPS
        assert last - sp <= up * down_factor * elapsed + EPS
        if stopped_at is not None:
            assert sp <= stopped_at + EPS  # after a stop it only goes down
            stopped_at = sp
        last_t, last = now, sp
    # Left alone, the ramp reaches its target.
    assert r.setpoint(now + max_ma / up + 1.0) == pytest.approx(r.target)
