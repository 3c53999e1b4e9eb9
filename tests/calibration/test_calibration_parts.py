"""The calibration package's parts on their own: the tap reads the treatment's samples, the bench
borrows the station's port and gives it back, the records sink keeps one connection."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionto_console import records
from ionto_console.control.calibration import (Bench, RecordsCalibrationSink, RunAborted, TelemetryTap, board_mv,
                                               board_ua, borrow_board, settled, target_ua)
from ionto_console.control.samples import SampleConverter
from ionto_console.control.station import Station
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.core.calibration import CalibrationResult, Mode, SweepPlan, Verdict
from ionto_console.core.calibration_due import calibration_status
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import LinkState, TelemetryEvent

from board_double import BoardDouble

ON_AT_TARGET = int(m.Flags.OUTPUT_ENABLED)


@given(current=st.integers(-25_000, 25_000), voltage=st.integers(-90_000, 90_000), target=st.integers(0, 25_000))
def test_calibration_reads_back_exactly_the_integers_the_board_sent(current, voltage, target):
    """The runner is fed the treatment's mA/V samples; the fit must still see the board's own µA and mV."""
    sample = SampleConverter().convert(TelemetryEvent(m.Telemetry(0, 1, current, voltage, target, 0, 0), 0.0, 0))
    assert (board_ua(sample), board_mv(sample), target_ua(sample)) == (current, voltage, target)


@pytest.mark.parametrize("flags, latched, target, expected", [
    (ON_AT_TARGET, 0, 1000, True),
    (ON_AT_TARGET | m.Flags.SLEWING, 0, 1000, False),
    (ON_AT_TARGET | m.Flags.FAULT_LATCHED, 2, 1000, False),
    (0, 0, 1000, False),
    (ON_AT_TARGET, 0, 999, False),
])
def test_a_point_is_read_only_with_the_output_on_settled_at_its_target(flags, latched, target, expected):
    sample = SampleConverter().convert(TelemetryEvent(m.Telemetry(0, 1, 990, 1000, target, int(flags), latched),
                                                      0.0, 0))
    assert settled(sample, 1000) is expected


def test_the_tap_keeps_converted_samples_and_notices_faults_and_a_lost_link():
    board = BoardDouble()
    board.open()
    tap = TelemetryTap()
    tap.attach(board)
    since = tap.mark()
    for ua in (100, 200, 300):
        board.send_telemetry(current_ua=ua, voltage_mv=ua * 2, target_ua=300, flags=ON_AT_TARGET)
    never = threading.Event()
    assert tap.wait(since, lambda s: board_ua(s) == 300, "300 µA", 1.0, never) == since + 3
    latest = tap.latest()
    assert latest is not None and latest.current_ma == 0.3 and latest.voltage_v == 0.6 and latest.output_on
    assert [board_ua(s) for s in tap.collect(since, 2, lambda s: None, 1.0, never)] == [100, 200]
    tap.on_fault(m.Fault(2, 0, 26_000), 0.0)
    with pytest.raises(RunAborted, match="fault overcurrent"):  # core's name for code 2 (BoardFault.describe)
        tap.check()
    tap.fault = None
    board.set_state(LinkState.DISCONNECTED, "cable pulled")
    with pytest.raises(RunAborted, match="cable pulled"):
        tap.check()
    tap.detach(board)
    assert not board._telemetry and not board._faults and not board._states


class _Instrument:
    identity = "fake"

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_calibration_borrows_the_station_port_and_gives_it_back_open():
    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect("/dev/ttyBOARD")
    desk = TreatmentDesk(station)
    assert desk.lend("/dev/ttyOTHER") is None and not station.lent  # another board: the bench opens its own
    link = desk.lend("/dev/ttyBOARD")
    assert link is board and station.lent
    assert "The board is being calibrated; a treatment can start once that run has ended." in desk.blockers()
    tap = borrow_board(link)
    meter, load = _Instrument(), _Instrument()
    bench = Bench(link, tap, meter, load, owns_link=False, give_back=desk.give_back)  # type: ignore[arg-type]
    bench.close()
    assert meter.closed and load.closed
    assert board.state is LinkState.CONNECTED and station.link is board  # still the station's, still open
    assert not station.lent and board._faults == (station._on_fault,)  # the tap's listeners gone, lend over
    assert not any("calibrated" in text for text in desk.blockers())


def test_a_port_that_is_not_connected_is_not_borrowed():
    board = BoardDouble()
    with pytest.raises(RunAborted, match="no board: not opened"):
        borrow_board(board)


def _result(engineer: str) -> CalibrationResult:
    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
    return CalibrationResult(mode=Mode.VERIFY, engineer=engineer, started_at=now, finished_at=now,
                             verdict=Verdict.ERROR, reason="No board.", board_serial="IONTO1-000042", plan=SweepPlan(),
                             tolerance_rel=0.02, tolerance_abs_ua=10.0, impedance_tolerance_pct=5.0)


def test_the_records_sink_stores_every_result_through_one_connection(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    opened = []
    real_open = records.open_database

    def counting_open(*args, **kwargs):
        opened.append(args)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(records, "open_database", counting_open)
    sink = RecordsCalibrationSink(url)
    assert opened == []  # constructing it (on the GUI thread) touches no database
    lines = []
    worker = threading.Thread(target=lambda: lines.extend(sink.store(_result(n)) for n in ("Ravi", "Eve")))
    worker.start()  # callable from a worker thread
    worker.join()
    sink.close()
    assert len(opened) == 1 and all(line == "Stored in the clinic's records on 2026-11-30" for line in lines), lines
    db = real_open(url)
    try:
        assert len(records.calibrations_of(db, "IONTO1-000042")) == 2
    finally:
        db.close()


def test_a_sink_that_cannot_reach_the_records_says_so_and_keeps_the_files(tmp_path):
    sink = RecordsCalibrationSink(f"sqlite:///{tmp_path / 'no-such-dir' / 'x' / 'records.sqlite3'}")
    line = sink.store(_result("Ravi"))
    assert line.startswith("NOT stored in the records") and "JSON and PDF" in line


def test_verified_constants_lapse_after_their_interval():
    """The runner asks core's rule (``calibration_status``), the one the treatment desk asks."""
    written = int(dt.datetime(2025, 1, 10, tzinfo=dt.timezone.utc).timestamp())
    due = calibration_status(written, 365, dt.date.today()).due
    assert due is not None and calibration_status(0, 365, dt.date.today()).due is None
    assert not calibration_status(written, 365, due).lapsed
    assert calibration_status(written, 365, due + dt.timedelta(days=1)).lapsed


class _Treating:
    """A controller whose session is running (the desk asks only its snapshot)."""

    def snapshot(self):
        from types import SimpleNamespace

        from ionto_console.core.session import SessionState

        return SimpleNamespace(state=SessionState.TREATING)


def test_a_board_under_treatment_is_never_lent_to_a_calibration():
    from ionto_console.control.calibration import BenchSpec

    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect("/dev/ttyBOARD")
    desk = TreatmentDesk(station)
    desk.controller = _Treating()  # type: ignore[assignment]
    with pytest.raises(ValueError, match="a treatment is running on this board"):
        desk.lend("/dev/ttyBOARD")
    assert not station.lent

    def second_link(*args, **kwargs):
        raise AssertionError("the bench opened the board's port a second time")

    spec = BenchSpec("/dev/ttyBOARD", "TCPIP::dmm", "TCPIP::decade", lender=desk, link_factory=second_link)
    with pytest.raises(RunAborted, match="a treatment is running on this board"):
        spec.connect()
    assert not station.lent and board.state is LinkState.CONNECTED and board.wire == []  # nothing was sent


def test_listing_the_visa_resources_leaves_an_open_instrument_working(bench):
    """Found while re-taking the calibration screenshots: the tab lists the VISA resources on a worker,
    and closing pyvisa's one shared ResourceManager afterwards closed the DMM of a run already connected
    ("Invalid session handle" mid-sweep)."""
    from ionto_console.control.calibration.discovery import visa_resources
    from ionto_console.drivers.bench import KeysightDmm, open_instrument

    dmm = open_instrument(bench.resources["dmm"], KeysightDmm)
    try:
        visa_resources()
        assert dmm.query("*IDN?").startswith("Keysight Technologies,34461A")  # the session is still open
    finally:
        dmm.close()
