"""TELEMETRY timing and content, dropped-frame counting, calibration math, pulsed mode."""

from __future__ import annotations

import statistics

import pytest

from ionto_console.drivers.board.framing import encode_frame
from ionto_console.drivers.board.messages import (
    Flags, GetStatus, Hello, Output, SetLimits, SetRate, SetTarget, SetWaveform, Telemetry, WriteCal, parse,
)
from ionto_sim.model import FrontEnd, ResistorLoad

from sim_harness import Bench


@pytest.mark.parametrize("rate", [10, 100, 250, 1_000])
def test_telemetry_rate_counter_and_time_stamps(bench, rate):
    bench.cmd(SetRate(rate))
    mark = len(bench.log)
    bench.run(2.0, step_s=0.037)  # odd step: the board must not care how often it is advanced
    tel = bench.telemetry(mark)
    assert len(tel) == 2 * rate
    counters = [t.counter for t in tel]
    assert counters == list(range(counters[0], counters[0] + len(tel)))
    stamps = [t.board_time_us for t in tel]
    steps = {b - a for a, b in zip(stamps, stamps[1:])}
    assert max(steps) - min(steps) <= 1 and min(steps) == pytest.approx(1e6 / rate, abs=1)


def test_telemetry_catches_up_with_honest_stamps_after_a_late_advance(bench):
    bench.board.advance(0.5)  # one late call: 50 samples at once
    tel = [parse(f) for f in bench.decoder.feed(bench.board.take_output())]
    assert len(tel) == 50
    stamps = [t.board_time_us for t in tel]
    assert stamps == [10_000 * (i + 1) for i in range(50)]


def test_board_frames_use_their_own_wrapping_seq(bench):
    bench.cmd(SetRate(1_000))
    bench.run(0.3)
    seqs = [s for _, s, m in bench.log if isinstance(m, Telemetry)]
    assert len(seqs) == 300
    assert all((b - a) % 256 == 1 for a, b in zip(seqs, seqs[1:]))


@pytest.mark.parametrize("garbage", [
    Hello().frame(1)[:-3] + b"\x55\x00",          # bad CRC
    b"\x05\x01\x02\x03\x00",                        # bad COBS (code byte runs past the end)
    b"\x02\x01\x00",                                # too short after decoding
    encode_frame(0x01, 1)[:-1] * 10 + b"\x00",      # too long
    bytes(range(1, 200)) + b"\x00",                 # oversized run without a delimiter
])
def test_invalid_frames_are_dropped_counted_and_never_answered(bench, garbage):
    assert bench.raw(garbage) == []
    assert bench.cmd(GetStatus()).frames_dropped == 1
    assert bench.cmd(Hello()).serial_number == "SIM-00001"  # decoder resynchronised


def test_empty_frames_are_ignored_not_counted(bench):
    assert bench.raw(b"\x00\x00\x00") == []
    assert bench.cmd(GetStatus()).frames_dropped == 0


def test_frames_split_across_reads_are_reassembled(bench):
    data = SetTarget(1234).frame(5) + GetStatus().frame(6)
    replies = []
    for i in range(len(data)):
        replies += bench.raw(data[i:i + 1])
    assert len(replies) == 2 and replies[1].frames_dropped == 0


def run_at(bench: Bench, target: int, seconds: float = 3.0) -> tuple[float, float]:
    """Mean telemetry current and the true current (µA) at a settled target."""
    bench.cmd(SetLimits(5_000, 5_000, 2_000))
    bench.cmd(SetTarget(target))
    bench.cmd(Output(1))
    bench.run(1.5)
    mark = len(bench.log)
    bench.run(seconds)
    reported = statistics.fmean(t.current_ua for t in bench.telemetry(mark))
    true_ua = bench.model.snapshot().true_current_a * 1e6
    bench.cmd(Output(0))
    return reported, true_ua


def test_factory_calibration_makes_the_true_output_wrong():
    b = Bench(load=ResistorLoad(1_000))
    reported, true_ua = run_at(b, 2_000)
    assert reported == pytest.approx(2_000, abs=1.0)  # the board regulates what it reports
    assert true_ua == pytest.approx((2_000 - 18) / 0.97, abs=0.01)  # ~2043 µA really flow


def test_correct_calibration_constants_make_the_output_true():
    b = Bench(load=ResistorLoad(1_000))
    fe = FrontEnd()
    b.cmd(WriteCal(fe.ideal_gain, fe.ideal_offset_ua, 1_760_000_000))
    for target in (500, 2_000, 4_000):
        reported, true_ua = run_at(b, target)
        assert reported == pytest.approx(target, abs=1.0)
        assert true_ua == pytest.approx(target, abs=0.01)


def test_two_point_calibration_from_dmm_readings_recovers_the_hidden_constants():
    """What a bench calibration run does: fit reported vs. true, write the inverse."""
    b = Bench(load=ResistorLoad(1_000))
    points = [run_at(b, target, seconds=1.0) for target in (500, 3_500)]
    (r1, t1), (r2, t2) = points
    k = (r2 - r1) / (t2 - t1)  # reported = true * k + o with gain 1, offset 0
    o = r1 - k * t1
    assert k == pytest.approx(0.97, abs=0.002) and o == pytest.approx(18.0, abs=2.0)


def test_off_state_reading_shows_the_front_end_offset(bench):
    bench.run(1.0)
    mean = statistics.fmean(t.current_ua for t in bench.telemetry())
    assert mean == pytest.approx(18.0, abs=1.0)


def test_pulsed_mode_reports_the_on_phase_amplitude():
    b = Bench(load=ResistorLoad(2_000))
    b.cmd(SetWaveform(1, 1_000, 25))
    reported, true_ua = run_at(b, 2_000)
    assert reported == pytest.approx(2_000, abs=1.0)
    assert b.telemetry()[-1].flags & Flags.PULSED
    b.cmd(Output(1))
    b.run(1.0)
    snap = b.model.snapshot()
    assert snap.pulsed and snap.mean_current_a == pytest.approx(snap.true_current_a * 0.25)


def test_telemetry_voltage_follows_the_load():
    b = Bench(load=ResistorLoad(10_000))
    b.cmd(SetLimits(5_000, 5_000, 2_000))
    b.cmd(SetTarget(3_000))
    b.cmd(Output(1))
    b.run(2.0)
    tel = b.last_telemetry()
    true_a = b.model.snapshot().true_current_a
    assert tel.voltage_mv == pytest.approx(true_a * 10_000 * 1000, abs=30)
    assert tel.flags & Flags.OUTPUT_ENABLED and not tel.flags & Flags.AT_COMPLIANCE


def test_pulsed_telemetry_follows_the_clarified_icd():
    """ICD §3 "Pulsed mode" (clarified): current and voltage are the pulse amplitude (mean over the
    on-phases), target the amplitude target; with the output off both are the zero readings."""
    b = Bench(load=ResistorLoad(4_000))
    b.cmd(SetWaveform(1, 500, 30))
    b.cmd(SetLimits(5_000, 5_000, 2_000))
    b.cmd(SetTarget(2_000))
    b.cmd(Output(1))
    b.run(1.5)
    mark = len(b.log)
    b.run(1.0)
    tel = b.telemetry(mark)
    assert all(t.flags & Flags.PULSED and t.target_ua == 2_000 for t in tel)
    current = statistics.fmean(t.current_ua for t in tel)
    voltage = statistics.fmean(t.voltage_mv for t in tel)
    assert current == pytest.approx(2_000, rel=0.02)  # the amplitude, not 600 µA (x duty)
    assert voltage == pytest.approx(2_000e-6 * 4_000 * 1000, rel=0.05)  # amplitude x load: 8 V, not 2.4 V
    snap = b.model.snapshot()
    assert snap.mean_current_a == pytest.approx(snap.true_current_a * 0.30)  # the charge per second
    b.cmd(Output(0))
    mark = len(b.log)
    b.run(0.5)
    off = b.telemetry(mark)
    assert all(not t.flags & Flags.OUTPUT_ENABLED for t in off)
    assert max(abs(t.current_ua) for t in off) < 100 and max(abs(t.voltage_mv) for t in off) < 100
