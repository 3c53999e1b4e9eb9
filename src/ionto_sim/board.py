"""The IONTO-1 board's firmware behaviour (ICD revision 1) as a pure state machine.

Time is injected: ``receive(data, now_s)`` and ``advance(now_s)`` take the
current time in seconds, nothing sleeps and nothing starts a thread. WHY: the
same object runs in real time behind a pty (``pty_server``) and in the unit
tests, where minutes of treatment are simulated in milliseconds.

Internally the physics is stepped in fixed steps of ``physics_step_s`` (1 ms by
default) while the output is enabled, so the ICD's 2 ms overcurrent and 200 ms
open-circuit windows are resolved; while the output is off one step covers
the whole interval.

Choices where the ICD is silent (documented so the console can rely on them):
- A frame with a valid CRC but an unknown type or a wrong payload length is
  NAKed and does NOT feed the watchdog; every known, well-formed command does
  (even if it is NAKed for BUSY / OUT_OF_RANGE / FAULT_ACTIVE).
- Validation order: BAD_LENGTH, then OUT_OF_RANGE, then BUSY / FAULT_ACTIVE.
- Lowering the target slews down too ("the output never changes faster than
  the slew limit"); only OUTPUT 0, STOP and faults bring it down faster.
- While the voltage is at compliance the slewed setpoint is held at the
  current actually reached (anti-windup), so when the skin impedance falls the
  current still rises at no more than the slew limit.
- STOP sets the target to 0 at once (telemetry shows target 0 and bit1+bit6
  during the ramp). SET_TARGET and OUTPUT 1 during a STOP ramp get NAK BUSY;
  OUTPUT 0 or a new STOP during the ramp are obeyed.
- A fault also resets the target to 0. Only the first fault latches; while
  the hardware stop button stays pressed HARDWARE_STOP re-latches right after
  CLEAR_FAULT.
- WRITE_CAL with a non-finite value or gain <= 0 gets NAK OUT_OF_RANGE.
- Measured current and electrode voltage are magnitudes (polarity is bit4).
  With the output off the measured current shows the front end's offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ionto_console.core.simulator_identity import SIMULATOR_SERIAL_PREFIX, is_simulator_serial
from ionto_console.drivers.board.framing import FrameDecoder, RawFrame
from ionto_console.drivers.board.messages import (
    COMMAND_TYPES, DUTY_RANGE_PCT, HW_COMPLIANCE_MV, HW_MAX_CURRENT_UA, MESSAGE_CLASSES,
    PROTOCOL_REVISION, PULSE_FREQ_RANGE_HZ, RATE_RANGE_HZ, SLEW_RANGE_UA_S, STOP_RAMP_RANGE_MS,
    WATCHDOG_RANGE_MS, Ack, Fault, FaultCode, Flags, Ident, Message, MsgType, Nak, NakError,
    PayloadError, Status, Telemetry,
)
from .model import Drive, OutputState, PhysicalModel

FW_VERSION = (1, 0, 0)
DEFAULT_MAX_CURRENT_UA = 4_000
DEFAULT_SLEW_UA_S = 100
DEFAULT_WATCHDOG_MS = 250
DEFAULT_RATE_HZ = 100
ABSOLUTE_OVERCURRENT_UA = 27_500
OVERCURRENT_TIME_S = 0.002
OPEN_CIRCUIT_TIME_S = 0.200
OPEN_CIRCUIT_MIN_TARGET_UA = 100
COMPLIANCE_TIME_S = 5.0
_EPS = 1e-9
U32 = 0xFFFFFFFF


class _Nak(Exception):
    def __init__(self, error: NakError) -> None:
        super().__init__(error.name)
        self.error = error


@dataclass
class BoardNvram:
    """What survives a reboot: the calibration written by WRITE_CAL."""

    cal_gain: float = 1.0
    cal_offset_ua: float = 0.0
    cal_date: int = 0


StepObserver = Callable[[float, OutputState, "SimulatedBoard"], None]


class SimulatedBoard:
    """ICD state machine over a shared ``PhysicalModel``; bytes in, bytes out."""

    def __init__(self, model: PhysicalModel | None = None, *, serial_number: str = "SIM-00001",
                 nvram: BoardNvram | None = None, now_s: float = 0.0,
                 write: Callable[[bytes], None] | None = None, physics_step_s: float = 0.001) -> None:
        if not is_simulator_serial(serial_number):
            # the simulator always announces itself, so a clinical console can refuse it (core.simulator_identity)
            raise ValueError(f"serial number: the simulator's starts with {SIMULATOR_SERIAL_PREFIX!r}, "
                             f"got {serial_number!r}")
        self.model = model if model is not None else PhysicalModel()
        self.serial_number = serial_number
        self.nvram = nvram if nvram is not None else BoardNvram()
        self.physics_step_s = physics_step_s
        self._write = write
        self._outbox = bytearray()
        #: Called after every physics step with (time, noise-free state, board): test hook.
        self.step_observer: StepObserver | None = None
        self._self_test_armed: int | None = None
        self.hw_stop_pressed = False
        self.reboot(now_s)

    # --- power-on ------------------------------------------------------------

    def reboot(self, now_s: float) -> None:
        """Power cycle: defaults from ICD section 4, calibration kept, self-test run."""
        self.boot_s = now_s
        self._t = now_s
        self._decoder = FrameDecoder()
        self.max_current_ua = DEFAULT_MAX_CURRENT_UA
        self.slew_ua_s = DEFAULT_SLEW_UA_S
        self.watchdog_ms = DEFAULT_WATCHDOG_MS
        self.rate_hz = DEFAULT_RATE_HZ
        self.pulsed = False
        self.pulse_hz = 1_000
        self.duty_pct = 50
        self.anode = False
        self.output_enabled = False
        self.target_ua = 0
        self.level_ua = 0.0  # the slewed setpoint the regulator follows (reported scale)
        self.latched_fault = FaultCode.NONE
        self._stop_ramp: tuple[float, float, float] | None = None  # (start time, start level, duration)
        self._last_host_s = now_s
        self._tx_seq = 0
        self.sample_counter = 0
        self._rate_anchor_s, self._rate_anchor_n = now_s, 0
        self._next_sample_s = now_s + 1.0 / self.rate_hz
        self._over_s = self._open_s = self._compliance_s = 0.0
        self._state = self.model.step(0.0, self._drive())
        if self._self_test_armed is not None:
            test_no, self._self_test_armed = self._self_test_armed, None
            self._latch(FaultCode.SELF_TEST, detail=test_no)
        self._check_hw_stop()

    def fail_self_test_at_next_boot(self, test_no: int) -> None:
        """Arm a self-test failure: the next ``reboot`` latches SELF_TEST with this test number."""
        self._self_test_armed = int(test_no)

    # --- host side -----------------------------------------------------------

    @property
    def frames_dropped(self) -> int:
        return self._decoder.dropped

    def receive(self, data: bytes, now_s: float) -> None:
        """Bytes from the host arriving at ``now_s``; answers go to the outbox."""
        self.advance(now_s)
        for frame in self._decoder.feed(data):
            self._handle(frame)

    def take_output(self) -> bytes:
        """Drain the bytes the board has sent since the last call."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    def press_hw_stop(self, now_s: float) -> None:
        self.advance(now_s)
        self.hw_stop_pressed = True
        self._check_hw_stop()

    def drop_output(self, now_s: float) -> None:
        """Fault injection: the output opens with no fault latched and no STOP asked for (a
        relay or regulator dropping out): telemetry flags bit0 clear, bit3 and bit6 clear.
        A later OUTPUT 1 enables it again, as on a real board."""
        self.advance(now_s)
        self._cut_output()

    def release_hw_stop(self, now_s: float) -> None:
        self.advance(now_s)
        self.hw_stop_pressed = False

    # --- time ----------------------------------------------------------------

    def board_time_us(self, t_s: float | None = None) -> int:
        t = self._t if t_s is None else t_s
        return int(round((t - self.boot_s) * 1e6)) & U32

    @property
    def uptime_ms(self) -> int:
        return int((self._t - self.boot_s) * 1000) & U32

    @property
    def next_sample_s(self) -> float:
        """When the next TELEMETRY is due: the real-time wrapper sleeps until then."""
        return self._next_sample_s

    def excuse_starvation(self, seconds: float) -> None:
        """The real-time wrapper was not scheduled for ``seconds``: do not count them against the host.

        WHY: a real board runs on its own processor and reads every byte as it
        arrives; this simulator shares a loaded PC with the console. When its
        thread wakes late, the host's heartbeats may sit unread in the pty (or
        the whole machine stalled, host included), and counting that time
        would latch a WATCHDOG fault the real board would never latch. Only
        the watchdog is excused; physics and the other protection windows
        catch up as usual."""
        if seconds > 0.0:
            self._last_host_s += seconds

    def advance(self, now_s: float) -> None:
        """Run the board up to ``now_s``, emitting every TELEMETRY due on the way."""
        while self._next_sample_s <= now_s:
            self._run_to(self._next_sample_s)
            self._emit_telemetry()
            self._rate_anchor_n += 1
            self._next_sample_s = self._rate_anchor_s + (self._rate_anchor_n + 1) / self.rate_hz
        self._run_to(now_s)

    def _run_to(self, t: float) -> None:
        while self._t < t - _EPS:
            dt = t - self._t if not self.output_enabled else min(self.physics_step_s, t - self._t,
                                                                   self._time_to_next_deadline())
            self._t = t if dt >= t - self._t else self._t + dt
            self._physics(dt)

    def _time_to_next_deadline(self) -> float:
        """End a physics step exactly when a protection window or a STOP ramp ends,
        so faults trip at the ICD's times, not up to one step later."""
        pending = [self._last_host_s + self.watchdog_ms / 1000.0 - self._t]
        for elapsed, window in ((self._over_s, OVERCURRENT_TIME_S), (self._open_s, OPEN_CIRCUIT_TIME_S),
                                (self._compliance_s, COMPLIANCE_TIME_S)):
            if elapsed > 0.0:
                pending.append(window - elapsed)
        if self._stop_ramp is not None:
            pending.append(self._stop_ramp[0] + self._stop_ramp[2] - self._t)
        return max(min(pending), 1e-6)

    # --- physics and protection ---------------------------------------------

    def _drive(self) -> Drive:
        return Drive(enabled=self.output_enabled, setpoint_ua=self.level_ua,
                     cal_gain=self.nvram.cal_gain, cal_offset_ua=self.nvram.cal_offset_ua,
                     pulsed=self.pulsed, duty=self.duty_pct / 100.0, anode=self.anode)

    def _physics(self, dt: float) -> None:
        if self.output_enabled:
            self._update_level(dt)
        state = self.model.step(dt, self._drive())
        self._state = state
        if self.output_enabled and state.at_compliance:
            self.level_ua = min(self.level_ua, state.reported_ua)  # anti-windup
        if self.step_observer is not None:
            self.step_observer(self._t, state, self)
        self._check_faults(dt, state)

    def _update_level(self, dt: float) -> None:
        if self._stop_ramp is not None:
            start_t, start_level, duration = self._stop_ramp
            elapsed = self._t - start_t
            if elapsed >= duration - _EPS:
                self._cut_output()
                return
            # never back up: with anti-windup the level may already sit lower
            self.level_ua = min(self.level_ua, start_level * (1.0 - elapsed / duration))
            return
        step = self.slew_ua_s * dt
        if self.level_ua < self.target_ua:
            self.level_ua = min(self.target_ua, self.level_ua + step)
        elif self.level_ua > self.target_ua:
            self.level_ua = max(self.target_ua, self.level_ua - step)

    def _check_faults(self, dt: float, state: OutputState) -> None:
        self._check_hw_stop()
        if not self.output_enabled:
            self._over_s = self._open_s = self._compliance_s = 0.0
            return
        measured = state.reported_ua
        threshold = min(self.max_current_ua * 1.1, ABSOLUTE_OVERCURRENT_UA)
        self._over_s = self._over_s + dt if measured > threshold else 0.0
        open_circuit = (self.target_ua >= OPEN_CIRCUIT_MIN_TARGET_UA and state.at_compliance
                        and measured < 0.1 * self.target_ua)
        self._open_s = self._open_s + dt if open_circuit else 0.0
        self._compliance_s = (self._compliance_s + dt
                              if state.at_compliance and measured < self.target_ua else 0.0)
        if self._over_s >= OVERCURRENT_TIME_S - _EPS:
            self._latch(FaultCode.OVERCURRENT)
        elif self._open_s >= OPEN_CIRCUIT_TIME_S - _EPS:
            self._latch(FaultCode.OPEN_CIRCUIT)
        elif self._compliance_s >= COMPLIANCE_TIME_S - _EPS:
            self._latch(FaultCode.COMPLIANCE)
        elif self._t - self._last_host_s >= self.watchdog_ms / 1000.0 - _EPS:
            self._latch(FaultCode.WATCHDOG)

    def _check_hw_stop(self) -> None:
        if self.hw_stop_pressed and self.latched_fault == FaultCode.NONE:
            self._latch(FaultCode.HARDWARE_STOP)

    def _latch(self, code: FaultCode, detail: int | None = None) -> None:
        if self.latched_fault != FaultCode.NONE:
            return
        if detail is None:
            detail = round(self.model.measure(self._state)[0])
        self.latched_fault = code
        self._cut_output()
        self._send_board(Fault(code=int(code), board_time_us=self.board_time_us(), detail=int(detail)))

    def _cut_output(self) -> None:
        """Open the output at once: OUTPUT 0, end of a STOP ramp, or a fault."""
        self.output_enabled = False
        self.level_ua = 0.0
        self.target_ua = 0
        self._stop_ramp = None
        self._state = self.model.step(0.0, self._drive())

    # --- frames out ----------------------------------------------------------

    def flags(self) -> int:
        f = Flags(0)
        if self.output_enabled:
            f |= Flags.OUTPUT_ENABLED
            if abs(self.level_ua - self.target_ua) > 0.5 or self._stop_ramp is not None:
                f |= Flags.SLEWING
            if self._state.at_compliance:
                f |= Flags.AT_COMPLIANCE
        if self.latched_fault != FaultCode.NONE:
            f |= Flags.FAULT_LATCHED
        if self.anode:
            f |= Flags.POLARITY_ANODE
        if self.pulsed:
            f |= Flags.PULSED
        if self._stop_ramp is not None:
            f |= Flags.STOP_RAMP
        if self.hw_stop_pressed:
            f |= Flags.HW_STOP_PRESSED
        return int(f)

    def _emit_telemetry(self) -> None:
        current, voltage = self.model.measure(self._state)
        self._send_board(Telemetry(
            board_time_us=self.board_time_us(), counter=self.sample_counter & U32,
            current_ua=round(current), voltage_mv=round(voltage), target_ua=self.target_ua,
            flags=self.flags(), latched_fault=int(self.latched_fault)))
        self.sample_counter = (self.sample_counter + 1) & U32

    def _send_board(self, msg: Message) -> None:
        """Board-initiated frame: carries the board's own wrapping counter."""
        self._send(msg, self._tx_seq)
        self._tx_seq = (self._tx_seq + 1) & 0xFF

    def _send(self, msg: Message, seq: int) -> None:
        data = msg.frame(seq)
        if self._write is not None:
            self._write(data)
        else:
            self._outbox += data

    # --- commands ------------------------------------------------------------

    def _handle(self, frame: RawFrame) -> None:
        if frame.type not in COMMAND_TYPES:
            self._send(Nak(frame.type, NakError.UNKNOWN_COMMAND), frame.seq)
            return
        try:
            msg = MESSAGE_CLASSES[frame.type].from_payload(frame.payload)
        except PayloadError:
            self._send(Nak(frame.type, NakError.BAD_LENGTH), frame.seq)
            return
        self._last_host_s = self._t  # any valid command feeds the watchdog
        handler = getattr(self, f"_cmd_{MsgType(frame.type).name.lower()}")
        try:
            reply = handler(msg)
        except _Nak as nak:
            self._send(Nak(frame.type, nak.error), frame.seq)
            return
        self._send(reply if reply is not None else Ack(frame.type), frame.seq)
        self._check_hw_stop()

    def _require(self, ok: bool, error: NakError = NakError.OUT_OF_RANGE) -> None:
        if not ok:
            raise _Nak(error)

    def _require_disabled(self) -> None:
        self._require(not self.output_enabled, NakError.BUSY)

    def _cmd_hello(self, msg: Message) -> Message:
        return Ident(
            protocol_revision=PROTOCOL_REVISION, fw_major=FW_VERSION[0], fw_minor=FW_VERSION[1],
            fw_patch=FW_VERSION[2], serial_number=self.serial_number,
            hw_max_current_ua=HW_MAX_CURRENT_UA, compliance_mv=HW_COMPLIANCE_MV,
            cal_gain=self.nvram.cal_gain, cal_offset_ua=self.nvram.cal_offset_ua,
            cal_date=self.nvram.cal_date)

    def _cmd_heartbeat(self, msg: Message) -> None:
        return None

    def _cmd_set_polarity(self, msg) -> None:
        self._require(msg.polarity in (0, 1))
        self._require_disabled()
        self.anode = msg.polarity == 1

    def _cmd_set_target(self, msg) -> None:
        self._require(msg.target_ua <= self.max_current_ua)
        self._require(self._stop_ramp is None, NakError.BUSY)
        self.target_ua = msg.target_ua

    def _cmd_output(self, msg) -> None:
        self._require(msg.enable in (0, 1))
        if msg.enable == 0:
            self._cut_output()
            return
        self._require(self.latched_fault == FaultCode.NONE, NakError.FAULT_ACTIVE)
        self._require(self._stop_ramp is None, NakError.BUSY)
        if not self.output_enabled:
            self.output_enabled = True
            # Start where the regulator drives no current: below 0 if the calibration
            # offset is more negative than the front end's, so enabling never steps.
            self.level_ua = min(0.0, self.model.reported_ua(0.0, self.nvram.cal_gain, self.nvram.cal_offset_ua))
            self._over_s = self._open_s = self._compliance_s = 0.0
            self._state = self.model.step(0.0, self._drive())

    def _cmd_set_limits(self, msg) -> None:
        self._require(0 <= msg.max_current_ua <= HW_MAX_CURRENT_UA
                      and SLEW_RANGE_UA_S[0] <= msg.slew_ua_s <= SLEW_RANGE_UA_S[1]
                      and WATCHDOG_RANGE_MS[0] <= msg.watchdog_ms <= WATCHDOG_RANGE_MS[1])
        self._require_disabled()
        self.max_current_ua, self.slew_ua_s, self.watchdog_ms = msg.max_current_ua, msg.slew_ua_s, msg.watchdog_ms
        self.target_ua = min(self.target_ua, self.max_current_ua)

    def _cmd_set_rate(self, msg) -> None:
        self._require(RATE_RANGE_HZ[0] <= msg.rate_hz <= RATE_RANGE_HZ[1])
        self.rate_hz = msg.rate_hz
        self._rate_anchor_s, self._rate_anchor_n = self._t, 0
        self._next_sample_s = self._t + 1.0 / self.rate_hz

    def _cmd_clear_fault(self, msg) -> None:
        self.latched_fault = FaultCode.NONE  # a button still held down latches again right after the ACK

    def _cmd_write_cal(self, msg) -> None:
        self._require(math.isfinite(msg.gain) and math.isfinite(msg.offset_ua) and msg.gain > 0)
        self._require_disabled()
        self.nvram.cal_gain, self.nvram.cal_offset_ua, self.nvram.cal_date = msg.gain, msg.offset_ua, msg.cal_date

    def _cmd_get_status(self, msg) -> Message:
        return Status(flags=self.flags(), latched_fault=int(self.latched_fault),
                      max_current_ua=self.max_current_ua, slew_ua_s=self.slew_ua_s,
                      watchdog_ms=self.watchdog_ms, telemetry_hz=self.rate_hz,
                      frames_dropped=self.frames_dropped & U32, uptime_ms=self.uptime_ms)

    def _cmd_set_waveform(self, msg) -> None:
        self._require(msg.mode in (0, 1)
                      and PULSE_FREQ_RANGE_HZ[0] <= msg.frequency_hz <= PULSE_FREQ_RANGE_HZ[1]
                      and DUTY_RANGE_PCT[0] <= msg.duty_pct <= DUTY_RANGE_PCT[1])
        self._require_disabled()
        self.pulsed, self.pulse_hz, self.duty_pct = msg.mode == 1, msg.frequency_hz, msg.duty_pct

    def _cmd_stop(self, msg) -> None:
        self._require(STOP_RAMP_RANGE_MS[0] <= msg.ramp_ms <= STOP_RAMP_RANGE_MS[1])
        self.target_ua = 0
        if not self.output_enabled or msg.ramp_ms == 0 or self.level_ua <= 0.0:
            self._cut_output()
            return
        self._stop_ramp = (self._t, self.level_ua, msg.ramp_ms / 1000.0)
