"""The shared physical model: loads, hydration, front end, conditions, snapshot for instruments."""

from __future__ import annotations

import math
import threading

import pytest

from ionto_sim.model import (
    COMPLIANCE_V, Drive, EquivalentCircuit, FrontEnd, PhysicalModel, ResistorLoad, SkinElectrodeLoad, load_from_spec,
)


def test_skin_hydrates_only_while_current_flows():
    skin = SkinElectrodeLoad()
    assert 20_000 <= skin.rp_ohm <= 50_000
    skin.advance(600.0, 0.0)  # no current: no change
    assert skin.rp_ohm == skin.rp_start_ohm
    skin.advance(120.0, 1e-3)  # one time constant of current
    expected = skin.rp_settled_ohm + (skin.rp_start_ohm - skin.rp_settled_ohm) / math.e
    assert skin.rp_ohm == pytest.approx(expected)
    skin.advance(1_800.0, 1e-3)
    assert skin.rp_ohm == pytest.approx(skin.rp_settled_ohm, rel=1e-3)
    assert 1_000 <= skin.rp_settled_ohm <= 9_000


def test_tray_preset_is_lower_than_skin():
    tray, skin = SkinElectrodeLoad.tap_water_tray(), SkinElectrodeLoad()
    assert tray.circuit().dc_ohm < skin.circuit().dc_ohm / 2


def test_tray_preset_is_a_plausible_pair_of_feet_or_hands_in_tap_water():
    """A few hundred ohms to about 2 kΩ once settled, a few kΩ at most at the start: 20 mA fits
    under the board's 90 V from the first second (docstring of ``tap_water_tray``)."""
    tray = SkinElectrodeLoad.tap_water_tray()
    assert tray.circuit().dc_ohm * 0.020 < 0.9 * COMPLIANCE_V
    tray.advance(300.0, 0.020)  # five minutes of treatment
    assert 500 <= tray.circuit().dc_ohm <= 2_000


def _tap_water_drive(protocol, t: float) -> float:
    """The setpoint (µA) a therapist who asks for the maximum at once gets: the protocol's ramp."""
    return min(protocol.ramp_rate_ma_s * t, protocol.max_current_ma) * 1000.0


@pytest.mark.parametrize("protocol_id", ["tap-water-feet-dc", "tap-water-feet-pulsed", "tap-water-hands-dc",
                                         "tap-water-hands-pulsed"])
def test_every_library_tap_water_protocol_runs_to_its_dose_on_the_tray_without_an_interlock(protocol_id):
    """The whole prescription in simulated time: ramped to the maximum, held until the dose. The
    load stays inside the windows the console trips on (voltage limit, resistance too low, a
    resistance falling by 40 % within a second), so a demo tray treatment can run to its end."""
    from ionto_console.core.interlocks import InterlockLimits
    from ionto_console.core.protocols import load_library

    protocol = next(p for p in load_library() if p.id == protocol_id)
    limits = InterlockLimits.from_protocol(protocol)
    model = PhysicalModel(load=SkinElectrodeLoad.tap_water_tray(), seed=1)
    cal = (model.front_end.ideal_gain, model.front_end.ideal_offset_ua)
    duty = protocol.duty
    dt, t, dose, history = 0.1, 0.0, 0.0, []
    while dose < protocol.dose_target_ma_min:
        drive = Drive(enabled=True, setpoint_ua=_tap_water_drive(protocol, t), cal_gain=cal[0], cal_offset_ua=cal[1],
                      pulsed=protocol.pulsed, duty=duty)
        state = model.step(dt, drive)
        t += dt
        assert not state.at_compliance, f"at the voltage limit at {t:.1f} s, {state.true_ua / 1000:.1f} mA"
        current_ma = state.true_ua / 1000.0
        dose += current_ma * duty * dt / 60.0
        if current_ma >= limits.impedance_min_current_ma:
            z_kohm = state.voltage_v / current_ma
            assert z_kohm >= limits.impedance_min_kohm
            history = [(ht, z) for ht, z in history if t - ht <= limits.fall_window_s] + [(t, z_kohm)]
            assert z_kohm >= (1.0 - limits.impedance_fall_fraction) * max(z for _, z in history)
        assert t < 3_600, "the dose was never reached"
    assert state.true_ua == pytest.approx(protocol.max_current_ma * 1000.0, rel=1e-6)


def test_impedance_of_the_equivalent_circuit():
    c = EquivalentCircuit(rs_ohm=300, rp_ohm=30_000, cp_farad=1e-6)
    assert c.impedance(0.0) == pytest.approx(complex(30_300, 0))
    z = c.impedance(1_000.0)
    zp = 30_000 / (1 + 1j * 2 * math.pi * 1_000 * 30_000 * 1e-6)
    assert z == pytest.approx(300 + zp)
    assert z.imag < 0 and c.phase_deg(1_000.0) < 0
    assert ResistorLoad(4_700).circuit().impedance(1e5) == complex(4_700, 0)


@pytest.mark.parametrize(("spec", "dc"), [("skin", 30_300), ("tray", 3_600), ("resistor:1500", 1_500),
                                          ("RESISTOR:2e3", 2_000)])
def test_load_specs(spec, dc):
    assert load_from_spec(spec).circuit().dc_ohm == pytest.approx(dc)


@pytest.mark.parametrize("spec", ["", "skin:3", "resistor", "resistor:abc", "resistor:-5", "capacitor:1"])
def test_bad_load_specs_are_refused_with_a_message(spec):
    with pytest.raises(ValueError, match="load|resistor"):
        load_from_spec(spec)


def test_regulation_reports_the_setpoint_and_hides_the_hardware_error():
    m = PhysicalModel(load=ResistorLoad(1_000))
    s = m.step(0.001, Drive(enabled=True, setpoint_ua=1_000.0))
    assert s.reported_ua == pytest.approx(1_000.0)
    assert s.true_ua == pytest.approx((1_000 - 18) / 0.97)
    fe = FrontEnd()
    s = m.step(0.001, Drive(True, 1_000.0, cal_gain=fe.ideal_gain, cal_offset_ua=fe.ideal_offset_ua))
    assert s.true_ua == pytest.approx(1_000.0) and s.voltage_v == pytest.approx(1.0)


def test_compliance_limits_the_voltage_and_the_current():
    m = PhysicalModel(load=ResistorLoad(45_000))
    s = m.step(0.001, Drive(True, 4_000.0))
    assert s.at_compliance and s.voltage_v == 90.0 and s.true_ua == pytest.approx(2_000.0)


def test_conditions_lifted_shorted_and_the_regulator_spike():
    m = PhysicalModel(load=SkinElectrodeLoad())
    m.lift_electrode()
    s = m.step(0.001, Drive(True, 1_000.0))
    assert s.true_ua == 0.0 and s.at_compliance and s.voltage_v == 90.0
    assert m.snapshot().condition == "lifted" and math.isinf(m.snapshot().impedance(1e3).real)
    m.short_electrodes()
    s = m.step(0.001, Drive(True, 1_000.0))
    assert s.true_ua > 1_000.0 and s.voltage_v < 0.001 and m.snapshot().condition == "shorted"
    m.clear_short()
    m.restore_electrode()
    assert m.snapshot().condition == "normal"
    m.inject_regulator_failure()
    spike = m.step(0.001, Drive(True, 1_000.0))
    assert spike.true_ua == 40_000.0  # 90 V / 300 ohm is beyond the 40 mA range
    m.step(0.0, Drive(False, 0.0))  # the output relay opens: the failure is gone
    assert m.step(0.001, Drive(True, 1_000.0)).true_ua < 1_100


def test_disabled_output_carries_no_current():
    m = PhysicalModel()
    s = m.step(1.0, Drive(False, 3_000.0))
    assert s.true_ua == 0.0 and s.voltage_v == 0.0 and s.reported_ua == pytest.approx(18.0)


def test_noise_is_seedable():
    a, b = PhysicalModel(seed=5), PhysicalModel(seed=5)
    s = a.step(0.0, Drive(True, 100.0))
    assert [a.measure(s) for _ in range(5)] == [b.measure(s) for _ in range(5)]
    assert len({a.measure(s) for _ in range(5)}) == 5


def test_snapshot_for_instruments_is_consistent_under_concurrent_stepping():
    m = PhysicalModel(load=ResistorLoad(2_000))
    stop = threading.Event()

    def board() -> None:
        level = 0.0
        while not stop.is_set():
            level = (level + 10.0) % 4_000
            m.step(0.001, Drive(True, level))

    worker = threading.Thread(target=board)
    worker.start()
    try:
        for _ in range(2_000):
            snap = m.snapshot()
            assert snap.voltage_v == pytest.approx(snap.true_current_a * 2_000, abs=1e-9)
    finally:
        stop.set()
        worker.join()
