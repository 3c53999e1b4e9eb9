"""ICD section 1 framing: COBS-encoded frames ended by 0x00, CRC-16/CCITT-FALSE.

Shared by the console's driver and the board simulator so that both speak the
exact same bytes. Decoding never raises on garbage: a bad frame is counted and
dropped, which is what the ICD asks of both ends.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field
from typing import Iterator

from cobs import cobs

DELIMITER = b"\x00"
MIN_DECODED_LEN = 4
MAX_DECODED_LEN = 64
#: COBS adds at most one byte per 254 plus one; anything longer without a
#: delimiter cannot be a valid frame, so the decoder stops buffering it.
MAX_ENCODED_LEN = MAX_DECODED_LEN + 2


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the ICD's frame check."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True)
class RawFrame:
    """A frame whose COBS, length and CRC checked out; payload not yet typed."""

    type: int
    seq: int
    payload: bytes


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Build the on-wire bytes for one frame, delimiter included."""
    if not 0 <= msg_type <= 0xFF or not 0 <= seq <= 0xFF:
        raise ValueError(f"type and seq must be bytes, got type={msg_type} seq={seq}")
    body = bytes((msg_type, seq)) + payload
    decoded = body + struct.pack("<H", crc16(body))
    if len(decoded) > MAX_DECODED_LEN:
        raise ValueError(f"frame of {len(decoded)} bytes exceeds the ICD maximum of {MAX_DECODED_LEN}")
    return cobs.encode(decoded) + DELIMITER


def decode_body(encoded: bytes) -> RawFrame:
    """Decode one delimiter-free chunk; raises ``FrameError`` with the reason."""
    try:
        decoded = cobs.decode(encoded)
    except cobs.DecodeError as exc:
        raise FrameError(f"bad COBS: {exc}") from None
    if not MIN_DECODED_LEN <= len(decoded) <= MAX_DECODED_LEN:
        raise FrameError(f"bad length {len(decoded)} (allowed {MIN_DECODED_LEN}..{MAX_DECODED_LEN})")
    body, (crc,) = decoded[:-2], struct.unpack("<H", decoded[-2:])
    if crc16(body) != crc:
        raise FrameError(f"bad CRC {crc:#06x}, expected {crc16(body):#06x}")
    return RawFrame(type=body[0], seq=body[1], payload=bytes(body[2:]))


class FrameError(ValueError):
    """A chunk between delimiters that is not a valid ICD frame."""


@dataclass
class FrameDecoder:
    """Incremental decoder for a byte stream: feed bytes, get valid frames.

    Invalid chunks (bad COBS, CRC, length, or oversized runs without a
    delimiter) are dropped and counted in ``dropped``; the last reason is kept
    in ``last_error`` for diagnostics. Memory stays bounded whatever arrives.
    """

    dropped: int = 0
    last_error: str = ""
    _buffer: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    def feed(self, data: bytes) -> Iterator[RawFrame]:
        for chunk_end in _split_keep_tail(data):
            chunk, complete = chunk_end
            if not complete:
                self._append(chunk)
                continue
            self._append(chunk)
            frame = self._finish_chunk()
            if frame is not None:
                yield frame

    def _append(self, chunk: bytes) -> None:
        if self._overflow:
            return
        if len(self._buffer) + len(chunk) > MAX_ENCODED_LEN:
            self._overflow = True
            self._buffer.clear()
            return
        self._buffer.extend(chunk)

    def _finish_chunk(self) -> RawFrame | None:
        if self._overflow:
            self._overflow = False
            self._drop("oversized frame (no delimiter within the maximum length)")
            return None
        encoded = bytes(self._buffer)
        self._buffer.clear()
        if not encoded:
            return None  # empty frames are ignored, not counted (ICD section 1)
        try:
            return decode_body(encoded)
        except FrameError as exc:
            self._drop(str(exc))
            return None

    def _drop(self, reason: str) -> None:
        self.dropped += 1
        self.last_error = reason


def _split_keep_tail(data: bytes) -> Iterator[tuple[bytes, bool]]:
    """Yield (chunk, ended_by_delimiter) pieces of ``data``."""
    start = 0
    while True:
        end = data.find(DELIMITER, start)
        if end < 0:
            if start < len(data):
                yield data[start:], False
            return
        yield data[start:end], True
        start = end + 1
