"""ICD section 4 on the simulated board: slew, STOP, OUTPUT 0, watchdog, every fault code."""

from __future__ import annotations

import pytest

from ionto_console.drivers.board.framing import encode_frame
from ionto_console.drivers.board.messages import (
    Ack, ClearFault, Fault, FaultCode, Flags, GetStatus, Heartbeat, MsgType, Output, SetLimits,
    SetTarget, Stop,
)
from ionto_sim.model import ResistorLoad

from sim_harness import Bench


def faults(bench: Bench) -> list[tuple[float, Fault]]:
    return [(t, m) for t, _, m in bench.log if isinstance(m, Fault)]


def start(bench: Bench, target: int, slew: int = 100, max_ua: int = 4_000, watchdog: int = 250) -> None:
    bench.cmd(SetLimits(max_ua, slew, watchdog))
    bench.cmd(SetTarget(target))
    assert bench.cmd(Output(1)) == Ack(MsgType.OUTPUT)


def trace(bench: Bench) -> list[tuple[float, float, float]]:
    """Record (time, true µA, slewed level) after every physics step."""
    points: list[tuple[float, float, float]] = []
    bench.board.step_observer = lambda t, state, board: points.append((t, state.true_ua, board.level_ua))
    return points


# --- slew ---------------------------------------------------------------------


def test_output_slews_to_target_at_the_slew_limit(bench):
    points = trace(bench)
    start(bench, 1_000, slew=100)
    bench.run(5.0)
    assert bench.board.level_ua == pytest.approx(500, abs=1.0)
    assert bench.last_telemetry().flags & Flags.SLEWING
    bench.run(5.5)
    assert bench.board.level_ua == 1_000
    assert not bench.last_telemetry().flags & Flags.SLEWING
    rises = [(b[2] - a[2]) / (b[0] - a[0]) for a, b in zip(points, points[1:]) if b[0] > a[0]]
    assert max(rises) <= 100 * (1 + 1e-6)
    tel = bench.last_telemetry()
    assert tel.current_ua == pytest.approx(1_000, abs=10) and tel.target_ua == 1_000


def test_lowering_the_target_also_slews(bench):
    start(bench, 1_000, slew=1_000)
    bench.run(1.5)
    bench.cmd(SetTarget(200))
    bench.run(0.4)
    assert bench.board.level_ua == pytest.approx(600, abs=1.5)
    bench.run(0.5)
    assert bench.board.level_ua == 200


def test_rising_current_stays_slew_limited_when_skin_hydrates_at_compliance():
    """At compliance the setpoint follows the reached current, so a falling Rp cannot make a jump."""
    b = Bench()  # skin starting at ~30 kOhm: 90 V gives ~3 mA
    points = trace(b)
    start(b, 4_000, slew=5_000, watchdog=2_000)
    b.run(4.0, heartbeat_s=0.5, step_s=0.05)
    assert b.last_telemetry().flags & Flags.AT_COMPLIANCE
    b.model.set_load(ResistorLoad(1_000))  # impedance collapses at once
    b.run(0.5, heartbeat_s=0.5, step_s=0.05)
    true_slew = 5_000 / 0.97
    for a, c in zip(points, points[1:]):
        if c[0] > a[0]:
            assert c[1] - a[1] <= true_slew * (c[0] - a[0]) + 1e-6


# --- OUTPUT 0 and STOP ----------------------------------------------------------


def test_output_0_cuts_at_once_and_resets_the_target(bench):
    start(bench, 2_000, slew=5_000)
    bench.run(1.0)
    assert bench.model.snapshot().true_current_a > 1.9e-3
    bench.cmd(Output(0))
    snap = bench.model.snapshot()  # same instant, no time advanced
    assert snap.true_current_a == 0.0 and not snap.output_enabled
    bench.run(0.02)
    tel = bench.last_telemetry()
    assert tel.target_ua == 0 and not tel.flags & Flags.OUTPUT_ENABLED
    assert abs(tel.current_ua - 18) < 10  # front-end offset with the factory calibration


@pytest.mark.parametrize("ramp_ms", [100, 1_000, 5_000])
def test_stop_ramps_linearly_to_zero_within_the_time(bench, ramp_ms):
    points = trace(bench)
    start(bench, 2_000, slew=5_000)
    bench.run(1.0)
    t0 = bench.t
    assert bench.cmd(Stop(ramp_ms)) == Ack(MsgType.STOP)
    bench.run(ramp_ms / 2000)
    tel = bench.last_telemetry()
    assert tel.flags & Flags.STOP_RAMP and tel.flags & Flags.OUTPUT_ENABLED and tel.target_ua == 0
    assert bench.board.level_ua == pytest.approx(1_000, rel=0.03)
    bench.run(ramp_ms / 2000 + 0.02)
    tel = bench.last_telemetry()
    assert not tel.flags & (Flags.STOP_RAMP | Flags.OUTPUT_ENABLED)
    off = [t for t, true_ua, _ in points if t > t0 and true_ua == 0.0]
    assert off and off[0] <= t0 + ramp_ms / 1000 + 0.0015
    ramp = [(t, lvl) for t, _, lvl in points if t0 < t < t0 + ramp_ms / 1000 - 0.002]
    for t, lvl in ramp:  # linear: level follows 2000 * (1 - elapsed/T)
        assert lvl == pytest.approx(2_000 * (1 - (t - t0) / (ramp_ms / 1000)), abs=2.0)


def test_stop_0_cuts_at_once_and_stop_while_off_is_acked(bench):
    assert bench.cmd(Stop(500)) == Ack(MsgType.STOP)
    start(bench, 1_000, slew=5_000)
    bench.run(0.5)
    bench.cmd(Stop(0))
    assert bench.model.snapshot().true_current_a == 0.0


def test_output_0_during_stop_ramp_cuts_and_set_target_is_refused(bench):
    start(bench, 2_000, slew=5_000)
    bench.run(1.0)
    bench.cmd(Stop(2_000))
    bench.run(0.2)
    assert bench.cmd(SetTarget(3_000)).error == 4  # BUSY: a STOP ramp cannot be undone
    assert bench.cmd(Output(1)).error == 4
    bench.cmd(Output(0))
    assert bench.model.snapshot().true_current_a == 0.0


# --- watchdog -------------------------------------------------------------------


def test_watchdog_trips_when_the_host_goes_silent(bench):
    start(bench, 1_000)
    t0 = bench.t
    bench.run(0.5, heartbeat_s=None, step_s=0.001)
    (t, fault), = faults(bench)
    assert fault.code == FaultCode.WATCHDOG
    assert fault.board_time_us == pytest.approx((t0 + 0.250) * 1e6, abs=2)
    assert bench.model.snapshot().true_current_a == 0.0
    assert bench.last_telemetry().flags & Flags.FAULT_LATCHED


def test_heartbeats_and_any_valid_command_feed_the_watchdog(bench):
    start(bench, 1_000, watchdog=100)
    for _ in range(40):
        bench.run(0.06, heartbeat_s=None)
        bench.cmd(GetStatus() if _ % 2 else Heartbeat())
    assert faults(bench) == []


def test_invalid_frames_do_not_feed_the_watchdog(bench):
    start(bench, 1_000)
    for _ in range(10):
        bench.run(0.05, heartbeat_s=None)
        assert bench.raw(Heartbeat().frame(1)[:-3] + b"\x55\x00") == []  # bad CRC: no answer
        bench.raw(encode_frame(0x55, 1))  # unknown type: NAKed, does not count either
    assert [f.code for _, f in faults(bench)] == [FaultCode.WATCHDOG]


def test_watchdog_does_not_trip_with_output_off(bench):
    bench.run(3.0, heartbeat_s=None)
    assert faults(bench) == []


# --- faults ---------------------------------------------------------------------


def test_overcurrent_from_a_regulator_failure_trips_in_2_ms(bench):
    start(bench, 1_000, slew=5_000)
    bench.run(0.5)
    bench.model.inject_regulator_failure()
    t0 = bench.t
    bench.run(0.05, step_s=0.001)
    (t, fault), = faults(bench)
    assert fault.code == FaultCode.OVERCURRENT
    assert fault.detail > 4_400
    assert fault.board_time_us == pytest.approx((t0 + 0.002) * 1e6, abs=2)
    assert bench.model.snapshot().true_current_a == 0.0
    bench.cmd(ClearFault())
    start(bench, 1_000, slew=5_000)  # the failure was a one-off: a restart runs clean
    bench.run(0.5)
    assert len(faults(bench)) == 1


def test_open_circuit_trips_after_200_ms_when_the_electrode_lifts(bench):
    start(bench, 1_000, slew=5_000)
    bench.run(1.0)
    bench.model.lift_electrode()
    t0 = bench.t
    bench.run(0.5, step_s=0.001)
    (t, fault), = faults(bench)
    assert fault.code == FaultCode.OPEN_CIRCUIT
    assert fault.board_time_us == pytest.approx((t0 + 0.200) * 1e6, abs=2)
    assert fault.detail < 100
    tel = [m for m in bench.telemetry() if m.flags & Flags.AT_COMPLIANCE]
    assert tel and tel[-1].voltage_mv == pytest.approx(90_000, abs=50)


def test_shorted_electrodes_keep_the_current_regulated(bench):
    start(bench, 1_000, slew=5_000)
    bench.run(0.5)
    bench.model.short_electrodes()
    bench.run(1.0)
    tel = bench.last_telemetry()
    assert tel.current_ua == pytest.approx(1_000, abs=10) and tel.voltage_mv < 30
    assert faults(bench) == []


def test_compliance_fault_after_5_s_at_compliance():
    b = Bench(load=ResistorLoad(60_000))  # 90 V / 60 kOhm = 1.5 mA < 3 mA target
    start(b, 3_000, slew=5_000, watchdog=2_000)
    b.run(8.0, heartbeat_s=0.5, step_s=0.005)
    (t, fault), = faults(b)
    assert fault.code == FaultCode.COMPLIANCE
    first = min(m.board_time_us for m in b.telemetry() if m.flags & Flags.AT_COMPLIANCE)
    assert 4.99e6 <= fault.board_time_us - first <= 5.0e6  # telemetry sees compliance up to 10 ms late
    assert fault.detail == pytest.approx(1.5e-3 * 0.97e6 + 18, abs=10)


def test_hardware_stop_latches_shows_bit7_and_relatches_while_held(bench):
    start(bench, 1_000, slew=5_000)
    bench.run(0.5)
    bench.board.press_hw_stop(bench.t)
    assert bench.model.snapshot().true_current_a == 0.0
    bench.run(0.05)
    tel = bench.last_telemetry()
    assert tel.flags & Flags.HW_STOP_PRESSED and tel.latched_fault == FaultCode.HARDWARE_STOP
    bench.cmd(ClearFault())
    bench.run(0.05)
    assert bench.last_telemetry().latched_fault == FaultCode.HARDWARE_STOP
    bench.board.release_hw_stop(bench.t)
    bench.cmd(ClearFault())
    bench.run(0.05)
    tel = bench.last_telemetry()
    assert tel.latched_fault == 0 and tel.flags & (Flags.HW_STOP_PRESSED | Flags.FAULT_LATCHED) == 0
    assert [f.code for _, f in faults(bench)] == [FaultCode.HARDWARE_STOP] * 2


def test_self_test_failure_at_next_reboot(bench):
    bench.board.fail_self_test_at_next_boot(7)
    bench.run(0.1)
    assert faults(bench) == []
    bench.board.reboot(bench.t)
    bench.run(0.05)
    (_, fault), = faults(bench)
    assert (fault.code, fault.detail, fault.board_time_us) == (FaultCode.SELF_TEST, 7, 0)
    assert bench.cmd(Output(1)).error == 5
    bench.cmd(ClearFault())
    bench.board.reboot(bench.t)  # armed once only
    bench.run(0.05)
    assert len(faults(bench)) == 1


def test_fault_detail_and_time_stamp(bench):
    start(bench, 2_000, slew=5_000)
    bench.run(1.0)
    bench.run(0.4, heartbeat_s=None, step_s=0.001)
    (t, fault), = faults(bench)
    assert fault.code == FaultCode.WATCHDOG
    assert fault.detail == pytest.approx(2_000, abs=10)
    assert fault.board_time_us == pytest.approx(t * 1e6, abs=1_000)
