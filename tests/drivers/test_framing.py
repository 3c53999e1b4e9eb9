"""ICD framing: round trips, the CRC check value, and fuzzed garbage."""

from hypothesis import given, settings, strategies as st

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.framing import (
    MAX_DECODED_LEN,
    FrameDecoder,
    crc16,
    encode_frame,
)


def test_crc_check_value_from_icd():
    assert crc16(b"123456789") == 0x29B1


def test_known_frame_bytes():
    # HEARTBEAT seq 7: body 02 07, crc over it little-endian, COBS, 0x00.
    frame = encode_frame(0x02, 7)
    assert frame.endswith(b"\x00") and b"\x00" not in frame[:-1]
    crc = crc16(b"\x02\x07")
    assert frame == bytes([5, 0x02, 0x07, crc & 0xFF, crc >> 8, 0])


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=MAX_DECODED_LEN - 4))
def test_round_trip_any_payload(msg_type, seq, payload):
    decoder = FrameDecoder()
    frames = list(decoder.feed(encode_frame(msg_type, seq, payload)))
    assert [(f.type, f.seq, f.payload) for f in frames] == [(msg_type, seq, payload)]
    assert decoder.dropped == 0


@given(st.binary(max_size=2000))
@settings(max_examples=300)
def test_garbage_never_raises_and_memory_stays_bounded(noise):
    decoder = FrameDecoder()
    list(decoder.feed(noise))
    assert len(decoder._buffer) <= 66


@given(st.binary(min_size=1, max_size=300), st.integers(0, 255))
def test_corrupted_frame_is_dropped_not_delivered(noise, seq):
    good = encode_frame(0x90, seq, bytes(23))
    # flip one byte inside the encoded frame (not the delimiter)
    pos = noise[0] % (len(good) - 1)
    bad = bytearray(good)
    bad[pos] ^= (noise[-1] or 1)
    decoder = FrameDecoder()
    frames = list(decoder.feed(bytes(bad)))
    # a flipped byte can only yield a frame if it left CRC intact, which for a
    # single-byte change CRC-16 guarantees it does not
    assert all(f.payload != bytes(23) or f.seq != seq for f in frames) or not frames
    assert frames == [] and decoder.dropped >= 1


def test_truncated_oversized_and_empty_frames():
    decoder = FrameDecoder()
    good = encode_frame(0x80, 1, b"\x02")
    assert list(decoder.feed(b"\x00\x00")) == []  # empty frames ignored, not counted
    assert decoder.dropped == 0
    assert list(decoder.feed(good[:3] + b"\x00")) == []  # truncated
    assert list(decoder.feed(b"\x55" * 500 + b"\x00")) == []  # oversized
    assert decoder.dropped == 2
    frames = list(decoder.feed(good))  # the stream recovers at once
    assert [f.payload for f in frames] == [b"\x02"]


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_valid_frame_after_any_garbage_is_recovered(before, after):
    decoder = FrameDecoder()
    good = encode_frame(0x81, 3, b"x" * 40)
    stream = before + b"\x00" + good + after
    frames = list(decoder.feed(stream))
    assert any(f.type == 0x81 and f.seq == 3 and f.payload == b"x" * 40 for f in frames)


def test_byte_at_a_time_feeding():
    decoder = FrameDecoder()
    frames = []
    for byte in encode_frame(0x90, 9, bytes(range(23))) * 3:
        frames.extend(decoder.feed(bytes([byte])))
    assert len(frames) == 3


def _sample_messages():
    return [
        m.Hello(), m.Heartbeat(), m.SetPolarity(1), m.SetTarget(3000), m.Output(1),
        m.SetLimits(4000, 100, 250), m.SetRate(1000), m.ClearFault(),
        m.WriteCal(1.03125, -12.5, 1_790_000_000), m.GetStatus(), m.SetWaveform(1, 2000, 50),
        m.Stop(1500), m.Ack(0x04), m.Nak(0x04, 3),
        m.Ident(1, 1, 2, 3, "IONTO-000123", 25_000, 90_000, 1.0, 0.0, 1_790_000_000),
        m.Status(0x11, 0, 4000, 100, 250, 100, 7, 123456),
        m.Telemetry(4_000_000_000, 12, -3000, 18_500, 3000, 0x13, 0),
        m.Fault(3, 1234, 250),
    ]


def test_every_icd_message_round_trips_and_has_its_documented_size():
    sizes = {m.Ident: 40, m.Status: 23, m.Telemetry: 23, m.Fault: 9, m.SetLimits: 10, m.WriteCal: 12}
    for msg in _sample_messages():
        (raw,) = FrameDecoder().feed(msg.frame(42))
        assert raw.seq == 42
        assert m.parse(raw) == msg
        if type(msg) in sizes:
            assert len(msg.payload()) == sizes[type(msg)]
    assert set(m.MESSAGE_CLASSES) == {t.value for t in m.MsgType}


def test_out_of_range_value_is_a_clear_error():
    import pytest

    with pytest.raises(ValueError, match="SetTarget"):
        m.SetTarget(-1).payload()
