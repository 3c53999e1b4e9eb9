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
