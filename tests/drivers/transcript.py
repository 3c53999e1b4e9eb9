"""A scripted board for BoardLink transcripts, in the spirit of pymeasure's ``expected_protocol``.

The board sits on a real pseudo-terminal and plays a script of exact bytes:
``Expect(b"...")`` is the frame the host must write next, ``Send(b"...")`` the
bytes the board writes back (sent as soon as every step before it has been
met). Frames are split, checked and, where needed, built by the tiny reference
codec below, written from the ICD (bitwise CRC-16/CCITT-FALSE, COBS by hand),
not by the product's ``framing`` module: the two must agree on every byte.

The one thing a script cannot know in advance is when the link's background
HEARTBEAT falls: the link numbers every command, heartbeats included. So:
- a HEARTBEAT may come at any point; it must be the exact HEARTBEAT frame for
  the next sequence number, and is answered with the exact ACK;
- every other host frame must continue the sequence and equal its ``Expect``
  in type, payload and CRC; when heartbeats came before it, its sequence number
  is the script's plus that count (``seq_shift``) and the replies that follow
  (ACK, NAK, IDENT, STATUS) are shifted the same way. With no heartbeat in
  between, the bytes on the wire are the script's literals exactly.
Anything else is recorded in ``errors`` (the test asserts it is empty), so a
mismatch reads as "expected ... got ...", never as a hang.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT = 0x02
ACK = 0x80
REPLY_TYPES = {0x7F, 0x80, 0x81, 0x82}  # NAK, ACK, IDENT, STATUS carry the command's seq


def ref_crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE bit by bit, as ICD §1 defines it."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def ref_cobs_encode(data: bytes) -> bytes:
    out, block = bytearray(), bytearray()
    for byte in data:
        if byte == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(byte)
            if len(block) == 254:
                out += b"\xff" + block
                block = bytearray()
    return bytes(out + bytes([len(block) + 1]) + block)


def ref_cobs_decode(data: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ValueError(f"bad COBS at {i}")
        out += data[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def ref_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    body = bytes([msg_type, seq & 0xFF]) + payload
    crc = ref_crc16(body)
    return ref_cobs_encode(body + bytes([crc & 0xFF, crc >> 8])) + b"\x00"


def ref_parse(wire: bytes) -> tuple[int, int, bytes]:
    """(type, seq, payload) of one whole frame (delimiter included); ValueError if it is not one."""
    if not wire.endswith(b"\x00") or b"\x00" in wire[:-1]:
        raise ValueError("not one delimited frame")
    decoded = ref_cobs_decode(wire[:-1])
    if len(decoded) < 4 or ref_crc16(decoded[:-2]) != decoded[-2] | decoded[-1] << 8:
        raise ValueError("bad length or CRC")
    return decoded[0], decoded[1], decoded[2:-2]


@dataclass(frozen=True)
class Expect:
    wire: bytes


@dataclass(frozen=True)
class Send:
    wire: bytes


class ScriptedBoard:
    """Plays ``steps`` to a BoardLink opened on ``path`` (a symlink to the pty slave)."""

    def __init__(self, path: Path, steps: list[Expect | Send]) -> None:
        self.path = path
        self.steps = list(steps)
        self.position = 0
        self.errors: list[str] = []
        self.heartbeats = 0
        self.exact_frames = 0  # host frames that matched their literal byte for byte
        self._next_seq: int | None = None
        self._shift = 0
        self._lock = threading.Lock()
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        if path.is_symlink():
            path.unlink()
        path.symlink_to(os.ttyname(self.slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        with self._lock:
            return self.position == len(self.steps)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        os.close(self.master)
        os.close(self.slave)

    def wait_done(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.done and not self.errors:
            if time.monotonic() > deadline:
                raise AssertionError(f"transcript stopped at step {self.position}: "
                                     f"{self.steps[self.position] if self.position < len(self.steps) else '-'}")
            time.sleep(0.005)
        assert not self.errors, self.errors

    # --- the board ---------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def _send_ready(self) -> None:
        """Write every Send up to the next Expect."""
        while self.position < len(self.steps) and isinstance(self.steps[self.position], Send):
            msg_type, seq, payload = ref_parse(self.steps[self.position].wire)
            if msg_type in REPLY_TYPES and self._shift:
                self._write(ref_frame(msg_type, seq + self._shift, payload))
            else:
                self._write(self.steps[self.position].wire)
            self.position += 1

    def _run(self) -> None:
        buffer = bytearray()
        with self._lock:
            self._send_ready()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                buffer += os.read(self.master, 4096)
            except OSError:
                continue
            while b"\x00" in buffer:
                end = buffer.index(b"\x00") + 1
                wire, buffer = bytes(buffer[:end]), buffer[end:]
                with self._lock:
                    self._host_frame(wire)
                    self._send_ready()

    def _host_frame(self, wire: bytes) -> None:
        try:
            msg_type, seq, payload = ref_parse(wire)
        except ValueError as exc:
            self.errors.append(f"host wrote an invalid frame {wire.hex(' ')}: {exc}")
            return
        if self._next_seq is not None and seq != self._next_seq:
            self.errors.append(f"host seq {seq} does not continue the sequence (expected {self._next_seq})")
        self._next_seq = (seq + 1) & 0xFF
        if msg_type == HEARTBEAT and not payload:
            if wire != ref_frame(HEARTBEAT, seq):
                self.errors.append(f"HEARTBEAT bytes {wire.hex(' ')} are not the ICD's")
            self.heartbeats += 1
            self._write(ref_frame(ACK, seq, bytes([HEARTBEAT])))
            return
        if self.position >= len(self.steps):
            self.errors.append(f"host wrote {wire.hex(' ')} after the end of the transcript")
            return
        step = self.steps[self.position]
        assert isinstance(step, Expect)
        want_type, want_seq, want_payload = ref_parse(step.wire)
        if (msg_type, payload) == (want_type, want_payload) and wire == ref_frame(msg_type, seq, payload):
            self.exact_frames += wire == step.wire
            self._shift = (seq - want_seq) & 0xFF  # > 0 when heartbeats came in between
        else:
            self.errors.append(f"step {self.position}: expected {step.wire.hex(' ')}, got {wire.hex(' ')}")
            return
        self.position += 1
