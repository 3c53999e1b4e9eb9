"""ICD section 2 and 3, table by table, through raw bytes: every command, every NAK code."""

from __future__ import annotations

import math
import struct

import pytest

from ionto_console.drivers.board.framing import encode_frame
from ionto_console.drivers.board.messages import (
    COMMAND_TYPES, MESSAGE_CLASSES, Ack, ClearFault, Flags, GetStatus, Heartbeat, Hello, Ident,
    MsgType, Nak, NakError, Output, SetLimits, SetPolarity, SetRate, SetTarget, SetWaveform, Status,
    Stop, WriteCal,
)
from ionto_sim.board import SimulatedBoard

from sim_harness import Bench


def status(bench: Bench) -> Status:
    reply = bench.cmd(GetStatus())
    assert isinstance(reply, Status)
    return reply


def test_hello_answers_ident_with_serial_limits_and_calibration(bench):
    reply = bench.cmd(Hello())
    assert reply == Ident(protocol_revision=1, fw_major=1, fw_minor=0, fw_patch=0,
                          serial_number="SIM-00001", hw_max_current_ua=25_000, compliance_mv=90_000,
                          cal_gain=1.0, cal_offset_ua=0.0, cal_date=0)


def test_power_on_defaults_in_status(bench):
    bench.run(0.5)
    s = status(bench)
    assert (s.flags, s.latched_fault, s.max_current_ua, s.slew_ua_s, s.watchdog_ms, s.telemetry_hz,
            s.frames_dropped) == (0, 0, 4_000, 100, 250, 100, 0)
    assert s.uptime_ms == 500


@pytest.mark.parametrize("msg", [Heartbeat(), SetPolarity(1), SetTarget(1000), Output(0),
                                 SetLimits(5000, 200, 500), SetRate(50), ClearFault(),
                                 WriteCal(1.01, -3.0, 1_700_000_000), SetWaveform(1, 100, 50), Stop(0)])
def test_every_plain_command_is_acked_with_its_type(bench, msg):
    assert bench.cmd(msg) == Ack(int(msg.TYPE))


def test_seq_is_echoed_and_wraps():
    b = Bench()
    for seq in (0, 1, 254, 255):
        b.board.receive(Heartbeat().frame(seq), b.t)
        frames = list(b.decoder.feed(b.board.take_output()))
        assert [(f.type, f.seq) for f in frames] == [(MsgType.ACK, seq)]


@pytest.mark.parametrize("msg_type", [0x00, 0x0D, 0x20, 0x7E, int(MsgType.ACK), int(MsgType.TELEMETRY), 0xFF])
def test_unknown_or_board_side_type_gets_nak_unknown_command(bench, msg_type):
    replies = bench.raw(encode_frame(msg_type, 9))
    assert replies == [Nak(msg_type, NakError.UNKNOWN_COMMAND)]


BAD_LENGTHS = [(t, MESSAGE_CLASSES[t].payload_size() + d) for t in sorted(COMMAND_TYPES) for d in (-1, 1, 7)
               if MESSAGE_CLASSES[t].payload_size() + d >= 0]


@pytest.mark.parametrize(("msg_type", "size"), BAD_LENGTHS)
def test_wrong_payload_length_gets_nak_bad_length(bench, msg_type, size):
    assert bench.raw(encode_frame(msg_type, 3, bytes(size))) == [Nak(msg_type, NakError.BAD_LENGTH)]


OUT_OF_RANGE = [
    SetPolarity(2), SetTarget(4_001), Output(2),
    SetLimits(25_001, 100, 250), SetLimits(4_000, 9, 250), SetLimits(4_000, 5_001, 250),
    SetLimits(4_000, 100, 99), SetLimits(4_000, 100, 2_001),
    SetRate(9), SetRate(1_001), SetRate(0),
    SetWaveform(2, 100, 50), SetWaveform(1, 0, 50), SetWaveform(1, 20_001, 50),
    SetWaveform(1, 100, 9), SetWaveform(1, 100, 91),
    Stop(5_001), WriteCal(math.nan, 0.0, 0), WriteCal(0.0, 0.0, 0), WriteCal(1.0, math.inf, 0),
]


@pytest.mark.parametrize("msg", OUT_OF_RANGE, ids=repr)
def test_out_of_range_gets_nak_and_changes_nothing(bench, msg):
    before = status(bench)
    ident_before = bench.cmd(Hello())
    assert bench.cmd(msg) == Nak(int(msg.TYPE), NakError.OUT_OF_RANGE)
    after = status(bench)
    assert (after.flags, after.max_current_ua, after.slew_ua_s, after.watchdog_ms, after.telemetry_hz) == (
        before.flags, before.max_current_ua, before.slew_ua_s, before.watchdog_ms, before.telemetry_hz)
    assert bench.cmd(Hello()) == ident_before
    bench.run(0.2)
    assert bench.last_telemetry().target_ua == 0


@pytest.mark.parametrize("ok", [SetLimits(25_000, 10, 100), SetLimits(0, 5_000, 2_000), SetRate(10),
                                SetRate(1_000), SetWaveform(1, 1, 10), SetWaveform(1, 20_000, 90),
                                Stop(5_000), SetTarget(4_000)], ids=repr)
def test_range_edges_are_accepted(bench, ok):
    assert bench.cmd(ok) == Ack(int(ok.TYPE))


@pytest.mark.parametrize("msg", [SetPolarity(1), SetLimits(5_000, 200, 500), WriteCal(1.03, -18.0, 5),
                                 SetWaveform(1, 100, 50)], ids=repr)
def test_settings_are_busy_while_output_enabled(bench, msg):
    bench.cmd(Output(1))
    assert bench.cmd(msg) == Nak(int(msg.TYPE), NakError.BUSY)
    bench.cmd(Output(0))
    assert bench.cmd(msg) == Ack(int(msg.TYPE))


def test_set_limits_takes_effect_and_set_target_obeys_the_new_max(bench):
    assert bench.cmd(SetLimits(10_000, 500, 1_000)) == Ack(MsgType.SET_LIMITS)
    s = status(bench)
    assert (s.max_current_ua, s.slew_ua_s, s.watchdog_ms) == (10_000, 500, 1_000)
    assert bench.cmd(SetTarget(10_000)) == Ack(MsgType.SET_TARGET)
    assert bench.cmd(SetTarget(10_001)) == Nak(MsgType.SET_TARGET, NakError.OUT_OF_RANGE)


def test_lowering_max_current_clamps_a_stored_target(bench):
    bench.cmd(SetTarget(3_000))
    bench.cmd(SetLimits(1_000, 100, 250))
    bench.run(0.05)
    assert bench.last_telemetry().target_ua == 1_000


def test_output_1_with_fault_latched_gets_fault_active(bench):
    bench.cmd(Output(1))
    bench.run(0.5, heartbeat_s=None)  # watchdog trips
    assert bench.cmd(Output(1)) == Nak(MsgType.OUTPUT, NakError.FAULT_ACTIVE)
    assert bench.cmd(ClearFault()) == Ack(MsgType.CLEAR_FAULT)
    assert status(bench).flags & Flags.OUTPUT_ENABLED == 0  # output stays disabled after CLEAR_FAULT
    assert bench.cmd(Output(1)) == Ack(MsgType.OUTPUT)


def test_polarity_and_pulsed_mode_show_in_flags(bench):
    bench.cmd(SetPolarity(1))
    bench.cmd(SetWaveform(1, 1000, 30))
    bench.run(0.05)
    flags = bench.last_telemetry().flags
    assert flags & Flags.POLARITY_ANODE and flags & Flags.PULSED
    bench.cmd(SetPolarity(0))
    bench.cmd(SetWaveform(0, 1000, 30))
    bench.run(0.05)
    assert bench.last_telemetry().flags & (Flags.POLARITY_ANODE | Flags.PULSED) == 0


def test_write_cal_is_reported_by_ident_and_survives_reboot(bench):
    bench.cmd(WriteCal(1.0309, -18.56, 1_760_000_000))
    bench.board.reboot(bench.t)
    ident = bench.cmd(Hello())
    assert ident.cal_date == 1_760_000_000
    assert ident.cal_gain == pytest.approx(1.0309, rel=1e-6)
    assert ident.cal_offset_ua == pytest.approx(-18.56, rel=1e-6)


def test_reboot_restores_power_on_defaults_and_restarts_counters(bench):
    bench.cmd(SetLimits(9_000, 800, 900))
    bench.cmd(SetRate(500))
    bench.cmd(SetPolarity(1))
    bench.cmd(SetWaveform(1, 50, 40))
    bench.cmd(SetTarget(2_000))
    bench.raw(b"\x05\x01\x02\x03\x00")  # one bad frame
    bench.run(1.0)
    assert status(bench).frames_dropped == 1
    bench.board.reboot(bench.t)
    mark = len(bench.log)
    bench.run(0.1)
    s = status(bench)
    assert (s.flags, s.latched_fault, s.max_current_ua, s.slew_ua_s, s.watchdog_ms, s.telemetry_hz,
            s.frames_dropped, s.uptime_ms) == (0, 0, 4_000, 100, 250, 100, 0, 100)
    tel = bench.telemetry(mark)
    assert [t.counter for t in tel] == list(range(10))
    assert tel[0].board_time_us == 10_000 and tel[-1].target_ua == 0


def test_get_status_uptime_wraps_like_a_u32(bench):
    board = bench.board
    assert board.board_time_us(board.boot_s + 4294.967296 + 0.000123) == 123


def test_commands_are_answered_immediately(bench):
    """Every command's reply is in the outbox right after it arrives (ICD: within 20 ms)."""
    for msg in (Hello(), GetStatus(), SetTarget(10), Output(1), Stop(100)):
        bench.board.receive(msg.frame(1), bench.t)
        assert bench.board.take_output(), msg


def test_struct_layouts_match_icd_sizes():
    """Sanity on the typed messages the tests rely on (ICD payload sizes)."""
    assert struct.calcsize(SetLimits.FORMAT) == 10 and struct.calcsize(WriteCal.FORMAT) == 12
    assert SimulatedBoard().rate_hz == 100
