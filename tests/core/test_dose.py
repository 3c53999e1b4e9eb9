"""Dose integrator: matches an independent trapezoid, handles duty, ends without overshoot."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.core.dose import DoseIntegrator


def test_constant_current_dose_and_remaining_time():
    d = DoseIntegrator(40.0)
    for i in range(0, 601):  # 10 min at 2 mA, one sample per second
        d.add(float(i), 2.0)
    assert d.delivered_ma_min == pytest.approx(20.0)
    assert d.remaining_ma_min == pytest.approx(20.0)
    assert d.remaining_time_s() == pytest.approx(600.0)
    assert not d.reached
    for i in range(601, 1201):
        d.add(float(i), 2.0)
    assert d.reached and d.remaining_ma_min == 0.0


def test_remaining_time_follows_the_present_current():
    d = DoseIntegrator(40.0)
    d.add(0.0, 4.0)
    d.add(60.0, 4.0)
    assert d.remaining_time_s() == pytest.approx(36 / 4 * 60)
    d.add(61.0, 2.0)
    assert d.remaining_time_s() == pytest.approx((40 - d.delivered_ma_min) / 2 * 60)
    d.add(62.0, 0.0)
    assert d.remaining_time_s() is None


def test_pulsed_counts_amplitude_times_duty():
    d = DoseIntegrator(200.0, duty=0.5)
    d.add(0.0, 20.0)
    d.add(60.0, 20.0)
    assert d.delivered_ma_min == pytest.approx(10.0)
    assert d.remaining_time_s() == pytest.approx(190 / 10 * 60)


def test_the_boards_pulsed_flag_decides_each_samples_duty():
    """ICD §3 "Pulsed mode": telemetry carries the amplitude; amplitude x duty flows only while the
    board is pulsed. A board that reports DC although pulsed was planned delivers the full amplitude."""
    planned = DoseIntegrator(200.0, duty=0.25)
    for i in range(61):
        planned.add(float(i), 4.0, pulsed=True)
    assert planned.delivered_ma_min == pytest.approx(4.0 * 0.25)
    dc_board = DoseIntegrator(200.0, duty=0.25)
    for i in range(61):
        dc_board.add(float(i), 4.0, pulsed=False)
    assert dc_board.delivered_ma_min == pytest.approx(4.0)
    unknown = DoseIntegrator(200.0, duty=0.25)
    for i in range(61):
        unknown.add(float(i), 4.0)  # not reported: the planned duty
    assert unknown.delivered_ma_min == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 25.0), st.booleans()), min_size=2, max_size=60),
       st.sampled_from([0.1, 0.25, 0.5, 0.9]))
def test_pulsed_dose_matches_an_independent_trapezoid_over_the_per_sample_mean(samples, duty):
    d = DoseIntegrator(1e9, duty=duty)
    for i, (amplitude, pulsed) in enumerate(samples):
        d.add(float(i), amplitude, pulsed=pulsed)
    means = [a * (duty if p else 1.0) for a, p in samples]
    expected = sum(0.5 * (a + b) for a, b in zip(means, means[1:])) / 60.0
    assert d.delivered_ma_min == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_should_end_accounts_for_ramp_down_and_latency():
    d = DoseIntegrator(40.0, cap_ma_min=40.0)
    d.add(0.0, 4.0)
    d.add(597.0, 4.0)  # 39.8 mA·min
    # A 3 s ramp from 4 mA carries 0.1 mA·min, latency 0.05 s another ~0.0033.
    assert not d.should_end(3.0, 0.0)
    d.add(598.5, 4.0)  # 39.9
    assert d.should_end(3.0, 0.05)
    assert d.stop_charge_ma_min(3.0, 0.05) == pytest.approx(4 * 1.55 / 60)


def test_out_of_order_sample_does_not_corrupt_integral():
    d = DoseIntegrator(40.0)
    d.add(0.0, 1.0)
    d.add(60.0, 1.0)
    d.add(30.0, 1.0)
    d.add(120.0, 1.0)
    assert d.delivered_ma_min == pytest.approx(2.0)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError):
        DoseIntegrator(40.0, cap_ma_min=30.0)
    with pytest.raises(ValueError):
        DoseIntegrator(40.0, duty=0.0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(1e-4, 0.5), st.floats(0.0, 25.0)), min_size=2, max_size=400),
    duty=st.sampled_from([1.0, 0.1, 0.5, 0.9]),
)
def test_integral_matches_numpy_trapezoid(steps, duty):
    d = DoseIntegrator(1e9, duty=duty)
    t, times, currents = 0.0, [], []
    for dt, current in steps:
        t += dt
        times.append(t)
        currents.append(current)
        d.add(t, current)
    expected = float(np.trapezoid(np.asarray(currents) * duty, np.asarray(times))) / 60.0
    assert math.isclose(d.delivered_ma_min, expected, rel_tol=1e-3, abs_tol=1e-12)


def test_a_leap_of_the_board_clock_is_not_integrated_as_charge():
    """The u32 µs board clock wrapped early: unwrapped, two consecutive samples lie 71.6 min apart."""
    d = DoseIntegrator(40.0, max_step_s=0.2)
    for i in range(101):
        d.add(i * 0.01, 1.0)  # 1 s at 1 mA
    before = d.delivered_ma_min
    d.add(1.0 + 4294.967296, 1.0)
    assert d.delivered_ma_min - before == pytest.approx(1.0 * 0.2 / 60)
    assert d.gap_s == pytest.approx(4294.967296 - 0.2)
    d.add(1.01 + 4294.967296, 1.0)  # and the integral carries on normally from there
    assert d.delivered_ma_min - before == pytest.approx(1.0 * 0.21 / 60)


def test_a_longest_step_must_be_positive():
    with pytest.raises(ValueError):
        DoseIntegrator(40.0, max_step_s=0.0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(st.tuples(st.one_of(st.floats(1e-4, 0.05), st.floats(0.05, 5000.0)), st.floats(0.0, 25.0)),
                   min_size=2, max_size=300),
    max_step=st.sampled_from([0.05, 0.2, 1.0]),
    duty=st.sampled_from([1.0, 0.5]),
)
def test_no_step_adds_more_than_the_longest_step_of_charge(steps, max_step, duty):
    """Whatever the time stamps do, each step adds at most max_step x the larger of its two
    currents, the integral is the trapezoid over the capped steps, and the rest is gap time."""
    d = DoseIntegrator(1e9, duty=duty, max_step_s=max_step)
    t, capped_t, times, currents = 0.0, 0.0, [], []
    gap = 0.0
    previous = d.delivered_ma_min
    last_current = None
    for dt, current in steps:
        t += dt
        if last_current is not None:
            capped_t += min(dt, max_step)
            gap += max(dt - max_step, 0.0)
        times.append(capped_t)
        currents.append(current)
        d.add(t, current)
        added = d.delivered_ma_min - previous
        if last_current is not None:
            assert added <= max(current, last_current) * duty * max_step / 60.0 + 1e-12
        assert added >= 0.0
        previous, last_current = d.delivered_ma_min, current
    expected = float(np.trapezoid(np.asarray(currents) * duty, np.asarray(times))) / 60.0
    assert math.isclose(d.delivered_ma_min, expected, rel_tol=1e-6, abs_tol=1e-9)
    assert math.isclose(d.gap_s, gap, rel_tol=1e-6, abs_tol=1e-6)


def test_remaining_time_counts_from_the_goal_current_not_the_ramp():
    """Issue 14: "Remaining" read 384:36 during a ramp; the time is the remaining dose at the goal."""
    from ionto_console.core.dose import remaining_time_at_goal

    assert remaining_time_at_goal(10.0, 2.5) == pytest.approx(240.0)
    assert remaining_time_at_goal(10.0, 2.5, duty=0.5) == pytest.approx(480.0)
    assert remaining_time_at_goal(10.0, 0.0) is None
