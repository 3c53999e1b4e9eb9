"""Known answers from the ICD, not from our encoder: every message in both directions as wire bytes.

Each vector was worked out from board-protocol.md alone: the payload laid out
field by field from the tables of §2/§3 (little-endian integers, IEEE-754 f32),
``type | seq | payload``, the CRC-16/CCITT-FALSE of §1 computed bit by bit
(poly 0x1021, init 0xFFFF, no reflection, no final xor; it gives 0x29B1 for
"123456789"), appended little-endian, then COBS-encoded by hand and ended by
0x00. They are typed here as literals; the product's codec (``framing`` and
``messages``, which the simulator shares) must produce and accept exactly them,
so a codec mistake can no longer look right on both ends.

Worked example, HELLO seq 0: body ``01 00``; CRC 0x2E3E -> ``3e 2e``;
decoded ``01 00 3e 2e`` has one zero at index 1, so COBS is ``02 01`` (two
bytes to the zero) then ``03 3e 2e`` (three bytes to the end), then ``00``.
"""

from __future__ import annotations

import math

import pytest

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.framing import FrameDecoder

H = bytes.fromhex

#: (name, seq, message, wire bytes): host -> board (ICD §2)
HOST_TO_BOARD = [
    ("HELLO", 0x00, m.Hello(), H("02 01 03 3e 2e 00")),
    ("HEARTBEAT", 0x07, m.Heartbeat(), H("05 02 07 8a 0b 00")),
    ("SET_POLARITY anode", 0x10, m.SetPolarity(1), H("06 03 10 01 9e 86 00")),
    ("SET_TARGET 1500 uA", 0x11, m.SetTarget(1500), H("05 04 11 dc 05 01 03 7b aa 00")),
    ("OUTPUT 1", 0x12, m.Output(1), H("06 05 12 01 5c 52 00")),
    ("OUTPUT 0", 0x13, m.Output(0), H("03 05 13 03 4c 71 00")),
    ("SET_LIMITS 4000 uA 100 uA/s 250 ms", 0x14, m.SetLimits(4000, 100, 250),
     H("05 06 14 a0 0f 01 02 64 01 01 02 fa 03 63 6b 00")),
    ("SET_RATE 200 Hz", 0x15, m.SetRate(200), H("04 07 15 c8 03 83 e2 00")),
    ("CLEAR_FAULT", 0x16, m.ClearFault(), H("05 08 16 51 e6 00")),
    ("WRITE_CAL 1.0 -2.5 uA 1700000000", 0x17, m.WriteCal(1.0, -2.5, 1_700_000_000),
     H("03 09 17 01 03 80 3f 01 03 20 c0 06 f1 53 65 83 d8 00")),
    ("GET_STATUS", 0x18, m.GetStatus(), H("05 0a 18 fd 61 00")),
    ("SET_WAVEFORM pulsed 1000 Hz 50 %", 0x19, m.SetWaveform(1, 1000, 50), H("09 0b 19 01 e8 03 32 f2 5d 00")),
    ("STOP 250 ms", 0x1A, m.Stop(250), H("04 0c 1a fa 03 5a b3 00")),
]

#: board -> host (ICD §3)
BOARD_TO_HOST = [
    ("ACK SET_TARGET", 0x11, m.Ack(0x04), H("04 80 11 04 02 87 00")),
    ("NAK SET_LIMITS BUSY", 0x14, m.Nak(0x06, 4), H("07 7f 14 06 04 da 67 00")),
    ("IDENT", 0x00, m.Ident(1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, 1.0, 0.0, 1_700_000_000),
     H("02 81 11 01 01 02 03 53 4e 2d 54 45 53 54 2d 30 30 30 31 01 01 01 03 a8 61 01 04 90 5f 01 01 01 "
       "03 80 3f 01 01 01 01 06 f1 53 65 b9 ae 00")),
    ("STATUS", 0x18, m.Status(0x0011, 0, 4000, 100, 250, 100, 3, 123_456),
     H("04 82 18 11 01 03 a0 0f 01 02 64 01 01 02 fa 02 64 02 03 01 01 04 40 e2 01 03 f4 bc 00")),
    ("TELEMETRY", 0x2A, m.Telemetry(1_000_000, 100, 1000, 5000, 1000, 0x0001, 0),
     H("06 90 2a 40 42 0f 02 64 01 01 03 e8 03 01 03 88 13 01 03 e8 03 01 02 01 01 03 a3 d0 00")),
    ("TELEMETRY negative readings, pulsed, fault", 0x2B, m.Telemetry(0xFFFF_FF00, 7, -12, -300, 0, 0x0028, 3),
     H("03 90 2b 05 ff ff ff 07 01 01 09 f4 ff ff ff d4 fe ff ff 01 01 01 02 28 04 03 4a a6 00")),
    ("FAULT open circuit", 0x2C, m.Fault(3, 2_000_000, 17), H("07 91 2c 03 80 84 1e 02 11 01 01 03 6c 43 00")),
]

ALL = HOST_TO_BOARD + BOARD_TO_HOST


def test_every_icd_message_type_has_a_known_answer():
    assert {type(msg) for _, _, msg, _ in ALL} == set(m.MESSAGE_CLASSES.values())
    assert {type(msg) for _, _, msg, _ in HOST_TO_BOARD} == {m.MESSAGE_CLASSES[t] for t in m.COMMAND_TYPES}


@pytest.mark.parametrize("name, seq, msg, wire", ALL, ids=[v[0] for v in ALL])
def test_our_encoder_produces_the_icd_bytes(name, seq, msg, wire):
    assert msg.frame(seq) == wire, f"{name}: {msg.frame(seq).hex(' ')} != {wire.hex(' ')}"


@pytest.mark.parametrize("name, seq, msg, wire", ALL, ids=[v[0] for v in ALL])
def test_our_decoder_reads_the_icd_bytes(name, seq, msg, wire):
    decoder = FrameDecoder()
    (frame,) = decoder.feed(wire)
    assert decoder.dropped == 0
    assert (frame.type, frame.seq) == (msg.TYPE, seq)
    assert m.parse(frame) == msg


def test_all_vectors_back_to_back_decode_in_order():
    decoder = FrameDecoder()
    frames = list(decoder.feed(b"".join(wire for *_, wire in ALL)))
    assert [m.parse(f) for f in frames] == [msg for _, _, msg, _ in ALL]


def test_a_nan_gain_in_ident_decodes_as_nan():
    """f32 NaN 0x7fc00000 in the gain field: decoded as NaN (the link then refuses it)."""
    wire = H("02 81 11 01 01 02 03 53 4e 2d 54 45 53 54 2d 30 30 30 31 01 01 01 03 a8 61 01 04 90 5f 01 01 01 "
             "03 c0 7f 01 01 01 01 06 f1 53 65 7a 83 00")
    (frame,) = FrameDecoder().feed(wire)
    assert math.isnan(m.parse(frame).cal_gain)
