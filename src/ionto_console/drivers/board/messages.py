"""Typed messages for every command and reply of the IONTO-1 ICD (revision 1).

Each message is a frozen dataclass whose fields are the ICD's payload fields
in wire order, with a ``struct`` format beside it. The console's driver and
the simulator both use these classes, so a layout mistake shows up as a
failing round-trip test instead of two programs agreeing on the wrong bytes.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import astuple, dataclass
from typing import ClassVar

from ...core.samples import BoardFault
from .framing import RawFrame, encode_frame

PROTOCOL_REVISION = 1

# Hardware limits from ICD section 4, used by the simulator to NAK and by the
# console to refuse settings before they reach the wire.
HW_MAX_CURRENT_UA = 25_000
HW_COMPLIANCE_MV = 90_000
SLEW_RANGE_UA_S = (10, 5_000)
WATCHDOG_RANGE_MS = (100, 2_000)
RATE_RANGE_HZ = (10, 1_000)
PULSE_FREQ_RANGE_HZ = (1, 20_000)
DUTY_RANGE_PCT = (10, 90)
STOP_RAMP_RANGE_MS = (0, 5_000)


class MsgType(enum.IntEnum):
    HELLO = 0x01
    HEARTBEAT = 0x02
    SET_POLARITY = 0x03
    SET_TARGET = 0x04
    OUTPUT = 0x05
    SET_LIMITS = 0x06
    SET_RATE = 0x07
    CLEAR_FAULT = 0x08
    WRITE_CAL = 0x09
    GET_STATUS = 0x0A
    SET_WAVEFORM = 0x0B
    STOP = 0x0C
    NAK = 0x7F
    ACK = 0x80
    IDENT = 0x81
    STATUS = 0x82
    TELEMETRY = 0x90
    FAULT = 0x91


class NakError(enum.IntEnum):
    UNKNOWN_COMMAND = 1
    BAD_LENGTH = 2
    OUT_OF_RANGE = 3
    BUSY = 4
    FAULT_ACTIVE = 5


#: The ICD's latched fault codes are named in core, their one home (``core.samples.BoardFault``);
#: the driver and the simulator use that enum under the ICD's name, so no second list can drift.
FaultCode = BoardFault


class Flags(enum.IntFlag):
    OUTPUT_ENABLED = 1 << 0
    SLEWING = 1 << 1
    AT_COMPLIANCE = 1 << 2
    FAULT_LATCHED = 1 << 3
    POLARITY_ANODE = 1 << 4
    PULSED = 1 << 5
    STOP_RAMP = 1 << 6
    HW_STOP_PRESSED = 1 << 7


class Polarity(enum.IntEnum):
    CATHODE = 0  # active electrode negative
    ANODE = 1  # active electrode positive


class WaveformMode(enum.IntEnum):
    DC = 0
    PULSED_DC = 1


class PayloadError(ValueError):
    """A CRC-valid frame whose payload does not fit its type's layout."""


@dataclass(frozen=True)
class Message:
    """Base of all ICD messages: fields in wire order plus a struct format."""

    TYPE: ClassVar[MsgType]
    FORMAT: ClassVar[str] = "<"

    def payload(self) -> bytes:
        try:
            return struct.pack(self.FORMAT, *self._wire_values())
        except struct.error as exc:
            raise ValueError(f"{type(self).__name__}: value does not fit the ICD field: {exc}") from None

    def frame(self, seq: int) -> bytes:
        return encode_frame(self.TYPE, seq, self.payload())

    @classmethod
    def payload_size(cls) -> int:
        return struct.calcsize(cls.FORMAT)

    @classmethod
    def from_payload(cls, payload: bytes) -> "Message":
        if len(payload) != cls.payload_size():
            raise PayloadError(
                f"{cls.__name__} payload is {len(payload)} bytes, ICD says {cls.payload_size()}"
            )
        return cls._from_wire(struct.unpack(cls.FORMAT, payload))

    def _wire_values(self) -> tuple:
        return astuple(self)

    @classmethod
    def _from_wire(cls, values: tuple) -> "Message":
        return cls(*values)


# --- host to board -----------------------------------------------------------


@dataclass(frozen=True)
class Hello(Message):
    TYPE = MsgType.HELLO


@dataclass(frozen=True)
class Heartbeat(Message):
    TYPE = MsgType.HEARTBEAT


@dataclass(frozen=True)
class SetPolarity(Message):
    TYPE = MsgType.SET_POLARITY
    FORMAT = "<B"
    polarity: int


@dataclass(frozen=True)
class SetTarget(Message):
    TYPE = MsgType.SET_TARGET
    FORMAT = "<I"
    target_ua: int


@dataclass(frozen=True)
class Output(Message):
    TYPE = MsgType.OUTPUT
    FORMAT = "<B"
    enable: int


@dataclass(frozen=True)
class SetLimits(Message):
    TYPE = MsgType.SET_LIMITS
    FORMAT = "<IIH"
    max_current_ua: int
    slew_ua_s: int
    watchdog_ms: int


@dataclass(frozen=True)
class SetRate(Message):
    TYPE = MsgType.SET_RATE
    FORMAT = "<H"
    rate_hz: int


@dataclass(frozen=True)
class ClearFault(Message):
    TYPE = MsgType.CLEAR_FAULT


@dataclass(frozen=True)
class WriteCal(Message):
    TYPE = MsgType.WRITE_CAL
    FORMAT = "<ffI"
    gain: float
    offset_ua: float
    cal_date: int


@dataclass(frozen=True)
class GetStatus(Message):
    TYPE = MsgType.GET_STATUS


@dataclass(frozen=True)
class SetWaveform(Message):
    TYPE = MsgType.SET_WAVEFORM
    FORMAT = "<BHB"
    mode: int
    frequency_hz: int
    duty_pct: int


@dataclass(frozen=True)
class Stop(Message):
    TYPE = MsgType.STOP
    FORMAT = "<H"
    ramp_ms: int


# --- board to host -----------------------------------------------------------


@dataclass(frozen=True)
class Ack(Message):
    TYPE = MsgType.ACK
    FORMAT = "<B"
    command: int


@dataclass(frozen=True)
class Nak(Message):
    TYPE = MsgType.NAK
    FORMAT = "<BB"
    command: int
    error: int


@dataclass(frozen=True)
class Ident(Message):
    TYPE = MsgType.IDENT
    FORMAT = "<BBBB16sIIffI"
    protocol_revision: int
    fw_major: int
    fw_minor: int
    fw_patch: int
    serial_number: str
    hw_max_current_ua: int
    compliance_mv: int
    cal_gain: float
    cal_offset_ua: float
    cal_date: int

    def _wire_values(self) -> tuple:
        values = list(astuple(self))
        values[4] = self.serial_number.encode("ascii")[:16]
        return tuple(values)

    @classmethod
    def _from_wire(cls, values: tuple) -> "Ident":
        values = list(values)
        values[4] = values[4].rstrip(b"\x00").decode("ascii", errors="replace")
        return cls(*values)

    @property
    def firmware(self) -> str:
        return f"{self.fw_major}.{self.fw_minor}.{self.fw_patch}"


@dataclass(frozen=True)
class Status(Message):
    TYPE = MsgType.STATUS
    FORMAT = "<HBIIHHII"
    flags: int
    latched_fault: int
    max_current_ua: int
    slew_ua_s: int
    watchdog_ms: int
    telemetry_hz: int
    frames_dropped: int
    uptime_ms: int


@dataclass(frozen=True)
class Telemetry(Message):
    TYPE = MsgType.TELEMETRY
    FORMAT = "<IIiiIHB"
    board_time_us: int
    counter: int
    current_ua: int
    voltage_mv: int
    target_ua: int
    flags: int
    latched_fault: int


@dataclass(frozen=True)
class Fault(Message):
    TYPE = MsgType.FAULT
    FORMAT = "<BIi"
    code: int
    board_time_us: int
    detail: int


MESSAGE_CLASSES: dict[int, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Heartbeat, SetPolarity, SetTarget, Output, SetLimits, SetRate, ClearFault,
        WriteCal, GetStatus, SetWaveform, Stop, Ack, Nak, Ident, Status, Telemetry, Fault,
    )
}
COMMAND_TYPES = frozenset(t for t in MESSAGE_CLASSES if t < 0x7F)


def parse(frame: RawFrame) -> Message:
    """Type a CRC-valid frame. Raises ``KeyError`` for an unknown type and
    ``PayloadError`` for a payload of the wrong size."""
    cls = MESSAGE_CLASSES[frame.type]
    return cls.from_payload(frame.payload)
