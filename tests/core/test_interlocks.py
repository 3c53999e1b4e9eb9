"""Interlocks: each window trips on the first sample outside it, and not inside it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine_helpers import make_protocol, sample
from ionto_console.core.interlocks import InterlockLimits, Interlocks, Trip, TripAction, TripKind, worst
from ionto_console.core.samples import BoardFault, Sample

TARGET = 2.0  # mA, steady state on a 5 kΩ load
RATE = 1000  # Hz
WINDOW = InterlockLimits.open_circuit_window_s  # the open-circuit decision window (s)


def steady(limits: InterlockLimits | None = None, seconds: float = 1.0, target: float = TARGET,
           z_kohm: float = 5.0) -> tuple[Interlocks, float]:
    """Interlocks that have watched the output ramp to ``target`` and sit there for a while."""
    lim = limits or InterlockLimits.from_protocol(make_protocol(), board_slew_ma_s=100.0)
    locks = Interlocks(lim, expected_anode=False)
    t = 0.0
    while t < seconds:
        trips = locks.check(sample(t, target, voltage=target * z_kohm, anode=False))
        assert trips == [], trips
        t = round(t + 1.0 / RATE, 6)
    return locks, t


def kinds(trips: list[Trip]) -> set[TripKind]:
    return {trip.kind for trip in trips}


def test_in_window_steady_state_has_no_trip():
    locks, t = steady()
    assert locks.check(sample(t, TARGET * 1.05, target=TARGET, voltage=10.0, anode=False)) == []
    assert locks.check_time(t + 0.1) is None


def hold(locks: Interlocks, t0: float, rate: float = RATE, **fields) -> tuple[list[list[Trip]], float]:
    """Feed the same sample (``fields`` for ``sample``) from ``t0`` until a trip or 2 windows; all trips, end t."""
    current = fields.pop("current")
    history: list[list[Trip]] = []
    t = t0
    while t <= t0 + 2 * WINDOW:
        history.append(locks.check(sample(t, current, **fields)))
        if history[-1]:
            break
        t = round(t + 1.0 / rate, 6)
    return history, t


def test_open_circuit_by_current_collapse_cuts_once_it_held_for_the_window():
    locks, t = steady()
    history, t_trip = hold(locks, t, current=0.02, target=TARGET, voltage=90.0, at_compliance=True, anode=False)
    assert history[0] == []  # one sample is not enough
    trips = history[-1]
    assert TripKind.OPEN_CIRCUIT in kinds(trips)
    assert t_trip - t == pytest.approx(WINDOW, abs=1.5 / RATE)
    trip = worst(trips)
    assert trip.action is TripAction.CUT and "Open circuit" in trip.message
    assert trip.evidence["expected_ma"] == pytest.approx(TARGET)
    assert trip.evidence["open_for_s"] >= WINDOW and trip.evidence["window_s"] == WINDOW


def test_open_circuit_by_impedance_above_window():
    locks, t = steady(target=1.0)
    history, _ = hold(locks, t, current=1.0, target=1.0, voltage=89.0, anode=False)
    assert history[0] == []
    trip = worst(history[-1])
    assert trip.kind is TripKind.OPEN_CIRCUIT and trip.evidence["impedance_kohm"] > 80


def test_one_glitching_sample_of_zero_current_does_not_end_the_treatment():
    """Field report F5: one TELEMETRY sample of 0 µA at 1 mA ended the session in 3 ms."""
    locks, t = steady(target=1.0)
    assert locks.check(sample(t, 0.0, target=1.0, voltage=0.0, anode=False)) == []
    for i in range(1, 300):
        assert locks.check(sample(t + i / RATE, 1.0, target=1.0, anode=False)) == []


def test_short_circuit_cuts():
    locks, t = steady()
    trips = locks.check(sample(t, TARGET, voltage=0.2))
    assert kinds(trips) == {TripKind.IMPEDANCE_LOW}
    assert worst(trips).action is TripAction.CUT


def test_impedance_falling_fast_stops_with_ramp():
    locks, t = steady(z_kohm=20.0)
    trips = locks.check(sample(t, TARGET, voltage=TARGET * 10.0))
    assert kinds(trips) == {TripKind.IMPEDANCE_FALLING}
    assert trips[0].action is TripAction.STOP_RAMP


def test_slow_impedance_drift_is_expected_and_does_not_trip():
    locks, t = steady()
    z = 5.0
    for i in range(20_000):  # 20 s, impedance falling 1 %/s (skin hydrating)
        z *= 1 - 0.01 / RATE
        assert locks.check(sample(t + i / RATE, TARGET, voltage=TARGET * z)) == []


def test_compliance_stops_with_ramp():
    locks, t = steady()
    trips = locks.check(sample(t, 1.9, target=TARGET, voltage=90.0, at_compliance=True))
    assert kinds(trips) == {TripKind.COMPLIANCE}


def test_deviation_only_when_settled():
    locks, t = steady()
    # Board target rises: the model slews, a lagging measurement is not a fault.
    for i in range(100):
        assert locks.check(sample(t + i / RATE, TARGET, target=TARGET + 1.0)) == []
    locks2, t2 = steady()
    trips = locks2.check(sample(t2, 1.5, target=TARGET))
    assert kinds(trips) == {TripKind.CURRENT_DEVIATION}


def test_overcurrent_and_density():
    protocol = make_protocol()  # 4 mA max on 10 cm², limit 0.5 mA/cm²
    locks, t = steady(InterlockLimits.from_protocol(protocol, board_slew_ma_s=100.0))
    trips = locks.check(sample(t, 5.5, target=TARGET))
    assert {TripKind.OVERCURRENT, TripKind.DENSITY} <= kinds(trips)
    assert worst(trips).kind is TripKind.OVERCURRENT


def test_density_warning_once_per_crossing():
    lim = InterlockLimits(max_current_ma=25, area_cm2=10, density_limit_ma_cm2=2.0, board_slew_ma_s=100)
    locks, t = steady(lim, target=19.5, z_kohm=1.0)
    trips = locks.check(sample(t, 20.5, target=19.5, voltage=20.5))
    assert kinds(trips) == {TripKind.DENSITY_WARNING} and trips[0].action is TripAction.WARN
    assert locks.check(sample(t + 0.001, 20.4, target=19.5, voltage=20.4)) == []
    assert locks.check(sample(t + 0.002, 19.0, target=19.5, voltage=19.0)) == []
    assert kinds(locks.check(sample(t + 0.003, 20.1, target=19.5, voltage=20.1))) == {TripKind.DENSITY_WARNING}


@pytest.mark.parametrize("code", [c for c in BoardFault if c])
def test_board_fault_frames_cut(code):
    locks, t = steady()
    trips = locks.check(sample(t, 0.0, target=0.0, on=False, fault_code=int(code)))
    assert kinds(trips) == {TripKind.BOARD_FAULT}
    assert trips[0].evidence["fault_code"] == code and trips[0].action is TripAction.CUT


def test_polarity_mismatch_cuts():
    locks, t = steady()
    assert kinds(locks.check(sample(t, TARGET, anode=True))) == {TripKind.POLARITY}


def test_lost_telemetry_by_time_and_by_gap():
    locks, t = steady()
    assert locks.check_time(t + 0.15) is None
    trip = locks.check_time(t + 0.25)
    assert trip.kind is TripKind.LOST_TELEMETRY and trip.action is TripAction.CUT
    # 0.3 s later by the time stamps, and the sample counter says ~300 samples went missing
    assert TripKind.LOST_TELEMETRY in kinds(locks.check(sample(t + 0.3, TARGET, lost_before=299)))


@pytest.mark.parametrize("leap_s", [0.25, 5.0, 4294.967296 - 1.0])
def test_consecutive_samples_far_apart_are_a_board_clock_leap_not_lost_contact(leap_s):
    """The counter says nothing is missing, the time stamps say seconds passed: the board's
    clock leapt (the last case: its u32 µs counter wrapped early and unwrapped as ~71 min)."""
    locks, t = steady()
    last = t - 1.0 / RATE  # ``steady`` returns the time the next sample is due
    trips = locks.check(sample(last + leap_s, TARGET, anode=False))
    assert kinds(trips) == {TripKind.BOARD_CLOCK}, trips
    trip = worst(trips)
    assert trip.action is TripAction.CUT and "clock jumped" in trip.message
    assert trip.evidence["step_s"] == pytest.approx(leap_s)


def test_a_gap_after_arming_without_a_sample_before_is_lost_telemetry():
    locks = Interlocks(InterlockLimits.from_protocol(make_protocol()))
    locks.arm(100.0)
    assert kinds(locks.check(sample(100.3, TARGET))) == {TripKind.LOST_TELEMETRY}


def test_armed_interlocks_trip_if_no_sample_ever_arrives():
    locks = Interlocks(InterlockLimits.from_protocol(make_protocol()))
    assert locks.check_time(100.0) is None  # not armed: nothing expected yet
    locks.arm(100.0)
    assert locks.check_time(100.3).kind is TripKind.LOST_TELEMETRY


def test_lost_samples_burst():
    locks, t = steady()
    assert locks.check(sample(t, TARGET, lost_before=3)) == []
    trips = locks.check(sample(t + 0.001, TARGET, lost_before=50))
    assert kinds(trips) == {TripKind.LOST_SAMPLES}
    assert trips[0].evidence["lost_total"] == 53


def test_stop_ramp_in_progress_is_not_a_collapse_or_deviation():
    locks, t = steady()
    for i in range(300):
        current = max(TARGET - i * 0.01, 0.0)
        assert locks.check(sample(t + i / RATE, current, target=TARGET, voltage=current * 5, stop_ramp=True)) == []


# --- properties ------------------------------------------------------------------

#: Open-circuit evidence, decided over the window (below), not per sample.
OPEN_CIRCUIT = {
    "collapse": lambda x: dict(current=0.09 * TARGET * x, voltage=0.0),
    "collapse_at_compliance": lambda x: dict(current=0.09 * TARGET * x, voltage=90.0, at_compliance=True),
    "z_high": lambda x: dict(current=TARGET, voltage=TARGET * (80.01 + 500 * x)),
}

VIOLATIONS = {
    "z_low": (lambda x: dict(current=TARGET, voltage=TARGET * 0.199 * x), TripKind.IMPEDANCE_LOW),
    "z_fall": (lambda x: dict(current=TARGET, voltage=TARGET * 5.0 * 0.599 * (0.4 + 0.6 * x)),
               TripKind.IMPEDANCE_FALLING),
    "compliance": (lambda x: dict(current=TARGET * (0.2 + 0.8 * x), voltage=TARGET * 5, at_compliance=True),
                   TripKind.COMPLIANCE),
    "deviation": (lambda x: dict(current=TARGET + (0.21 + x) * (1 if x > 0.5 else -1)),
                  TripKind.CURRENT_DEVIATION),
    "overcurrent": (lambda x: dict(current=4.21 + 20 * x), TripKind.OVERCURRENT),
    "density": (lambda x: dict(current=5.26 + 19 * x), TripKind.DENSITY),
    "fault": (lambda x: dict(current=TARGET, fault_code=1 + int(x * 5.99)), TripKind.BOARD_FAULT),
    "polarity": (lambda x: dict(current=TARGET, anode=True), TripKind.POLARITY),
    "lost": (lambda x: dict(current=TARGET, lost_before=21 + int(x * 1000)), TripKind.LOST_SAMPLES),
}


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from(sorted(VIOLATIONS)), x=st.floats(0.0, 1.0), warm=st.floats(0.4, 2.0))
def test_every_out_of_window_sample_trips_on_that_sample(which, x, warm):
    build, expected = VIOLATIONS[which]
    locks, t = steady(seconds=warm)
    fields = build(x)
    current = fields.pop("current")
    voltage = fields.pop("voltage", current * 5.0)
    trips = locks.check(Sample(t=t, current_ma=current, voltage_v=voltage, target_ma=TARGET, output_on=True,
                               **{"anode": False, **fields}))
    assert expected in kinds(trips), (which, fields, trips)
    assert all(trip.message and trip.t == t for trip in trips)


@settings(max_examples=150, deadline=None)
@given(noise=st.lists(st.floats(-0.09, 0.09), min_size=1, max_size=50),
       z=st.floats(0.25, 79.0), target=st.floats(0.2, 4.0))
def test_no_trip_inside_every_window(noise, z, target):
    """No false alarm: measurement noise within tolerance on a valid load never trips."""
    z = min(z, 89.0 / target)  # stay below compliance voltage
    locks, t = steady(target=target, z_kohm=z)
    for i, n in enumerate(noise):
        current = target + n * min(1.0, target)
        assert locks.check(sample(t + i / RATE, current, target=target, voltage=current * z, anode=False)) == []


def test_open_circuit_at_a_tiny_level_is_not_mistaken_for_compliance():
    """Electrode lifted while the ramp is still near zero: voltage limit, no current -> open circuit."""
    locks = Interlocks(InterlockLimits.from_protocol(make_protocol()))
    history, _ = hold(locks, 0.0, current=0.0, target=0.04, voltage=90.0, at_compliance=True)
    assert all(trips == [] for trips in history[:-1])  # no compliance trip while the evidence is pending
    trips = history[-1]
    assert kinds(trips) == {TripKind.OPEN_CIRCUIT} and trips[0].action is TripAction.CUT


@pytest.mark.parametrize("offset_ma", [0.0, 0.019, 0.05, 0.09])
def test_a_lift_during_the_first_ramp_is_an_open_circuit_even_with_a_current_offset(offset_ma):
    """A board with an offset reads a few µA at 90 V with the electrode off: megohms, not skin."""
    locks = Interlocks(InterlockLimits.from_protocol(make_protocol()))
    history, _ = hold(locks, 0.0, current=offset_ma, target=0.03, voltage=90.0, at_compliance=True)
    assert all(trips == [] for trips in history[:-1])
    trips = history[-1]
    assert kinds(trips) == {TripKind.OPEN_CIRCUIT} and trips[0].action is TripAction.CUT


# --- the open-circuit window (F5) ------------------------------------------------------


def _open_sample(which: str, x: float, t: float) -> Sample:
    fields = OPEN_CIRCUIT[which](x)
    current = fields.pop("current")
    return Sample(t=t, current_ma=current, voltage_v=fields.pop("voltage"), target_ma=TARGET, output_on=True,
                  anode=False, **fields)


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from(sorted(OPEN_CIRCUIT)), x=st.floats(0.0, 1.0), warm=st.floats(0.4, 1.5),
       rate=st.sampled_from([100, 200, 500, 1000]), run=st.integers(1, 60), after=st.integers(1, 100))
def test_open_circuit_evidence_shorter_than_the_window_never_trips(which, x, warm, rate, run, after):
    """A glitch (one sample, or any run of samples spanning less than the window) never trips."""
    locks, t = steady(seconds=warm)
    run = min(run, max(1, int(WINDOW * rate - 1e-9)))  # the run spans (run-1)/rate < WINDOW
    for i in range(run):
        assert locks.check(_open_sample(which, x, round(t + i / rate, 6))) == []
    t = round(t + run / rate, 6)
    for i in range(after):
        assert locks.check(sample(round(t + i / rate, 6), TARGET, anode=False)) == []


@settings(max_examples=150, deadline=None)
@given(which=st.sampled_from(sorted(OPEN_CIRCUIT)), x=st.floats(0.0, 1.0), warm=st.floats(0.4, 1.5),
       rate=st.sampled_from([10, 100, 200, 500, 1000]))
def test_a_sustained_open_circuit_cuts_within_the_window(which, x, warm, rate):
    """Sustained loss trips OPEN_CIRCUIT (cut) on the first sample at least the window after its onset,
    so within the window plus one sample period, and never before the window."""
    locks, t0 = steady(seconds=warm)
    t = t0
    while True:
        trips = locks.check(_open_sample(which, x, t))
        if trips:
            break
        t = round(t + 1.0 / rate, 6)
        assert t <= t0 + WINDOW + 1.0 / rate + 1e-9, "no trip within the window"
    assert kinds(trips) == {TripKind.OPEN_CIRCUIT} and worst(trips).action is TripAction.CUT
    assert WINDOW - 1e-9 <= t - t0 <= WINDOW + 1.0 / rate + 1e-9
