"""Calibration and verification of the board's current measurement: the math and the rules.

Qt-free and I/O-free (no pyserial, no pyvisa, no clock): the runner in
``control/calibration.py`` measures, this module decides. WHY it is split
that way: every rule that decides whether constants may be written to a
board, and whether a board passes, is tested here in milliseconds with
hypothesis, without a bench.

The physics behind the fit (ICD: "Measured current reported = raw x gain +
offset"): the board regulates its *reported* current to the target, so with
wrong constants the true current (what the DMM in series reads) differs from
the target. From each reported value and the constants in force we recover
the board's raw reading, ``raw = (reported - offset) / gain``, and fit
``true = new_gain * raw + new_offset`` by least squares. Written to the
board, those constants make ``reported == true``.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

# The due date and lapse rule lives in ``calibration_due`` (light enough for start-up); re-exported here.
from .calibration_due import (DEFAULT_INTERVAL_DAYS, CalibrationRuleError, CalibrationStatus, calibration_status,
                              lapse_date,
                              next_due)
from .numbers import signed
from .samples import MV_PER_V, UA_PER_MA, impedance_kohm

#: ICD section 4: hardware range of the output and the compliance voltage.
HW_MAX_CURRENT_UA = 25_000
COMPLIANCE_V = 90.0
#: A sweep point may use at most this share of the compliance voltage, so the
#: regulator is never voltage-limited while we measure it.
COMPLIANCE_MARGIN = 0.8
#: Default points: treatment currents (up to 4 mA) and tap-water trays (up to 20 mA).
STANDARD_CURRENTS_UA = (100, 500, 1_000, 2_000, 3_000, 4_000)
TRAY_CURRENTS_UA = (*STANDARD_CURRENTS_UA, 8_000, 12_000, 16_000, 20_000)
STANDARD_LOADS_OHM = (1_000.0, 3_300.0)
#: A fit outside these bounds means a wiring or unit mistake (DMM not in series,
#: mA read as A), never a real front end: such constants are not written.
PLAUSIBLE_GAIN = (0.8, 1.25)
PLAUSIBLE_OFFSET_UA = 500.0
#: A DMM reading this far from the set current means the DMM is not measuring
#: the board's output (shorted leads, wrong terminals, another circuit).
PLAUSIBLE_POINT_RATIO = (0.5, 1.5)
#: DC current ranges of a bench DMM (A); the runner picks one per point.
DMM_CURRENT_RANGES_A = (100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)
#: Readings are taken below this share of the range (a DMM reads to 120 %).
RANGE_HEADROOM = 0.8


# --- tolerances ----------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """Allowed error of a current reading: ``rel`` of the reading or ``abs_ua``, whichever is larger."""

    rel: float = 0.02
    abs_ua: float = 20.0

    def __post_init__(self) -> None:
        if not (0 <= self.rel < 1 and self.abs_ua >= 0) or (self.rel == 0 and self.abs_ua == 0):
            raise CalibrationRuleError(f"tolerance must be 0 <= rel < 1 and abs >= 0, not both 0: {self}")

    def allowed_ua(self, true_ua: float) -> float:
        return max(self.rel * abs(true_ua), self.abs_ua)

    def passes(self, measured_ua: float, true_ua: float) -> bool:
        """True when ``|measured - true|`` is within the allowed error (boundary included)."""
        return abs(measured_ua - true_ua) <= self.allowed_ua(true_ua) * (1 + 1e-12)

    def describe(self) -> str:
        return f"±{self.rel * 100:g} % of reading or ±{self.abs_ua:g} µA, whichever is larger"


# --- sweep plan ----------------------------------------------------------------


class SweepPlan(BaseModel):
    """Which currents into which loads, and how many readings per point.

    Validated at construction so a plan that would drive the board into
    compliance, or past its hardware range, is refused before anything is
    switched on.
    """

    model_config = ConfigDict(frozen=True)

    currents_ua: tuple[int, ...] = STANDARD_CURRENTS_UA
    loads_ohm: tuple[float, ...] = STANDARD_LOADS_OHM
    board_samples: int = Field(default=20, ge=3, le=2_000)
    dmm_readings: int = Field(default=5, ge=1, le=100)
    #: Telemetry samples skipped after the slew ended, for the analog path to settle.
    settle_samples: int = Field(default=3, ge=0, le=1_000)
    slew_ua_s: int = Field(default=5_000, ge=10, le=5_000)
    watchdog_ms: int = Field(default=500, ge=100, le=2_000)
    telemetry_hz: int = Field(default=200, ge=10, le=1_000)

    @model_validator(mode="after")
    def _check(self) -> "SweepPlan":
        if not self.currents_ua:
            raise ValueError("the plan needs at least one current")
        if len(set(self.currents_ua)) < 2:
            raise ValueError("the plan needs at least two different currents to fit gain and offset")
        if not self.loads_ohm:
            raise ValueError("the plan needs at least one load")
        for current in self.currents_ua:
            if not 0 < current <= HW_MAX_CURRENT_UA:
                raise ValueError(f"current {current} µA is outside 1..{HW_MAX_CURRENT_UA} µA")
        for load in self.loads_ohm:
            if not (math.isfinite(load) and load > 0):
                raise ValueError(f"load {load} ohm must be a finite value above 0")
        limit_v = COMPLIANCE_V * COMPLIANCE_MARGIN
        worst = max(self.currents_ua) * 1e-6 * max(self.loads_ohm)
        if worst > limit_v:
            raise ValueError(
                f"{max(self.currents_ua) / 1000:g} mA into {max(self.loads_ohm):g} ohm needs {worst:.0f} V; "
                f"the board gives {COMPLIANCE_V:g} V (keep points below {limit_v:.0f} V)")
        return self

    @classmethod
    def standard(cls, tray: bool = False, **overrides: object) -> "SweepPlan":
        """0.1..4 mA (treatment), or up to 20 mA with ``tray`` (tap-water boards)."""
        return cls(**{"currents_ua": TRAY_CURRENTS_UA if tray else STANDARD_CURRENTS_UA, **overrides})

    @property
    def max_current_ua(self) -> int:
        """Board current limit for the sweep: the largest point plus 10 %, within the hardware range."""
        return min(HW_MAX_CURRENT_UA, math.ceil(max(self.currents_ua) * 1.1))

    def points(self) -> Iterator[tuple[float, int]]:
        """(load, current) in run order: each load in turn, currents rising (the output only slews up)."""
        for load in self.loads_ohm:
            for current in sorted(self.currents_ua):
                yield load, current

    @property
    def point_count(self) -> int:
        return len(self.loads_ohm) * len(self.currents_ua)


def pick_current_range_a(expected_a: float, ranges: Sequence[float] = DMM_CURRENT_RANGES_A) -> float:
    """Smallest DMM range that reads ``expected_a`` with headroom (fixed range: no autorange offsets)."""
    for rng in ranges:
        if abs(expected_a) <= rng * RANGE_HEADROOM:
            return rng
    raise CalibrationRuleError(f"{expected_a * 1000:g} mA is above the DMM's largest current range")


# --- measurements and the fit --------------------------------------------------


class Constants(BaseModel):
    """Calibration constants as the board stores them (ICD WRITE_CAL / IDENT)."""

    model_config = ConfigDict(frozen=True)

    gain: float
    offset_ua: float
    date: int = 0  # Unix seconds; 0 = never calibrated

    def raw_from_reported(self, reported_ua: float) -> float:
        """Invert ``reported = raw * gain + offset`` (the board's raw front-end reading)."""
        return (reported_ua - self.offset_ua) / self.gain

    def report(self, raw_ua: float) -> float:
        return raw_ua * self.gain + self.offset_ua


class PointResult(BaseModel):
    """One sweep point: averages of the board's telemetry and of the DMM."""

    model_config = ConfigDict(frozen=True)

    load_ohm: float
    set_ua: int
    board_ua: float  # mean reported current (board telemetry)
    dmm_ua: float  # mean true current (DMM in series)
    board_mv: float  # mean electrode voltage (board telemetry)
    board_sd_ua: float = 0.0
    dmm_sd_ua: float = 0.0
    samples: int = 0
    raw_ua: float  # board raw reading under the constants in force
    error_ua: float  # board - DMM
    allowed_ua: float
    passed: bool

    @property
    def error_pct(self) -> float:
        return 100.0 * self.error_ua / self.dmm_ua if self.dmm_ua else math.inf

    @property
    def board_ohm(self) -> float | None:
        """Board's own impedance estimate V/I in ohm, by the treatments' rule (``samples.impedance_kohm``:
        None with too little current to tell); a sweep point is measured with the output on."""
        kohm = impedance_kohm(self.board_ua / UA_PER_MA, self.board_mv / MV_PER_V, output_on=True)
        return None if kohm is None else kohm * 1000.0


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise CalibrationRuleError("a point needs finite readings")
    return float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0


def evaluate_point(*, load_ohm: float, set_ua: int, board_ua: Sequence[float], board_mv: Sequence[float],
                   dmm_ua: Sequence[float], constants: Constants, tolerance: Tolerance) -> PointResult:
    """Average the readings of one point and judge it against ``tolerance`` (the DMM is the truth)."""
    board_mean, board_sd = _mean_sd(board_ua)
    dmm_mean, dmm_sd = _mean_sd(dmm_ua)
    mv_mean, _ = _mean_sd(board_mv)
    error = board_mean - dmm_mean
    return PointResult(load_ohm=load_ohm, set_ua=set_ua, board_ua=board_mean, dmm_ua=dmm_mean, board_mv=mv_mean,
                       board_sd_ua=board_sd, dmm_sd_ua=dmm_sd, samples=len(board_ua),
                       raw_ua=constants.raw_from_reported(board_mean), error_ua=error,
                       allowed_ua=tolerance.allowed_ua(dmm_mean), passed=tolerance.passes(board_mean, dmm_mean))


def check_point_plausible(set_ua: int, dmm_ua: float) -> None:
    """Refuse a point whose DMM reading cannot be the board's output (wiring mistake)."""
    low, high = PLAUSIBLE_POINT_RATIO
    if not low * set_ua <= dmm_ua <= high * set_ua:
        raise CalibrationRuleError(
            f"the DMM reads {dmm_ua / 1000:.4g} mA while the board drives about {set_ua / 1000:g} mA: "
            "check that the DMM is in series with the load on its current terminals")


class Fit(BaseModel):
    """Least-squares ``true = gain * raw + offset`` and how well it fits."""

    model_config = ConfigDict(frozen=True)

    gain: float
    offset_ua: float
    residual_rms_ua: float
    residual_max_ua: float
    points: int


def fit_constants(raw_ua: Sequence[float], true_ua: Sequence[float]) -> Fit:
    """Fit new constants so that ``raw * gain + offset`` equals the true current."""
    raw = np.asarray(raw_ua, dtype=float)
    true = np.asarray(true_ua, dtype=float)
    if raw.shape != true.shape or raw.size < 2:
        raise CalibrationRuleError("the fit needs at least two points, each with a raw and a true value")
    if not (np.all(np.isfinite(raw)) and np.all(np.isfinite(true))):
        raise CalibrationRuleError("the fit got a reading that is not a number")
    if np.ptp(raw) <= 1e-9 * max(1.0, float(np.max(np.abs(raw)))):
        raise CalibrationRuleError("the fit needs points at different currents")
    design = np.column_stack([raw, np.ones_like(raw)])
    (gain, offset), *_ = np.linalg.lstsq(design, true, rcond=None)
    residuals = true - (gain * raw + offset)
    return Fit(gain=float(gain), offset_ua=float(offset),
               residual_rms_ua=float(np.sqrt(np.mean(residuals ** 2))),
               residual_max_ua=float(np.max(np.abs(residuals))), points=int(raw.size))


def fit_from_points(points: Sequence[PointResult]) -> Fit:
    return fit_constants([p.raw_ua for p in points], [p.dmm_ua for p in points])


def check_fit_writable(fit: Fit, points: Sequence[PointResult], tolerance: Tolerance) -> None:
    """Refuse constants that must not reach a board: implausible, or not explaining the points.

    A residual larger than half the tolerance at any point means the front end
    is not linear (or a reading was wrong): new constants would not make the
    board pass, so the board needs service, not a calibration.
    """
    if not (math.isfinite(fit.gain) and math.isfinite(fit.offset_ua)):
        raise CalibrationRuleError("the fit did not give finite constants")
    low, high = PLAUSIBLE_GAIN
    if not low <= fit.gain <= high or abs(fit.offset_ua) > PLAUSIBLE_OFFSET_UA:
        raise CalibrationRuleError(
            f"the fitted constants (gain {fit.gain:.4f}, offset {fit.offset_ua:.1f} µA) are outside what a "
            f"working board can need (gain {low}..{high}, |offset| <= {PLAUSIBLE_OFFSET_UA:g} µA): "
            "check the wiring and the DMM; nothing was written")
    for p in points:
        predicted = fit.gain * p.raw_ua + fit.offset_ua
        if abs(predicted - p.dmm_ua) > 0.5 * tolerance.allowed_ua(p.dmm_ua):
            raise CalibrationRuleError(
                f"the board is not linear: at {p.set_ua / 1000:g} mA into {p.load_ohm:g} ohm the best fit "
                f"still misses by {signed(predicted - p.dmm_ua, 1)} µA; nothing was written (board needs service)")


def predicted_errors_ua(fit: Fit, points: Sequence[PointResult]) -> list[float]:
    """Errors the points would have shown with the fitted constants in force."""
    return [fit.gain * p.raw_ua + fit.offset_ua - p.dmm_ua for p in points]


# --- impedance verification ----------------------------------------------------


class ImpedanceCheck(BaseModel):
    """The board's V/I against a known resistance (the decade's setting or an LCR reading)."""

    model_config = ConfigDict(frozen=True)

    load_ohm: float  # nominal load of the sweep
    reference_ohm: float
    reference_source: str  # "decade" or "LCR"
    board_ohm: float
    at_ua: int
    error_pct: float
    tolerance_pct: float
    passed: bool


def check_impedance(points: Sequence[PointResult], reference_ohm: dict[float, tuple[float, str]],
                    tolerance_pct: float = 5.0) -> list[ImpedanceCheck]:
    """One check per load, at its largest current (the voltage noise matters least there)."""
    checks: list[ImpedanceCheck] = []
    for load in sorted({p.load_ohm for p in points}):
        best = max((p for p in points if p.load_ohm == load), key=lambda p: p.set_ua)
        board = best.board_ohm
        ref, source = reference_ohm.get(load, (load, "nominal"))
        if board is None or ref <= 0:
            raise CalibrationRuleError(f"too little current flowed into {load:g} ohm (at most {best.board_ua:g} µA): "
                                       "the impedance cannot be checked")
        error = 100.0 * (board - ref) / ref
        checks.append(ImpedanceCheck(load_ohm=load, reference_ohm=ref, reference_source=source, board_ohm=board,
                                     at_ua=best.set_ua, error_pct=error, tolerance_pct=tolerance_pct,
                                     passed=abs(error) <= tolerance_pct))
    return checks


# --- dates and the result ------------------------------------------------------


class Mode(str, enum.Enum):
    CALIBRATE = "calibrate"  # as-found sweep, fit, WRITE_CAL, verification sweep
    VERIFY = "verify"  # one sweep, nothing written


class Verdict(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"  # the run completed and the board is out of tolerance
    ERROR = "error"  # the run could not complete (instrument, board, wiring, cancel)


class CalibrationResult(BaseModel):
    """Everything a calibration or verification produced: the stored record and the certificate's data."""

    mode: Mode
    engineer: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    board_serial: str = ""
    board_firmware: str = ""
    board_url: str = ""
    instruments: dict[str, str] = Field(default_factory=dict)  # role -> *IDN? string
    plan: SweepPlan
    tolerance_rel: float
    tolerance_abs_ua: float
    impedance_tolerance_pct: float
    interval_days: int = DEFAULT_INTERVAL_DAYS
    old_constants: Constants | None = None
    as_found: list[PointResult] = Field(default_factory=list)
    fit: Fit | None = None
    new_constants: Constants | None = None
    written: bool = False
    as_left: list[PointResult] = Field(default_factory=list)
    impedance: list[ImpedanceCheck] = Field(default_factory=list)
    verdict: Verdict = Verdict.ERROR
    reason: str = ""
    due_date: dt.date | None = None
    output_off_confirmed: bool = False
    #: Measured on the simulated bench: the certificate says SIMULATED; a clinic's records never keep it.
    simulated: bool = False

    @property
    def tolerance(self) -> Tolerance:
        return Tolerance(self.tolerance_rel, self.tolerance_abs_ua)

    @property
    def final_points(self) -> list[PointResult]:
        """The points the verdict rests on: the verification sweep (as-left), else the only sweep."""
        return self.as_left if self.as_left else self.as_found

    def max_abs_error_ua(self, points: Sequence[PointResult]) -> float | None:
        return max((abs(p.error_ua) for p in points), default=None)


def judge(points: Sequence[PointResult], impedance: Sequence[ImpedanceCheck], expected_points: int) -> tuple[Verdict, str]:
    """Verdict of a completed sweep: every point and every impedance check within tolerance."""
    if len(points) != expected_points:
        return Verdict.ERROR, f"the sweep has {len(points)} of {expected_points} points"
    bad = [p for p in points if not p.passed]
    bad_z = [c for c in impedance if not c.passed]
    if not bad and not bad_z:
        return Verdict.PASS, f"all {len(points)} points and {len(impedance)} impedance checks within tolerance"
    parts = []
    if bad:
        worst = max(bad, key=lambda p: abs(p.error_ua) / p.allowed_ua)
        parts.append(f"{len(bad)} of {len(points)} points out of tolerance (worst {signed(worst.error_ua, 1)} µA at "
                     f"{worst.set_ua / 1000:g} mA into {worst.load_ohm:g} ohm, allowed ±{worst.allowed_ua:.1f} µA)")
    if bad_z:
        worst_z = max(bad_z, key=lambda c: abs(c.error_pct))
        parts.append(f"impedance off by {signed(worst_z.error_pct, 1)} % at {worst_z.load_ohm:g} ohm "
                     f"(allowed ±{worst_z.tolerance_pct:g} %)")
    return Verdict.FAIL, "; ".join(parts)


# --- the headline a result is read by ---------------------------------------------

#: Said first, on the screen and on every certificate page, of a result measured on the simulated bench.
SIMULATED_WARNING = ("SIMULATED bench: not a calibration of a real board; it lets only demo treatments on the "
                     "simulated board run, never a patient's treatment.")


class Headline(NamedTuple):
    """One verdict line: ``text`` ("As found: FAIL"), its ``verdict`` (for the colour) and ``why``."""

    text: str
    verdict: Verdict
    why: str


def headlines(r: CalibrationResult) -> list[Headline]:
    """The verdicts a result is headlined by, as-found and as-left apart: the one home of those words.

    WHY one home (the wizard's result page and the PDF certificate both ask here): the screen headlined
    "PASS: all 12 points…" over a table of as-found FAIL rows while the certificate said "As found:
    FAIL (6 of 12)"; the as-found state is what the board treated with until today, so it is never
    folded into the as-left verdict. A verification (or a run that ended before the as-left sweep)
    has one verdict."""
    if r.mode is Mode.CALIBRATE and r.as_found and r.as_left:
        found, why = judge(r.as_found, [], len(r.as_found))
        return [Headline(f"As found: {found.value.upper()}", found, why),
                Headline(f"As left: {r.verdict.value.upper()}", r.verdict, r.reason)]
    label = "As found" if r.mode is Mode.CALIBRATE else "Result"
    return [Headline(f"{label}: {r.verdict.value.upper()}", r.verdict, r.reason)]
