"""CalibrationRunner end to end: board simulator on a real pty, DMM/decade/LCR simulated over TCP (pyvisa-py).

The simulated board ships with deliberately wrong factory constants (gain 1,
offset 0) over a front end that reads ``true*0.97 + 18 µA``: calibration must
find and fix that, and every way the bench can fail must end with the output
off and the board's constants untouched.
"""

from __future__ import annotations

import threading
import time

import pytest

from ionto_console.control.calibration import (Bench, CalibrationRunner, DecadeLoadSetter, FitReady, Identified,
                                               Phase, PhaseChanged, PointMeasured, RunFinished, RunnerSettings,
                                               open_board)
from ionto_console.core.calibration import Mode, Verdict
from ionto_console.drivers.bench import DecadeResistor, open_instrument
from ionto_sim.scpi import SimulatedBench

from cal_helpers import QUICK_PLAN, make_runner, output_is_off, read_ident
from support import wait_for_value

RUN_TIMEOUT_S = 60.0


def factory_constants(bench: SimulatedBench) -> tuple[float, float, int]:
    nv = bench.board.board.nvram
    return nv.cal_gain, nv.cal_offset_ua, nv.cal_date


def test_calibration_corrects_the_factory_error_and_ident_shows_the_new_constants(bench) -> None:
    events = []
    runner = make_runner(bench, events.append)
    runner.start(Mode.CALIBRATE, "Ravi Menon")
    result = runner.wait(RUN_TIMEOUT_S)
    assert result is not None and result.verdict is Verdict.PASS, result and result.reason

    fe = bench.model.front_end
    assert result.old_constants is not None and (result.old_constants.gain, result.old_constants.offset_ua) == (1, 0)
    # Before: the wrong factory constants put the 4 mA points about 105 µA low, outside 2 %.
    worst_before = max(result.as_found, key=lambda p: abs(p.error_ua))
    assert worst_before.set_ua == 4000 and worst_before.error_ua == pytest.approx(-105, abs=5)
    assert not all(p.passed for p in result.as_found)
    # The fit finds the hidden front end; after writing, every point is within a few µA.
    assert result.written and result.new_constants is not None
    assert result.new_constants.gain == pytest.approx(fe.ideal_gain, rel=1e-3)
    assert result.new_constants.offset_ua == pytest.approx(fe.ideal_offset_ua, abs=2.0)
    assert all(p.passed and abs(p.error_ua) < 5 for p in result.as_left)
    assert len(result.as_left) == len(result.as_found) == QUICK_PLAN.point_count
    assert [c.reference_source for c in result.impedance] == ["LCR", "LCR"] and all(c.passed for c in result.impedance)
    assert set(result.instruments) == {"dmm", "load", "lcr"} and "34461A" in result.instruments["dmm"]
    assert result.due_date is not None and (result.due_date - result.started_at.date()).days == 365
    assert result.output_off_confirmed and output_is_off(bench)

    ident = read_ident(bench.board.port)
    assert (ident.cal_gain, ident.cal_offset_ua, ident.cal_date) == (
        result.new_constants.gain, result.new_constants.offset_ua, result.new_constants.date)

    kinds = [type(e) for e in events]
    assert kinds[0] is PhaseChanged and Identified in kinds and FitReady in kinds and kinds[-1] is RunFinished
    points = [e for e in events if isinstance(e, PointMeasured)]
    assert [e.sweep for e in points] == ["as-found"] * 8 + ["as-left"] * 8
    assert points[-1].index == points[-1].total == 8

    # A later verification of the calibrated board passes and writes nothing.
    verify = make_runner(bench)
    verify.start(Mode.VERIFY, "Ravi Menon")
    checked = verify.wait(RUN_TIMEOUT_S)
    assert checked is not None and checked.verdict is Verdict.PASS, checked.reason
    assert not checked.written and checked.new_constants is None and not checked.as_left
    assert factory_constants(bench) == (ident.cal_gain, ident.cal_offset_ua, ident.cal_date)


def test_verification_of_the_factory_board_fails_and_writes_nothing(bench) -> None:
    before = factory_constants(bench)
    runner = make_runner(bench, lcr=False)
    runner.start(Mode.VERIFY, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert result is not None and result.verdict is Verdict.FAIL
    assert "out of tolerance" in result.reason and "at 4 mA" in result.reason
    assert [c.reference_source for c in result.impedance] == ["decade", "decade"]
    assert factory_constants(bench) == before and not result.written and output_is_off(bench)


def _fail_on_point(bench: SimulatedBench, sweep: str, index: int, action) -> tuple[list, threading.Event]:
    events: list = []
    fired = threading.Event()

    def on_event(event) -> None:
        events.append(event)
        if isinstance(event, PointMeasured) and event.sweep == sweep and event.index == index:
            assert not output_is_off(bench)  # the fault really arrives with current flowing
            action()
            fired.set()

    return events, on_event, fired


@pytest.mark.parametrize("instrument, fault, index, words", [
    ("dmm", "hang", 2, "the DMM stopped answering"),
    ("dmm", "garbage", 2, "the DMM answered something unreadable"),
    ("dmm", "error", 2, "the DMM reported an error"),
    ("decade", "error", 4, "the decade resistor reported an error"),
    ("decade", "hang", 4, "the decade resistor stopped answering"),
])
def test_instrument_failure_mid_sweep_aborts_with_output_off_and_nothing_written(
        bench, instrument, fault, index, words) -> None:
    before = factory_constants(bench)
    events, on_event, fired = _fail_on_point(bench, "as-found", index,
                                             lambda: bench.set_fault(instrument, fault))
    runner = make_runner(bench, on_event, visa_timeout_ms=400)
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert fired.is_set() and result is not None
    assert result.verdict is Verdict.ERROR
    assert words.lower() in result.reason.lower() and result.reason.endswith("Nothing was written to the board.")
    assert len(result.as_found) == index and result.fit is None and not result.written
    assert result.output_off_confirmed and output_is_off(bench)
    ident = read_ident(bench.board.port)
    assert (ident.cal_gain, ident.cal_offset_ua, ident.cal_date) == before
    assert isinstance(events[-1], RunFinished)


def test_board_fault_mid_sweep_aborts_and_names_the_fault(bench) -> None:
    before = factory_constants(bench)
    _, on_event, fired = _fail_on_point(bench, "as-found", 3, bench.board.press_hw_stop)
    runner = make_runner(bench, on_event)
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert fired.is_set() and result is not None and result.verdict is Verdict.ERROR
    assert "fault hardware stop" in result.reason and not result.written  # core's name (BoardFault.describe)
    assert output_is_off(bench) and factory_constants(bench) == before


def test_board_unplugged_mid_sweep_aborts_and_the_watchdog_ends_the_output(bench) -> None:
    before = factory_constants(bench)
    _, on_event, fired = _fail_on_point(bench, "as-found", 2, bench.board.unplug)
    runner = make_runner(bench, on_event)
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert fired.is_set() and result is not None and result.verdict is Verdict.ERROR
    assert "disconnected" in result.reason or "link was lost" in result.reason
    assert not result.output_off_confirmed and "watchdog" in result.reason
    wait_for_value(lambda: output_is_off(bench), bool, "the board's watchdog to end the output")
    assert factory_constants(bench) == before


def test_instrument_failure_during_verification_keeps_the_complete_new_constants(bench) -> None:
    _, on_event, fired = _fail_on_point(bench, "as-left", 1, lambda: bench.set_fault("dmm", "garbage"))
    runner = make_runner(bench, on_event)
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert fired.is_set() and result is not None and result.verdict is Verdict.ERROR
    assert result.written and result.new_constants is not None and "Nothing was written" not in result.reason
    assert factory_constants(bench)[:2] == (result.new_constants.gain, result.new_constants.offset_ua)
    assert output_is_off(bench)


def test_cancel_mid_sweep(bench) -> None:
    holder: list[CalibrationRunner] = []
    _, on_event, fired = _fail_on_point(bench, "as-found", 2, lambda: holder[0].cancel())
    runner = make_runner(bench, on_event)
    holder.append(runner)
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert fired.is_set() and result is not None and result.verdict is Verdict.ERROR
    assert result.reason.startswith("Cancelled by the engineer") and not result.written and output_is_off(bench)


def test_writing_waits_for_approval_when_asked(bench) -> None:
    phases: list[tuple[Phase, str]] = []
    runner = make_runner(bench, lambda e: phases.append((e.phase, e.text)) if isinstance(e, PhaseChanged) else None)
    runner.start(Mode.CALIBRATE, "Ravi", auto_write=False)
    wait_for_value(lambda: list(phases), lambda p: Phase.AWAITING_APPROVAL in dict(p), "the approval step", 30.0)
    assert factory_constants(bench)[:2] == (1.0, 0.0) and output_is_off(bench)
    runner.approve_write()
    result = runner.wait(RUN_TIMEOUT_S)
    assert result is not None and result.verdict is Verdict.PASS and result.written


class _ReadsHighMeter:
    """A DMM on the wrong shunt: reads 30 % high (inside the per-point plausibility window)."""

    identity = "Fake,WRONG-SHUNT,0,0"

    def __init__(self, bench: SimulatedBench) -> None:
        self.bench = bench

    def prepare(self, expected_a: float) -> None:
        pass

    def read_current_a(self) -> float:
        return self.bench.model.snapshot().mean_current_a * 1.3

    def close(self) -> None:
        pass


def test_an_implausible_fit_is_never_written(bench) -> None:
    before = factory_constants(bench)

    def connect() -> Bench:
        link, tap = open_board(bench.board.port)
        box = open_instrument(bench.resources["decade"], DecadeResistor)
        return Bench(link, tap, _ReadsHighMeter(bench), DecadeLoadSetter(box))

    runner = CalibrationRunner(connect, RunnerSettings(plan=QUICK_PLAN))
    runner.start(Mode.CALIBRATE, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert result is not None and result.verdict is Verdict.ERROR and result.fit is not None
    assert "outside what a working board can need" in result.reason and not result.written
    assert factory_constants(bench) == before and output_is_off(bench)


def test_no_board_is_an_error_in_plain_words(tmp_path) -> None:
    spec_missing = str(tmp_path / "no-such-port")
    from ionto_console.control.calibration import BenchSpec
    spec = BenchSpec(spec_missing, "TCPIP::127.0.0.1::1::SOCKET", "TCPIP::127.0.0.1::1::SOCKET")
    runner = CalibrationRunner(spec.connect, RunnerSettings(plan=QUICK_PLAN))
    runner.start(Mode.VERIFY, "Ravi")
    result = runner.wait(RUN_TIMEOUT_S)
    assert result is not None and result.verdict is Verdict.ERROR
    assert result.reason.startswith("No board: board not found") and "Nothing was written" in result.reason


def test_a_dmm_that_is_not_there_fails_the_connect_and_releases_the_board(bench) -> None:
    from ionto_console.control.calibration import BenchSpec, ConnectFailed
    events: list = []
    spec = BenchSpec(bench.board.port, "TCPIP::127.0.0.1::1::SOCKET", bench.resources["decade"])
    runner = CalibrationRunner(spec.connect, on_event=events.append)
    runner.identify()
    runner.wait(RUN_TIMEOUT_S)
    failed = [e for e in events if isinstance(e, ConnectFailed)]
    assert failed and "the dmm could not be reached" in failed[0].reason.lower()
    read_ident(bench.board.port)  # the port was closed again: another link can open it (exclusive)


def test_a_run_on_the_board_the_station_holds_borrows_the_stations_port(bench) -> None:
    """One owner per serial port: the bench borrows the console's connected port and gives it back open."""
    import dataclasses

    from ionto_console.control.station import Station
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.drivers.board.link import LinkState

    from cal_helpers import spec_for

    station = Station()
    station.connect(bench.board.port)
    try:
        wait_for_value(lambda: station.snapshot().state, lambda s: s is LinkState.CONNECTED, "station connected", 10.0)
        desk = TreatmentDesk(station)

        def second_link(*args, **kwargs):
            raise AssertionError("the bench opened the board's port a second time")

        spec = dataclasses.replace(spec_for(bench, lcr=False), lender=desk, link_factory=second_link)
        runner = CalibrationRunner(spec.connect, RunnerSettings(plan=QUICK_PLAN), board_url=spec.board_url)
        runner.start(Mode.VERIFY, "Ravi")
        result = runner.wait(RUN_TIMEOUT_S)
        assert result is not None and result.verdict is Verdict.FAIL, result and result.reason  # factory constants
        assert len(result.as_found) == QUICK_PLAN.point_count and result.output_off_confirmed and output_is_off(bench)
        assert station.link is not None and station.link.state is LinkState.CONNECTED and not station.lent
        assert all("calibrated" not in text for text in desk.blockers())
        # the sweep's output was the borrower's: the station's guard never took it for one nobody asked for
        assert not any(a.condition_id == "unexpected_output" for a in desk.alarms.active(time.monotonic()))
    finally:
        station.disconnect()


def test_a_calibration_after_a_side_effect_stop_on_the_same_station_is_not_cut_by_that_session(bench) -> None:
    """Issue 14's demo day: treatments, one stopped for dizziness, then the engineer calibrates the
    same board. The stopped session's controller still heard the board and cut the sweep's output
    each time it came on: "the board's telemetry did not show the output settled at 0.1 mA"."""
    import dataclasses

    from ionto_console.control.station import Station
    from ionto_console.control.treatment_desk import SessionPlan, TreatmentDesk
    from ionto_console.core.session import SideEffect
    from ionto_console.drivers.board.link import LinkState

    from cal_helpers import spec_for
    from support import small_protocol

    plan = SessionPlan(protocol=small_protocol(dose_target_ma_min=5.0), patient_id="P-1", patient_name="Ann",
                       site="forearm", electrode="standard", checklist_passed=True,
                       checklist_record={"overridden": []})
    station = Station()
    station.connect(bench.board.port, simulated=True)
    desk = TreatmentDesk(station, demo=True)
    try:
        wait_for_value(lambda: station.snapshot().state, lambda s: s is LinkState.CONNECTED, "station connected", 10.0)
        controller = desk.begin(plan)
        wait_for_value(lambda: controller.snapshot().current_ma, lambda ma: ma > 0.5, "current flowing", 20.0)
        desk.stop(SideEffect.DIZZINESS)
        wait_for_value(lambda: station.snapshot().live, lambda live: live is not None and not live.output_on
                       and not desk.active, "the stop ramped down", 20.0)
        spec = dataclasses.replace(spec_for(bench, lcr=False), lender=desk)
        runner = CalibrationRunner(spec.connect, RunnerSettings(plan=QUICK_PLAN), board_url=spec.board_url)
        runner.start(Mode.VERIFY, "Ravi")
        result = runner.wait(RUN_TIMEOUT_S)
        # the factory constants fail verification: measured to the end, not cut short
        assert result is not None and result.verdict is Verdict.FAIL, result and result.reason
        assert len(result.as_found) == QUICK_PLAN.point_count and result.output_off_confirmed
        assert not station.lent and output_is_off(bench)
    finally:
        desk.shutdown()
        station.disconnect()
