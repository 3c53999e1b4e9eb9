"""CalibrationRunner: drives the board and the bench instruments through a calibration or verification.

WHY it is shaped this way:

- It runs on its own thread and reports through one callback (``on_event``)
  with small frozen events (``events``); a GUI puts them on a queue and
  drains it on a QTimer, a CLI prints them. It never touches Qt.
- All decisions (tolerances, the fit, whether constants may be written, the
  verdict, the due date) live in ``core.calibration``; this module measures
  and sequences. It reads the board through the same samples as a treatment
  (``tap``, fed by ``control.samples``), in calibration's units (``units``).
- Safety: any failure (instrument timeout, garbage, instrument error, board
  NAK, disconnect, board fault, a wiring check, cancel) ends in the same
  place: OUTPUT 0 (STOP 0 as a second attempt), a check in the telemetry
  that the output is really off, no WRITE_CAL, and the reason in plain words
  in the result (``wording``). WRITE_CAL is sent only after a complete
  as-found sweep whose fit passed the rules; it is one ICD frame, so the
  board holds either the old or the new constants, and the runner reads
  IDENT back to know which.
- Instruments are used through small Protocols (``roles``) so a test can put
  a fake in any role; the bench is opened by ``bench.BenchSpec.connect`` and
  the result kept by a ``sink.CalibrationSink``, both outside the runner.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...core.numbers import signed
from ...core.calibration import (DEFAULT_INTERVAL_DAYS, CalibrationResult, CalibrationRuleError, Constants, Mode,
                                 PointResult, SweepPlan, Tolerance, Verdict, check_fit_writable, check_impedance,
                                 check_point_plausible, evaluate_point, fit_from_points, judge, next_due)
from ...core.calibration_due import calibration_status
from ...core.samples import BoardFault, Sample
from ...drivers.bench import BenchError
from ...drivers.board import messages as m
from ...drivers.board.errors import BoardError
from ...drivers.board.link import LinkState
from .bench import Bench
from .events import ConnectFailed, FitReady, Identified, Phase, PhaseChanged, PointMeasured, RunEvent, RunFinished
from .units import board_mv, board_ua, describe, settled
from .wording import RunAborted, describe_board_failure, describe_instrument_failure, sentence

log = logging.getLogger(__name__)

#: Seconds to wait for the output to reach a point beyond the slew time (loaded host, slow board).
SETTLE_MARGIN_S = 5.0
#: Seconds to wait for telemetry confirming a command (output off, samples of a point).
TELEMETRY_DEADLINE_S = 5.0
LCR_FREQUENCY_HZ = 1_000.0


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class RunnerSettings:
    plan: SweepPlan = field(default_factory=SweepPlan)
    tolerance: Tolerance = field(default_factory=Tolerance)
    impedance_tolerance_pct: float = 5.0
    interval_days: int = DEFAULT_INTERVAL_DAYS
    #: The bench is the simulated one (``ionto-cal --sim``, the demo): the result says so.
    simulated: bool = False


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
                                   interval_days=s.interval_days, board_url=self._board_url,
                                   simulated=s.simulated)
        bench: Bench | None = None
        try:
            bench = self._ensure_bench()
            assert self.identified is not None
            result.board_serial = self.identified.board_serial
            result.board_firmware = self.identified.board_firmware
            result.instruments = dict(self.identified.instruments)
            result.old_constants = self.identified.constants
            bench.drive_output(True)  # a borrowed port's guard lets this run's output be
            self._run(bench, mode, auto_write, result)
        except (RunAborted, CalibrationRuleError) as exc:
            result.verdict, result.reason = Verdict.ERROR, sentence(str(exc))
        except Exception as exc:  # a bug must still end with the output off and a reason
            log.exception("calibration run failed unexpectedly")
            result.verdict, result.reason = Verdict.ERROR, sentence(f"internal error: {exc}")
        finally:
            if bench is not None:
                self._phase(Phase.SAFE_OFF, "switching the output off")
                result.output_off_confirmed = self._safe_off(bench)
                bench.drive_output(False)  # from here an output on is one nobody asked for
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
            calibration = calibration_status(old.date, s.interval_days, self._clock().date())
            result.due_date = calibration.due
            # (constants never dated: the verdict is the measurements', as before; the desk refuses such a board)
            if calibration.lapsed and calibration.due is not None:
                result.verdict = Verdict.FAIL
                result.reason = f"{calibration.blocker} {result.reason}"
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
        self._phase(Phase.WRITING, f"writing gain {new.gain:.6f}, offset {signed(new.offset_ua, 2)} µA")
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
            return bench.link.request(msg, timeout=bench.reply_timeout_s)
        except BoardError as exc:
            raise RunAborted(describe_board_failure(doing, msg.TYPE, exc)) from exc

    def _prepare_board(self, bench: Bench) -> None:
        plan = self.settings.plan
        status = self._board(bench, "reading the board's status", m.GetStatus())
        if isinstance(status, m.Status) and status.latched_fault:
            raise RunAborted(f"the board has fault {BoardFault.describe(status.latched_fault)} latched: find its cause "
                             "and clear it before calibrating")
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
            ident = bench.link.request(m.Hello(), timeout=bench.reply_timeout_s)
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

        def at_point(t: Sample) -> bool:
            if t.at_compliance:
                raise RunAborted(f"the board reached its compliance voltage while {doing}: "
                                 "the load is too high or not connected")
            return settled(t, current)

        slew_s = abs(current - level) / plan.slew_ua_s
        after = tap.wait(since, at_point, f"the output settled at {current / 1000:g} mA",
                         slew_s + SETTLE_MARGIN_S, self._cancel)
        start = after + plan.settle_samples  # the analog path settles for a few samples after the slew
        if plan.settle_samples:
            tap.wait(start - 1, lambda t: True, "the settling samples", TELEMETRY_DEADLINE_S, self._cancel)
        readings = []
        for _ in range(plan.dmm_readings):
            self._check_cancel()
            tap.check()
            readings.append(self._inst("DMM", doing, bench.meter.read_current_a) * 1e6)

        def steady(t: Sample) -> None:
            if not settled(t, current):
                raise RunAborted(f"the output left {current / 1000:g} mA while {doing} ({describe(t)})")

        samples = tap.collect(start, plan.board_samples, steady,
                              plan.board_samples / plan.telemetry_hz + TELEMETRY_DEADLINE_S, self._cancel)
        tap.check()  # a fault that arrived with the last sample
        try:
            check_point_plausible(current, float(np.mean(readings)))
        except CalibrationRuleError as exc:
            raise RunAborted(str(exc)) from exc
        return evaluate_point(load_ohm=load, set_ua=current, board_ua=[board_ua(t) for t in samples],
                              board_mv=[board_mv(t) for t in samples], dmm_ua=readings, constants=constants,
                              tolerance=self.settings.tolerance)

    # --- safe off ------------------------------------------------------------------

    def _safe_off(self, bench: Bench) -> bool:
        """OUTPUT 0, STOP 0 if that was not acknowledged, then wait for telemetry showing the output off."""
        link, tap = bench.link, bench.tap
        since = tap.mark()
        acked = False
        try:
            link.request(m.Output(0), timeout=bench.reply_timeout_s)
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
            tap.wait(since, lambda t: not t.output_on, "the output off",
                     TELEMETRY_DEADLINE_S, off)
            return True
        except RunAborted as exc:
            log.warning("could not confirm the output off: %s", exc)
            return False
