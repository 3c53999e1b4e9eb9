"""control/ against the BoardPort interface: the real link satisfies it, and a controller runs on a double.

No serial port, pty or simulator here: what goes on the wire is read from the
double's log, so the count of OUTPUT 0 frames is exact, not a timing guess.
"""

from __future__ import annotations

import inspect
import threading

from ionto_console.control.board_port import BoardPort, board_link
from ionto_console.control.station import Station
from ionto_console.control.treatment import TreatmentController
from ionto_console.core.engine import TreatmentEngine
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import BoardLink, LinkState

from board_double import BoardDouble
from support import small_protocol, wait_for

PROTOCOL_MEMBERS = ("state", "reason", "ident", "stats", "add_telemetry_listener", "add_fault_listener",
                    "add_state_listener", "remove_listener", "open", "close", "request", "write_now")


def test_the_serial_link_and_the_double_both_satisfy_board_port():
    link = BoardLink("/dev/does-not-exist")  # not opened: construction touches no port
    assert isinstance(link, BoardPort)
    assert isinstance(BoardDouble(), BoardPort)
    assert not isinstance(object(), BoardPort)
    # Structurally, not only by name: every method takes the parameters the protocol declares.
    for name in PROTOCOL_MEMBERS:
        declared = inspect.getattr_static(BoardPort, name)
        actual = inspect.getattr_static(BoardLink, name)
        assert isinstance(declared, property) == isinstance(actual, property), name
        if not isinstance(declared, property):
            assert (list(inspect.signature(declared).parameters)
                    == list(inspect.signature(actual).parameters)), name


def test_the_station_factory_builds_the_serial_link():
    link = board_link("/dev/does-not-exist", reply_timeout_s=2.0)
    assert isinstance(link, BoardLink) and link.state is LinkState.DISCONNECTED


def test_a_station_runs_on_any_board_port():
    board = BoardDouble()
    station = Station(link_factory=lambda port: board)
    station.connect("double")
    board.send_telemetry(current_ua=1_500, voltage_mv=7_500, target_ua=1_500, flags=int(m.Flags.OUTPUT_ENABLED))
    snap = station.snapshot()
    assert snap.state is LinkState.CONNECTED and snap.ident is not None
    assert snap.live is not None and snap.live.current_ma == 1.5 and snap.live.impedance_kohm == 5.0
    station.disconnect()
    assert board.state is LinkState.DISCONNECTED


class _StepClock:
    """The controller's clock: frozen (no ticks, so no lost-telemetry trip without samples) until
    ``jump`` moves every later reading on by a second, except readings on the stopping thread."""

    def __init__(self) -> None:
        self.now = 100.0
        self.jumped = False
        self.stopper: threading.Thread | None = None

    def __call__(self) -> float:
        if self.jumped and threading.current_thread() is not self.stopper:
            return self.now + 1.0
        return self.now


def _started(board: BoardDouble, clock: _StepClock) -> TreatmentController:
    controller = TreatmentController(board, TreatmentEngine(small_protocol(dose_target_ma_min=5.0)),
                                     clock=clock)
    controller.start_thread()
    controller.start()
    wait_for(lambda: board.sent(m.Output, "request"), 5, "output enabled", controller)
    return controller


def test_an_emergency_stop_puts_one_output_0_on_the_wire_however_late_the_engine_answers():
    """stop() writes OUTPUT 0 from the caller's thread; the engine then asks for the same cut. That
    request is satisfied by the stop already on the wire: one frame, whenever the controller thread
    gets to it (here a second later on its clock; the old 50 ms window sent a second frame)."""
    board = BoardDouble()
    board.open()
    clock = _StepClock()
    controller = _started(board, clock)
    try:
        before = len(board.sent(m.Output, "write_now"))  # the prepare step's own cut
        clock.stopper = threading.current_thread()

        def later(msg: m.Message) -> None:
            clock.jumped = True  # the controller thread handles the stop "a second later"

        board.on_write_now = later
        controller.stop(EMERGENCY)
        wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, 5, "stopped", controller)
        cuts = board.sent(m.Output, "write_now")[before:]
        assert cuts == [m.Output(0)], board.wire
        # Pressing stop again re-sends the cut once (harmless, and sure), still not twice.
        controller.stop(EMERGENCY)
        wait_for(lambda: len(board.sent(m.Output, "write_now")) > before + 1, 5, "second stop on the wire")
        controller.close()  # the queue is drained: nothing else was written
        assert board.sent(m.Output, "write_now")[before:] == [m.Output(0), m.Output(0)], board.wire
    finally:
        controller.close()


def test_a_side_effect_stop_puts_one_stop_ramp_on_the_wire():
    board = BoardDouble()
    board.open()
    clock = _StepClock()
    controller = _started(board, clock)
    try:
        clock.stopper = threading.current_thread()
        board.on_write_now = lambda msg: setattr(clock, "jumped", True)
        controller.stop(SideEffect.NAUSEA)
        wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, 5, "stopped", controller)
        controller.close()
        assert board.sent(m.Stop) == [m.Stop(controller.engine.quick_ramp_ms)], board.wire
        assert controller.snapshot().stop_reason.cause is SideEffect.NAUSEA
    finally:
        controller.close()


def test_a_stop_that_could_not_be_written_is_tried_again_by_the_engine_cut():
    board = BoardDouble()
    board.open()
    clock = _StepClock()
    controller = _started(board, clock)
    try:
        before = len(board.sent(m.Output, "write_now"))
        failed = []

        def unplug_once(msg: m.Message) -> None:
            if not failed:
                failed.append(msg)
                from ionto_console.drivers.board.errors import BoardDisconnected
                raise BoardDisconnected("cable pulled for one frame")

        board.on_write_now = unplug_once
        controller.stop(EMERGENCY)
        wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, 5, "stopped", controller)
        controller.close()
        # the first write raised after it was logged; nothing was satisfied, so the engine's cut went out
        assert board.sent(m.Output, "write_now")[before:] == [m.Output(0), m.Output(0)], board.wire
    finally:
        controller.close()
