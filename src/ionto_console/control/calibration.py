"""CalibrationRunner: drives the board and the bench instruments through a calibration or verification.

WHY it is shaped this way:

- It runs on its own thread and reports through one callback (``on_event``)
  with small frozen events; a GUI puts them on a queue and drains it on a
  QTimer, a CLI prints them. It never touches Qt.
- All decisions (tolerances, the fit, whether constants may be written, the
  verdict, the due date) live in ``core.calibration``; this module measures
  and sequences.
- Safety: any failure (instrument timeout, garbage, instrument error, board
  NAK, disconnect, board fault, a wiring check, cancel) ends in the same
  place: OUTPUT 0 (STOP 0 as a second attempt), a check in the telemetry
  that the output is really off, no WRITE_CAL, and the reason in plain words
  in the result. WRITE_CAL is sent only after a complete as-found sweep whose
  fit passed the rules; it is one ICD frame, so the board holds either the
  old or the new constants, and the runner reads IDENT back to know which.
- Instruments are used through small Protocols (``CurrentMeter``,
  ``LoadSetter``, ``ImpedanceMeter``) so a test can put a fake in any role.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from ..core.calibration import (DEFAULT_INTERVAL_DAYS, CalibrationResult, CalibrationRuleError, Constants, Fit,
                                Mode, PointResult, SweepPlan, Tolerance, Verdict, check_fit_writable,
                                check_impedance, check_point_plausible, evaluate_point, fit_from_points, judge,
                                next_due, pick_current_range_a)
from ..drivers.bench import (BenchError, DecadeResistor, InstrumentError, InstrumentGarbage, InstrumentOverload,
                             InstrumentTimeout, KeysightDmm, KeysightE4980A, open_instrument)
from ..drivers.bench.scpi import Identity
from ..drivers.board import messages as m
from ..drivers.board.errors import BoardDisconnected, BoardError, BoardNakError, ReplyTimeout, command_name, nak_name
from ..drivers.board.link import BoardLink, LinkState, TelemetryEvent

log = logging.getLogger(__name__)

#: Seconds to wait for the output to reach a point beyond the slew time (loaded host, slow board).
SETTLE_MARGIN_S = 5.0
#: Seconds to wait for telemetry confirming a command (output off, samples of a point).
TELEMETRY_DEADLINE_S = 5.0
LCR_FREQUENCY_HZ = 1_000.0
DEFAULT_VISA_TIMEOUT_MS = 2_000


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# --- instrument roles -----------------------------------------------------------


class CurrentMeter(Protocol):
    """The ammeter in series with the load (the truth of the calibration)."""

    identity: str

    def prepare(self, expected_a: float) -> None:
        """Set a fixed range suited to ``expected_a`` before reading."""

    def read_current_a(self) -> float: ...

    def close(self) -> None: ...


class LoadSetter(Protocol):
    """The programmable load (decade resistor)."""

    identity: str

    def set_resistance(self, ohms: float) -> float:
        """Program ``ohms``; returns the value the instrument reports back."""

    def close(self) -> None: ...


class ImpedanceMeter(Protocol):
    """Optional LCR meter: the reference for the impedance check."""

    identity: str

    def measure_ohm(self, freq_hz: float) -> float: ...

    def close(self) -> None: ...


def idn_text(identity: Identity) -> str:
    """The ``*IDN?`` string as the instrument gave it (what a certificate lists)."""
    return ",".join((identity.manufacturer, identity.model, identity.serial, identity.firmware))


class DmmCurrentMeter:
    """A Keysight 34461A/65A as the series ammeter: fixed range per point, 10 NPLC."""

    def __init__(self, dmm: KeysightDmm, nplc: float = 10.0) -> None:
        self.dmm = dmm
        self.nplc = nplc
        self.identity = idn_text(dmm.identity)
        self._range: float | None = None

    def prepare(self, expected_a: float) -> None:
        rng = pick_current_range_a(expected_a)
        if rng != self._range:
            self._range = None  # if configuring fails, configure again next time
            self.dmm.configure_current_dc(rng, nplc=self.nplc)
            self._range = rng

    def read_current_a(self) -> float:
        """One reading, then the error queue: a reading the meter itself flagged must not enter the fit."""
        value = self.dmm.read()
        self.dmm.check_errors("READ?")
        return abs(value)  # magnitude: the board reports magnitudes, polarity is a flag

    def close(self) -> None:
        self.dmm.close()


class DecadeLoadSetter:
    """An IET PRS-200 decade resistor as the load (write, error check, read-back)."""

    def __init__(self, box: DecadeResistor) -> None:
        self.box = box
        self.identity = idn_text(box.identity)

    def set_resistance(self, ohms: float) -> float:
        return self.box.set_resistance(ohms)

    def close(self) -> None:
        self.box.close()


class LcrImpedanceMeter:
    """A Keysight E4980A measuring |Z| of the load (output off) at a test frequency."""

    def __init__(self, lcr: KeysightE4980A, level_v: float = 1.0) -> None:
        self.lcr = lcr
        self.level_v = level_v
        self.identity = idn_text(lcr.identity)
        self._configured_hz: float | None = None

    def measure_ohm(self, freq_hz: float) -> float:
        if self._configured_hz != freq_hz:
            self.lcr.function = "ZTD"
            self.lcr.frequency_hz = freq_hz
            self.lcr.level_v = self.level_v
            self._configured_hz = freq_hz
        return self.lcr.fetch().primary

    def close(self) -> None:
        self.lcr.close()


# --- the board's telemetry, as the runner needs it -----------------------------


class RunAborted(Exception):
    """The run cannot go on; ``str()`` is the reason in plain words."""


def _settled(t: m.Telemetry, target_ua: int) -> bool:
    flags = m.Flags(t.flags)
    return (m.Flags.OUTPUT_ENABLED in flags and m.Flags.SLEWING not in flags and m.Flags.FAULT_LATCHED not in flags
            and t.target_ua == target_ua)


class TelemetryTap:
    """Keeps the recent telemetry and notices faults and disconnects (link listener side).

    Listeners run on the link's reader thread: they only append and notify.
    Samples are addressed by an absolute index so the runner can say "the
    samples that came after this command".
    """

    def __init__(self, keep: int = 5_000) -> None:
        self._cond = threading.Condition()
        self._samples: deque[m.Telemetry] = deque(maxlen=keep)
        self._count = 0
        self.fault: m.Fault | None = None
        self.lost: str = ""

    def attach(self, link: BoardLink) -> None:
        link.add_telemetry_listener(self.on_telemetry)
        link.add_fault_listener(self.on_fault)
        link.add_state_listener(self.on_state)

    # listener side
    def on_telemetry(self, event: TelemetryEvent) -> None:
        with self._cond:
            self._samples.append(event.msg)
            self._count += 1
            if event.board_rebooted:
                self.lost = "the board restarted (its sample counter went back): its settings were lost"
            self._cond.notify_all()

    def on_fault(self, fault: m.Fault, host_time: float) -> None:
        with self._cond:
            self.fault = fault
            self._cond.notify_all()

    def on_state(self, state: LinkState, reason: str) -> None:
        if state is not LinkState.CONNECTED:
            with self._cond:
                self.lost = reason or "the board link closed"
                self._cond.notify_all()

    # runner side
    def mark(self) -> int:
        """Index of the next sample to arrive."""
        with self._cond:
            return self._count

    def latest(self) -> m.Telemetry | None:
        with self._cond:
            return self._samples[-1] if self._samples else None

    def check(self) -> None:
        """Raise RunAborted if the board latched a fault or the link went away."""
        if self.fault is not None:
            raise RunAborted(describe_fault(self.fault))
        if self.lost:
            raise RunAborted(f"the board link was lost: {self.lost}")

    def wait(self, since: int, accept: Callable[[m.Telemetry], bool | None], what: str, timeout_s: float,
             cancelled: threading.Event) -> int:
        """Wait for a sample after ``since`` for which ``accept`` is True; returns the index after it.

        ``accept`` may raise RunAborted to stop at a sample (e.g. at compliance)."""
        deadline = time.monotonic() + timeout_s
        index = since
        with self._cond:
            while True:
                self.check()
                if cancelled.is_set():
                    raise RunAborted("cancelled by the engineer")
                first = self._count - len(self._samples)
                index = max(index, first)
                while index < self._count:
                    sample = self._samples[index - first]
                    index += 1
                    if accept(sample):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RunAborted(f"the board's telemetry did not show {what} within {timeout_s:.0f} s")
                self._cond.wait(min(remaining, 0.05))

    def collect(self, since: int, count: int, check: Callable[[m.Telemetry], None], timeout_s: float,
                cancelled: threading.Event) -> list[m.Telemetry]:
        """The ``count`` samples after index ``since`` (each passed through ``check``)."""
        taken: list[m.Telemetry] = []

        def take(sample: m.Telemetry) -> bool:
            check(sample)
            taken.append(sample)
            return len(taken) >= count

        self.wait(since, take, f"{count} samples", timeout_s, cancelled)
        return taken


def describe_fault(fault: m.Fault) -> str:
    try:
        name = m.FaultCode(fault.code).name
    except ValueError:
        name = f"code {fault.code}"
    return f"the board latched fault {name} (measured {fault.detail} µA) and cut its output"


def describe_instrument_failure(role: str, doing: str, exc: BenchError) -> str:
    """One line for Ravi: which instrument, what happened, while doing what."""
    if isinstance(exc, InstrumentTimeout):
        what = "stopped answering"
    elif isinstance(exc, InstrumentGarbage):
        what = "answered something unreadable"
    elif isinstance(exc, InstrumentOverload):
        what = "read over range"
    elif isinstance(exc, InstrumentError):
        what = "reported an error"
    else:
        what = "could not be reached"
    return f"the {role} {what} while {doing} ({exc})"


def describe_board_failure(doing: str, command: int, exc: BoardError) -> str:
    if isinstance(exc, BoardNakError):
        return f"the board refused {command_name(command)} ({nak_name(exc.error)}) while {doing}"
    if isinstance(exc, ReplyTimeout):
        return f"the board did not answer {command_name(command)} while {doing} ({exc})"
    if isinstance(exc, BoardDisconnected):
        return f"the board disconnected while {doing} ({exc})"
    return f"the board failed while {doing} ({exc})"


# --- the connected bench ---------------------------------------------------------


@dataclass
class Bench:
    """An open board link plus open instruments; the runner owns and closes it."""

    link: BoardLink
    tap: TelemetryTap
    meter: CurrentMeter
    load: LoadSetter
    impedance: ImpedanceMeter | None = None

    @property
    def identities(self) -> dict[str, str]:
        ids = {"dmm": self.meter.identity, "load": self.load.identity}
        if self.impedance is not None:
            ids["lcr"] = self.impedance.identity
        return ids

    def close(self) -> None:
        for inst in (self.meter, self.load, self.impedance):
            if inst is not None:
                try:
                    inst.close()
                except Exception:  # closing must not hide why a run ended
                    log.debug("closing %r failed", inst, exc_info=True)
        self.link.close()


def open_board(url: str, reply_timeout_s: float = 2.0) -> tuple[BoardLink, TelemetryTap]:
    """Open the board link and wait for its IDENT; RunAborted with the link's reason otherwise."""
    link = BoardLink(url, reply_timeout_s=reply_timeout_s, reconnect_period_s=0.5)
    tap = TelemetryTap()
    tap.attach(link)
    link.open(wait=True)
    if link.state is not LinkState.CONNECTED or link.ident is None:
        reason = link.reason
        link.close()
        raise RunAborted(f"no board: {reason}")
    tap.lost = ""  # state changes before the handshake finished are not losses
    return link, tap


@dataclass(frozen=True)
class BenchSpec:
    """Where the board and instruments are (what the CLI and the wizard's connect page collect)."""

    board_url: str
    dmm: str
    load: str
    lcr: str | None = None
    visa_backend: str = "@py"
    visa_timeout_ms: int = DEFAULT_VISA_TIMEOUT_MS

    def connect(self) -> Bench:
        """Open everything, or nothing: a failure closes what was opened and raises RunAborted."""
        link, tap = open_board(self.board_url)
        opened: list[object] = []
        try:
            meter = DmmCurrentMeter(self._open("DMM", self.dmm, KeysightDmm, opened))
            load = DecadeLoadSetter(self._open("decade resistor", self.load, DecadeResistor, opened))
            lcr = (LcrImpedanceMeter(self._open("LCR meter", self.lcr, KeysightE4980A, opened))
                   if self.lcr else None)
        except BaseException:
            for inst in opened:
                inst.close()  # type: ignore[attr-defined]
            link.close()
            raise
        return Bench(link, tap, meter, load, lcr)

    def _open(self, role: str, resource: str, cls: type, opened: list[object]):
        try:
            inst = open_instrument(resource, cls, backend=self.visa_backend, timeout_ms=self.visa_timeout_ms)
        except BenchError as exc:
            raise RunAborted(describe_instrument_failure(role, f"connecting to {resource}", exc)) from exc
        opened.append(inst)
        return inst


# --- events ------------------------------------------------------------------------


class Phase(str, enum.Enum):
    CONNECTING = "connecting"
    AS_FOUND = "as-found sweep"
    FIT = "fit"
    AWAITING_APPROVAL = "waiting for approval to write"
    WRITING = "writing constants"
    VERIFICATION = "verification sweep"
    SAFE_OFF = "output off"
    DONE = "done"


@dataclass(frozen=True)
class Identified:
    board_serial: str
    board_firmware: str
    constants: Constants
    instruments: dict[str, str]


@dataclass(frozen=True)
class ConnectFailed:
    reason: str


@dataclass(frozen=True)
class PhaseChanged:
    phase: Phase
    text: str


@dataclass(frozen=True)
class PointMeasured:
    sweep: str  # "as-found" or "as-left"
    point: PointResult
    index: int  # 1-based within the sweep
    total: int


@dataclass(frozen=True)
class FitReady:
    fit: Fit
    old: Constants
    new: Constants


@dataclass(frozen=True)
class RunFinished:
    result: CalibrationResult


RunEvent = Identified | ConnectFailed | PhaseChanged | PointMeasured | FitReady | RunFinished


# --- the runner --------------------------------------------------------------------


@dataclass
class RunnerSettings:
    plan: SweepPlan = field(default_factory=SweepPlan)
    tolerance: Tolerance = field(default_factory=Tolerance)
    impedance_tolerance_pct: float = 5.0
    interval_days: int = DEFAULT_INTERVAL_DAYS


def _f32(value: float) -> float:
    """The value as the board stores it (ICD f32)."""
    return float(np.float32(value))


class CalibrationRunner:
    """One calibration or verification at a time, on its own thread.

    ``connect`` opens the bench (``BenchSpec.connect`` in production, a
    function returning a ``Bench`` with fakes in tests). ``on_event`` is
    called on the runner's thread: keep it quick (queue the event).
    """

    def __init__(self, connect: Callable[[], Bench], settings: RunnerSettings | None = None, *,
                 on_event: Callable[[RunEvent], None] | None = None, board_url: str = "",
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._connect = connect
        self.settings = settings or RunnerSettings()
        self._on_event = on_event
        self._board_url = board_url
        self._clock = clock
        self._bench: Bench | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._approved = threading.Event()
        self._cancel_reason = "cancelled by the engineer"
        self.result: CalibrationResult | None = None
        self.identified: Identified | None = None

    # --- intents -----------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def identify(self) -> None:
        """Connect and identify board and instruments (``Identified`` or ``ConnectFailed``); stays connected."""
        self._spawn(self._identify_job, "calibration-identify")

    def start(self, mode: Mode, engineer: str, *, auto_write: bool = True) -> None:
        """Run ``mode``. With ``auto_write=False`` the runner stops after the fit until ``approve_write()``."""
        engineer = engineer.strip()
        if not engineer:
            raise ValueError("the engineer's name is required for the calibration record")
        self._cancel.clear()
        self._approved.clear()
        self.result = None
        self._spawn(lambda: self._run_job(Mode(mode), engineer, auto_write), "calibration-run")

    def approve_write(self) -> None:
        self._approved.set()

    def cancel(self, reason: str = "cancelled by the engineer") -> None:
        """Thread-safe: the run stops at its next step, output off, nothing (more) written."""
        self._cancel_reason = reason
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> CalibrationResult | None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.result

    def close(self) -> None:
        """Cancel anything running and close the bench."""
        self.cancel("the calibration window was closed")
        self.wait(30.0)
        if self._bench is not None:
            self._bench.close()
            self._bench = None

    # --- thread plumbing ---------------------------------------------------------

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        if self.busy:
            raise RuntimeError("the calibration runner is busy")
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def _emit(self, event: RunEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("calibration event listener raised (ignored)")

    def _phase(self, phase: Phase, text: str) -> None:
        self._emit(PhaseChanged(phase, text))

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise RunAborted(self._cancel_reason)

    # --- jobs -------------------------------------------------------------------------

    def _identify_job(self) -> None:
        try:
            self._ensure_bench()
        except RunAborted as exc:
            self._emit(ConnectFailed(str(exc)))
        except Exception as exc:
            log.exception("connecting the calibration bench failed")
            self._emit(ConnectFailed(f"internal error while connecting: {exc}"))

    def _ensure_bench(self) -> Bench:
        if self._bench is not None and self._bench.link.state is LinkState.CONNECTED:
            return self._bench
        if self._bench is not None:
            self._bench.close()
            self._bench = None
        self._phase(Phase.CONNECTING, "connecting to the board and the instruments")
        bench = self._connect()
        ident = bench.link.ident
        if ident is None:
            bench.close()
            raise RunAborted("the board disconnected right after connecting")
        self._bench = bench
        self.identified = Identified(ident.serial_number, ident.firmware,
                                     Constants(gain=ident.cal_gain, offset_ua=ident.cal_offset_ua,
                                               date=ident.cal_date), bench.identities)
        self._emit(self.identified)
        return bench

    def _run_job(self, mode: Mode, engineer: str, auto_write: bool) -> None:
        s = self.settings
        result = CalibrationResult(mode=mode, engineer=engineer, started_at=self._clock(), plan=s.plan,
                                   tolerance_rel=s.tolerance.rel, tolerance_abs_ua=s.tolerance.abs_ua,
                                   impedance_tolerance_pct=s.impedance_tolerance_pct,
                                   interval_days=s.interval_days, board_url=self._board_url)
        bench: Bench | None = None
        try:
            bench = self._ensure_bench()
            assert self.identified is not None
            result.board_serial = self.identified.board_serial
            result.board_firmware = self.identified.board_firmware
            result.instruments = dict(self.identified.instruments)
            result.old_constants = self.identified.constants
            self._run(bench, mode, auto_write, result)
        except (RunAborted, CalibrationRuleError) as exc:
            result.verdict, result.reason = Verdict.ERROR, _sentence(str(exc))
        except Exception as exc:  # a bug must still end with the output off and a reason
            log.exception("calibration run failed unexpectedly")
            result.verdict, result.reason = Verdict.ERROR, _sentence(f"internal error: {exc}")
        finally:
            if bench is not None:
                self._phase(Phase.SAFE_OFF, "switching the output off")
                result.output_off_confirmed = self._safe_off(bench)
                if not result.output_off_confirmed:
                    result.reason += (" The output could not be confirmed off; the board's watchdog ends it "
                                      f"within {s.plan.watchdog_ms} ms of the link closing.")
                bench.close()
                self._bench = None
            if result.verdict is Verdict.ERROR and not result.written:
                result.reason += " Nothing was written to the board."
            result.finished_at = self._clock()
            log.log(logging.INFO if result.verdict is Verdict.PASS else logging.WARNING,
                    "calibration %s ended: %s: %s", mode.value, result.verdict.value, result.reason)
            self.result = result
            self._phase(Phase.DONE, f"{result.verdict.value}: {result.reason}")
            self._emit(RunFinished(result))

    def _run(self, bench: Bench, mode: Mode, auto_write: bool, result: CalibrationResult) -> None:
        s = self.settings
        old = result.old_constants
        assert old is not None
        self._prepare_board(bench)
        references: dict[float, tuple[float, str]] = {}
        first = "as-found" if mode is Mode.CALIBRATE else "verification"
        self._phase(Phase.AS_FOUND if mode is Mode.CALIBRATE else Phase.VERIFICATION,
                    f"{first} sweep: {s.plan.point_count} points")
        self._sweep(bench, "as-found", old, references, result.as_found)
        if mode is Mode.VERIFY:
            result.impedance = check_impedance(result.as_found, references, s.impedance_tolerance_pct)
            result.verdict, result.reason = judge(result.as_found, result.impedance, s.plan.point_count)
            result.due_date = (next_due(dt.datetime.fromtimestamp(old.date, dt.timezone.utc), s.interval_days)
                               if old.date else None)
            if result.due_date is not None and result.due_date < self._clock().date():
                result.verdict = Verdict.FAIL
                result.reason = f"calibration lapsed on {result.due_date.isoformat()}; " + result.reason
            return

        self._phase(Phase.FIT, "fitting gain and offset")
        fit = fit_from_points(result.as_found)
        result.fit = fit
        check_fit_writable(fit, result.as_found, s.tolerance)
        cal_time = self._clock()
        new = Constants(gain=_f32(fit.gain), offset_ua=_f32(fit.offset_ua), date=int(cal_time.timestamp()))
        self._emit(FitReady(fit, old, new))
        if not auto_write:
            self._phase(Phase.AWAITING_APPROVAL, "waiting for the engineer to approve writing the constants")
            while not self._approved.wait(0.05):
                self._check_cancel()
        self._check_cancel()
        self._phase(Phase.WRITING, f"writing gain {new.gain:.6f}, offset {new.offset_ua:+.2f} µA")
        result.written = self._write_cal(bench, new)
        result.new_constants = new
        result.due_date = next_due(cal_time, s.interval_days)
        self._phase(Phase.VERIFICATION, f"verification sweep with the new constants: {s.plan.point_count} points")
        self._sweep(bench, "as-left", new, references, result.as_left)
        result.impedance = check_impedance(result.as_left, references, s.impedance_tolerance_pct)
        result.verdict, result.reason = judge(result.as_left, result.impedance, s.plan.point_count)

    # --- board steps -------------------------------------------------------------

    def _board(self, bench: Bench, doing: str, msg: m.Message) -> m.Message:
        bench.tap.check()
        try:
            return bench.link.request(msg)
        except BoardError as exc:
            raise RunAborted(describe_board_failure(doing, msg.TYPE, exc)) from exc

    def _prepare_board(self, bench: Bench) -> None:
        plan = self.settings.plan
        status = self._board(bench, "reading the board's status", m.GetStatus())
        if isinstance(status, m.Status) and status.latched_fault:
            try:
                name = m.FaultCode(status.latched_fault).name
            except ValueError:
                name = str(status.latched_fault)
            raise RunAborted(f"the board has fault {name} latched: find its cause and clear it before calibrating")
        self._board(bench, "switching the output off before the sweep", m.Output(0))
        self._board(bench, "setting the sweep limits",
                    m.SetLimits(plan.max_current_ua, plan.slew_ua_s, plan.watchdog_ms))
        self._board(bench, "setting the telemetry rate", m.SetRate(plan.telemetry_hz))
        self._board(bench, "selecting DC output", m.SetWaveform(int(m.WaveformMode.DC), 1_000, 50))

    def _write_cal(self, bench: Bench, new: Constants) -> bool:
        """WRITE_CAL then IDENT read-back; True when the board holds ``new``."""
        error: RunAborted | None = None
        try:
            self._board(bench, "writing the calibration", m.WriteCal(new.gain, new.offset_ua, new.date))
        except RunAborted as exc:
            error = exc
        try:
            ident = bench.link.request(m.Hello())
        except BoardError as exc:
            raise RunAborted(f"{error or 'the calibration was sent'}; the board's constants could not be read "
                             f"back ({exc}): read its IDENT before use") from exc
        assert isinstance(ident, m.Ident)
        holds_new = (ident.cal_gain, ident.cal_offset_ua, ident.cal_date) == (new.gain, new.offset_ua, new.date)
        if error is not None:
            if holds_new:
                raise RunAborted(f"{error}; the board's IDENT nevertheless shows the new constants")
            raise error
        if not holds_new:
            raise RunAborted(f"the board acknowledged WRITE_CAL but its IDENT shows gain {ident.cal_gain}, "
                             f"offset {ident.cal_offset_ua} µA instead of the new constants")
        return True

    # --- the sweep ------------------------------------------------------------------

    def _inst(self, role: str, doing: str, fn: Callable, *args):
        try:
            return fn(*args)
        except BenchError as exc:
            raise RunAborted(describe_instrument_failure(role, doing, exc)) from exc

    def _sweep(self, bench: Bench, sweep: str, constants: Constants,
               references: dict[float, tuple[float, str]], points: list[PointResult]) -> None:
        """Measure every point of the plan into ``points`` (kept for the record if the sweep aborts)."""
        plan = self.settings.plan
        total = plan.point_count
        for load in plan.loads_ohm:
            self._check_cancel()
            actual = self._inst("decade resistor", f"setting the load to {load:g} ohm",
                                bench.load.set_resistance, load)
            if load not in references:
                references[load] = (float(actual), "decade")
                if bench.impedance is not None:
                    z = self._inst("LCR meter", f"measuring the {load:g} ohm load",
                                   bench.impedance.measure_ohm, LCR_FREQUENCY_HZ)
                    references[load] = (float(z), "LCR")
            level = 0
            output_on = False
            for current in sorted(plan.currents_ua):
                self._check_cancel()
                doing = f"measuring {current / 1000:g} mA into {load:g} ohm ({sweep} sweep)"
                point = self._point(bench, load, current, level, output_on, constants, doing)
                level, output_on = current, True
                points.append(point)
                self._emit(PointMeasured(sweep, point, len(points), total))
            self._board(bench, f"switching the output off after the {load:g} ohm load", m.Output(0))

    def _point(self, bench: Bench, load: float, current: int, level: int, output_on: bool,
               constants: Constants, doing: str) -> PointResult:
        plan = self.settings.plan
        tap = bench.tap
        self._inst("DMM", f"selecting the range for {doing}", bench.meter.prepare, current * 1e-6 * 1.1)
        since = tap.mark()
        self._board(bench, doing, m.SetTarget(current))
        if not output_on:
            self._board(bench, doing, m.Output(1))

        def settled(t: m.Telemetry) -> bool:
            if m.Flags.AT_COMPLIANCE in m.Flags(t.flags):
                raise RunAborted(f"the board reached its compliance voltage while {doing}: "
                                 "the load is too high or not connected")
            return _settled(t, current)

        slew_s = abs(current - level) / plan.slew_ua_s
        after = tap.wait(since, settled, f"the output settled at {current / 1000:g} mA",
                         slew_s + SETTLE_MARGIN_S, self._cancel)
        start = after + plan.settle_samples  # the analog path settles for a few samples after the slew
        if plan.settle_samples:
            tap.wait(start - 1, lambda t: True, "the settling samples", TELEMETRY_DEADLINE_S, self._cancel)
        readings = []
        for _ in range(plan.dmm_readings):
            self._check_cancel()
            tap.check()
            readings.append(self._inst("DMM", doing, bench.meter.read_current_a) * 1e6)

        def steady(t: m.Telemetry) -> None:
            if not _settled(t, current):
                raise RunAborted(f"the output left {current / 1000:g} mA while {doing} (flags {t.flags:#04x})")

        samples = tap.collect(start, plan.board_samples, steady,
                              plan.board_samples / plan.telemetry_hz + TELEMETRY_DEADLINE_S, self._cancel)
        tap.check()  # a fault that arrived with the last sample
        try:
            check_point_plausible(current, float(np.mean(readings)))
        except CalibrationRuleError as exc:
            raise RunAborted(str(exc)) from exc
        return evaluate_point(load_ohm=load, set_ua=current, board_ua=[t.current_ua for t in samples],
                              board_mv=[t.voltage_mv for t in samples], dmm_ua=readings, constants=constants,
                              tolerance=self.settings.tolerance)

    # --- safe off ------------------------------------------------------------------

    def _safe_off(self, bench: Bench) -> bool:
        """OUTPUT 0, STOP 0 if that was not acknowledged, then wait for telemetry showing the output off."""
        link, tap = bench.link, bench.tap
        since = tap.mark()
        acked = False
        try:
            link.request(m.Output(0))
            acked = True
        except BoardError as exc:
            log.warning("OUTPUT 0 at the end of a calibration run failed: %s", exc)
        if not acked:
            try:
                link.write_now(m.Stop(0))
            except BoardError as exc:
                log.warning("STOP 0 at the end of a calibration run failed: %s", exc)
        off = threading.Event()  # never set: the confirmation must not be cancelled
        tap.fault = None  # a latched fault already cut the output; we now want to see it off
        try:
            tap.wait(since, lambda t: m.Flags.OUTPUT_ENABLED not in m.Flags(t.flags), "the output off",
                     TELEMETRY_DEADLINE_S, off)
            return True
        except RunAborted as exc:
            log.warning("could not confirm the output off: %s", exc)
            return False


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def store_calibration_result(result: CalibrationResult, database_url: str | None) -> str:
    """Keep the result in the records database; a failure is reported, the result files stand."""
    from ..records import RecordsError, open_database, record_calibration

    try:
        db = open_database(database_url)
        try:
            record_id = record_calibration(db, result.model_dump(mode="json"), who=result.engineer)
        finally:
            db.close()
    except RecordsError as exc:
        return f"records: NOT stored ({exc}); keep the --json/--pdf files"
    return f"records: stored as calibration {record_id}"
