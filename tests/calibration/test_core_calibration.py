"""Core calibration math and rules: the fit, tolerance boundaries, plan checks, verdicts, the stored record."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ionto_console.core.calibration import (CalibrationResult, CalibrationRuleError, Constants, Mode, PointResult,
                                            SweepPlan, Tolerance, Verdict, check_fit_writable, check_impedance,
                                            check_point_plausible, evaluate_point, fit_constants, fit_from_points,
                                            judge, next_due, pick_current_range_a, predicted_errors_ua)

CURRENTS = (100, 500, 1_000, 2_000, 3_000, 4_000)
TOL = Tolerance()


def board_sweep(k_hw: float, o_hw: float, cal: Constants, noise_ua: float, rng: random.Random,
                currents=CURRENTS, loads=(1000.0,)) -> list[PointResult]:
    """What a board with hidden front end ``true*k_hw + o_hw`` and constants ``cal`` shows at each point.

    The board regulates its reported current to the set value; the DMM reads the true current."""
    points = []
    for load in loads:
        for set_ua in currents:
            raw = cal.raw_from_reported(set_ua)
            true = (raw - o_hw) / k_hw
            board = [set_ua + rng.gauss(0, noise_ua) for _ in range(20)]
            dmm = [true + rng.gauss(0, noise_ua / 10) for _ in range(5)]
            mv = [true * load / 1000 for _ in range(20)]
            points.append(evaluate_point(load_ohm=load, set_ua=set_ua, board_ua=board, board_mv=mv, dmm_ua=dmm,
                                         constants=cal, tolerance=TOL))
    return points


# --- the fit ----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(k_hw=st.floats(0.85, 1.15), o_hw=st.floats(-60, 60), old_gain=st.floats(0.9, 1.1),
       old_offset=st.floats(-30, 30), noise=st.floats(0, 3), seed=st.integers(0, 2**32 - 1))
def test_fit_recovers_the_hidden_front_end_from_noisy_points(k_hw, o_hw, old_gain, old_offset, noise, seed) -> None:
    cal = Constants(gain=old_gain, offset_ua=old_offset)
    points = board_sweep(k_hw, o_hw, cal, noise, random.Random(seed))
    fit = fit_from_points(points)
    assert fit.gain == pytest.approx(1 / k_hw, rel=2e-3)
    assert fit.offset_ua == pytest.approx(-o_hw / k_hw, abs=2.0)
    # With the new constants in force, what the board reports equals the truth within tolerance everywhere.
    assert all(abs(e) <= TOL.allowed_ua(p.dmm_ua) / 4 for e, p in zip(predicted_errors_ua(fit, points), points))
    check_fit_writable(fit, points, TOL)


@given(gain=st.floats(0.5, 2.0), offset=st.floats(-1000, 1000),
       raws=st.lists(st.floats(0, 25_000), min_size=2, max_size=30, unique=True))
def test_fit_is_exact_on_noise_free_lines(gain, offset, raws) -> None:
    assume(max(raws) - min(raws) > 1.0)
    fit = fit_constants(raws, [gain * r + offset for r in raws])
    assert fit.gain == pytest.approx(gain, rel=1e-9)
    assert fit.offset_ua == pytest.approx(offset, abs=1e-6)
    assert fit.residual_max_ua < 1e-6 and fit.points == len(raws)


@pytest.mark.parametrize("raws, trues", [([1.0], [1.0]), ([5.0, 5.0, 5.0], [1.0, 2.0, 3.0]),
                                         ([1.0, math.nan], [1.0, 2.0]), ([1.0, 2.0], [1.0])])
def test_fit_refuses_degenerate_input(raws, trues) -> None:
    with pytest.raises(CalibrationRuleError):
        fit_constants(raws, trues)


def test_implausible_fit_is_not_writable() -> None:
    # A DMM reading 30 % high (wrong shunt, wrong terminals): the fit is a line, but not a board's.
    cal = Constants(gain=1.0, offset_ua=0.0)
    points = board_sweep(1 / 1.3, 0.0, cal, 0.0, random.Random(1))
    with pytest.raises(CalibrationRuleError, match="outside what a working board can need"):
        check_fit_writable(fit_from_points(points), points, TOL)


def test_non_linear_board_is_not_writable() -> None:
    cal = Constants(gain=1.0, offset_ua=0.0)
    points = board_sweep(0.97, 18.0, cal, 0.0, random.Random(1))
    bent = [p.model_copy(update={"dmm_ua": p.dmm_ua * (1 + 0.00002 * p.set_ua)}) for p in points]
    with pytest.raises(CalibrationRuleError, match="not linear"):
        check_fit_writable(fit_from_points(bent), bent, TOL)


def test_raw_from_reported_inverts_the_icd_formula() -> None:
    cal = Constants(gain=1.03, offset_ua=-18.5)
    assert cal.report(cal.raw_from_reported(1234.5)) == pytest.approx(1234.5)


# --- tolerance boundaries ------------------------------------------------------------


@given(true=st.floats(1, 25_000), factor=st.floats(0, 3))
def test_tolerance_is_two_percent_or_twenty_microamps_whichever_larger(true, factor) -> None:
    allowed = max(0.02 * true, 20.0)
    assert TOL.allowed_ua(true) == pytest.approx(allowed)
    error = allowed * factor
    for measured in (true + error, true - error):
        if factor <= 0.999999:
            assert TOL.passes(measured, true)
        elif factor >= 1.000001:
            assert not TOL.passes(measured, true)


@pytest.mark.parametrize("true, error, ok", [
    (500.0, 20.0, True), (500.0, 20.01, False),  # below 1 mA the 20 µA floor rules
    (1000.0, 20.0, True), (1000.0, -20.01, False),  # at 1 mA both are 20 µA
    (4000.0, 80.0, True), (4000.0, 80.1, False),  # above, 2 % of reading
])
def test_tolerance_boundaries(true, error, ok) -> None:
    assert TOL.passes(true + error, true) is ok


def test_point_verdict_and_error_sign() -> None:
    p = evaluate_point(load_ohm=1000, set_ua=4000, board_ua=[4000, 4000], board_mv=[4100, 4100],
                       dmm_ua=[4105, 4105], constants=Constants(gain=1, offset_ua=0), tolerance=TOL)
    assert p.error_ua == pytest.approx(-105) and not p.passed and p.allowed_ua == pytest.approx(82.1)
    assert p.board_ohm == pytest.approx(1025.0)


@pytest.mark.parametrize("dmm, ok", [(1000.0, True), (1499.0, True), (501.0, True), (0.0, False), (1600.0, False)])
def test_point_plausibility(dmm, ok) -> None:
    if ok:
        check_point_plausible(1000, dmm)
    else:
        with pytest.raises(CalibrationRuleError, match="in series"):
            check_point_plausible(1000, dmm)


# --- the plan --------------------------------------------------------------------------


def test_standard_plans() -> None:
    plan = SweepPlan.standard()
    assert plan.currents_ua == CURRENTS and plan.max_current_ua == 4400
    assert list(plan.points())[:2] == [(1000.0, 100), (1000.0, 500)] and plan.point_count == 12
    tray = SweepPlan.standard(tray=True)
    assert max(tray.currents_ua) == 20_000 and tray.max_current_ua == 22_000


@pytest.mark.parametrize("kwargs, match", [
    (dict(currents_ua=(1000,)), "two different currents"),
    (dict(currents_ua=(0, 1000)), "outside"),
    (dict(currents_ua=(1000, 30_000)), "outside"),
    (dict(loads_ohm=()), "at least one load"),
    (dict(currents_ua=(1000, 20_000), loads_ohm=(4700.0,)), "needs 94 V"),
    (dict(loads_ohm=(-5.0,)), "above 0"),
])
def test_plan_refuses_what_the_board_cannot_do(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        SweepPlan(**kwargs)


@pytest.mark.parametrize("amps, rng", [(110e-6, 1e-3), (1.1e-3, 10e-3), (4.4e-3, 10e-3), (8.8e-3, 100e-3),
                                       (22e-3, 100e-3)])
def test_dmm_range_has_headroom(amps, rng) -> None:
    assert pick_current_range_a(amps) == rng


# --- impedance, verdict, dates, record ----------------------------------------------------


def _point(load, set_ua, board_ua, dmm_ua, mv, passed=True):
    return PointResult(load_ohm=load, set_ua=set_ua, board_ua=board_ua, dmm_ua=dmm_ua, board_mv=mv, raw_ua=board_ua,
                       error_ua=board_ua - dmm_ua, allowed_ua=TOL.allowed_ua(dmm_ua), passed=passed)


def test_impedance_check_uses_the_largest_current_and_5_percent() -> None:
    points = [_point(1000, 100, 100, 100, 130), _point(1000, 4000, 4000, 4000, 4199)]
    (check,) = check_impedance(points, {1000: (1000.0, "LCR")})
    assert check.at_ua == 4000 and check.passed and check.error_pct == pytest.approx(4.975)
    points[1] = _point(1000, 4000, 4000, 4000, 4201)
    assert not check_impedance(points, {1000: (1000.0, "LCR")})[0].passed


def test_judge() -> None:
    good = [_point(1000, 1000, 1000, 1000, 1000)]
    z = check_impedance(good, {})
    assert judge(good, z, 1)[0] is Verdict.PASS
    assert judge(good, z, 2)[0] is Verdict.ERROR
    bad = [_point(1000, 4000, 4000, 4105, 4000, passed=False)]
    verdict, reason = judge(bad, [], 1)
    assert verdict is Verdict.FAIL and "-105.0 µA at 4 mA" in reason


def test_next_due() -> None:
    assert next_due(dt.date(2026, 3, 1)) == dt.date(2027, 3, 1)
    assert next_due(dt.datetime(2026, 3, 1, 23, 0), 30) == dt.date(2026, 3, 31)
    with pytest.raises(CalibrationRuleError):
        next_due(dt.date(2026, 3, 1), 0)


def test_result_round_trips_through_json() -> None:
    points = board_sweep(0.97, 18, Constants(gain=1, offset_ua=0), 1.0, random.Random(3))
    fit = fit_from_points(points)
    result = CalibrationResult(mode=Mode.CALIBRATE, engineer="Ravi", started_at=dt.datetime(2026, 3, 1, 9, 0),
                               plan=SweepPlan(), tolerance_rel=0.02, tolerance_abs_ua=20, impedance_tolerance_pct=5,
                               old_constants=Constants(gain=1, offset_ua=0, date=1), as_found=points, fit=fit,
                               new_constants=Constants(gain=fit.gain, offset_ua=fit.offset_ua, date=2),
                               written=True, instruments={"dmm": "Keysight Technologies,34461A,1,A"},
                               verdict=Verdict.PASS, due_date=dt.date(2027, 3, 1))
    again = CalibrationResult.model_validate_json(result.model_dump_json())
    assert again == result and again.final_points == points
