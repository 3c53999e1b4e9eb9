"""Whole treatments through TreatmentController against the board simulator on a real pty."""

from __future__ import annotations

import threading
import time

import pytest

from ionto_console.control.treatment import TreatmentController
from ionto_console.core.alarms import AlarmManager
from ionto_console.core.engine import DoseFinal, TreatmentEngine
from ionto_console.core.interlocks import TripKind
from ionto_console.core.session import EMERGENCY, SessionState, SideEffect
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import BoardLink
from ionto_sim.model import ResistorLoad
from ionto_sim.pty_server import SimulatedBoardServer
from support import small_protocol, wait_for


class RecordingSink:
    def __init__(self):
        self.samples = []
        self.events = []

    def add_sample(self, sample):
        self.samples.append(sample)

    def add_events(self, events):
        self.events.extend(events)


@pytest.fixture
def bench():
    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=1)
    server.start()
    link = BoardLink(server.port)
    link.open(wait=True)
    yield server, link
    link.close()
    server.stop()


def dose_final_event(sink):
    """The engine's DoseFinal event among what the sink received (the recorder closes on it), or None."""
    return next((event for event in list(sink.events) if isinstance(event, DoseFinal)), None)


def board_output(server):
    with server.lock:
        return server.board.flags() & 1, server.model.snapshot().true_current_a


def make_controller(link, protocol, sink=None):
    controller = TreatmentController(link, TreatmentEngine(protocol), sink=sink)
    controller.start_thread()
    return controller


def treating_at_1ma(link):
    """A started controller (5 mA·min dose, so it keeps going) with about 1 mA flowing."""
    controller = make_controller(link, small_protocol(dose_target_ma_min=5.0))
    controller.start()
    wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
    return controller


def test_full_small_dose_treatment_completes_with_output_off(bench):
    server, link = bench
    sink = RecordingSink()
    controller = make_controller(link, small_protocol(), sink)
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().state is SessionState.COMPLETE, 20, "treatment complete", controller)
        snap = controller.snapshot()
        # The engine ends early by the command latency's charge (never over): on this
        # 3-second dose that is a few percent, on a real 40 mA·min dose about 0.01 %.
        assert 0.05 * 0.95 <= snap.dose_delivered_ma_min <= 0.05 * 1.02
        wait_for(lambda: board_output(server) == (0, 0.0), 2, "output off on the board")
        assert sink.samples and sink.events
        assert max(s.current_ma for s in sink.samples) <= 4.0 * 1.1
    finally:
        controller.close()


@pytest.mark.parametrize("reason", [SideEffect.DIZZINESS, EMERGENCY])
def test_stop_mid_treatment_reaches_zero_in_telemetry(bench, reason):
    server, link = bench
    controller = treating_at_1ma(link)
    try:
        pressed = time.monotonic()
        controller.stop(reason)
        wait_for(lambda: board_output(server)[1] == 0.0, 2, "zero output")
        latency = time.monotonic() - pressed
        wait_for(lambda: controller.snapshot().state is SessionState.STOPPED, 2, "stopped state")
        # the last samples the controller saw show zero current with output disabled
        wait_for(lambda: controller.history.view().current_ma[-1] < 0.05, 2, "zero in telemetry")
        assert controller.snapshot().stop_reason.cause == reason
        assert latency < 1.0  # generous: the benchmark measures the real figure
    finally:
        controller.close()


def test_an_ended_session_stops_counting_plotting_and_recording_at_output_off(bench):
    """The simulated board reads a zero offset (+18 µA) with its output off: an ended session left on
    the screen must not keep adding it to the dose, the session's plots or its record."""
    server, link = bench
    sink = RecordingSink()
    controller = make_controller(link, small_protocol(dose_target_ma_min=5.0), sink)
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
        controller.stop(SideEffect.NAUSEA)
        wait_for(lambda: dose_final_event(sink) is not None, 3, "the DoseFinal event", controller)
        dose = dose_final_event(sink).delivered_ma_min
        assert controller.snapshot().dose_final
        assert controller.snapshot().dose_delivered_ma_min == dose
        plotted, recorded = len(controller.history.view()), len(sink.samples)
        assert not sink.samples[-1].output_on and sink.samples[-2].output_on  # the ramp-down, then off
        received = link.stats.telemetry_received
        time.sleep(0.5)  # about 100 more samples at 200 Hz
        assert link.stats.telemetry_received > received + 20  # the board still reports...
        assert controller.snapshot().dose_delivered_ma_min == dose  # ...and nothing counts it
        assert len(controller.history.view()) == plotted and len(sink.samples) == recorded
    finally:
        controller.close()


def test_a_session_that_has_not_ended_announces_no_final_dose(bench):
    _, link = bench
    sink = RecordingSink()
    controller = make_controller(link, small_protocol(dose_target_ma_min=5.0), sink)
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
        time.sleep(0.3)  # about 60 more samples at 200 Hz, none of which may make the dose final
        assert dose_final_event(sink) is None
        assert controller.snapshot().dose_delivered_ma_min > 0 and not controller.snapshot().dose_final
    finally:
        controller.close()


def test_electrode_lift_trips_and_output_ends(bench):
    server, link = bench
    controller = treating_at_1ma(link)
    try:
        server.lift_electrode()
        wait_for(lambda: controller.snapshot().state.terminal, 3, "session ended by interlock", controller)
        assert controller.snapshot().state in (SessionState.FAULTED, SessionState.STOPPED)
        assert controller.snapshot().active_trip is not None
        wait_for(lambda: board_output(server)[0] == 0, 2, "output disabled")
    finally:
        controller.close()


def test_unplugged_board_interrupts_session_and_watchdog_ends_output(bench):
    server, link = bench
    controller = treating_at_1ma(link)
    try:
        server.unplug()
        wait_for(lambda: controller.snapshot().state is SessionState.INTERRUPTED, 3, "interrupted", controller)
        wait_for(lambda: board_output(server)[0] == 0, 3, "board watchdog cut the output")
    finally:
        controller.close()


def test_intent_in_wrong_state_is_a_message_not_an_exception(bench):
    _, link = bench
    controller = make_controller(link, small_protocol())
    try:
        controller.step_up()  # not started yet
        wait_for(lambda: controller.message() != "", 2, "refusal message")
        assert controller.snapshot().state is SessionState.IDLE
    finally:
        controller.close()


def test_removed_listener_gets_no_more_telemetry(bench):
    _, link = bench
    seen = []
    link.add_telemetry_listener(seen.append)
    wait_for(lambda: len(seen) > 3, 3, "telemetry")
    link.remove_listener(seen.append)
    time.sleep(0.05)  # let a frame already being dispatched finish
    count = len(seen)
    time.sleep(0.1)  # ten frames at the default 100 Hz
    assert len(seen) == count


def test_a_starved_controller_judges_lost_telemetry_on_the_newest_sample(bench):
    """Samples queued while the controller thread was busy must not look like a telemetry gap."""
    _, link = bench
    controller = treating_at_1ma(link)
    try:
        # stall the controller thread once for 400 ms (twice the lost-telemetry limit)
        # while the link keeps delivering samples into its queue
        engine = controller.engine
        real_on_sample, stalled = engine.on_sample, []

        def slow_once(sample):
            if not stalled:
                stalled.append(True)
                time.sleep(0.4)
            return real_on_sample(sample)

        engine.on_sample = slow_once
        wait_for(lambda: stalled, 2, "the stall")
        time.sleep(0.6)
        assert controller.snapshot().active_trip is None, controller.snapshot().active_trip
        # the ramp to 1 mA ends on its own schedule (later on a loaded machine): no trip on the way
        wait_for(lambda: controller.snapshot().state is SessionState.TREATING, 5, "treating", controller)
        assert controller.snapshot().active_trip is None, controller.snapshot().active_trip
    finally:
        controller.close()


def test_a_silent_board_trips_lost_telemetry_and_its_watchdog_cuts(bench):
    server, link = bench
    controller = treating_at_1ma(link)
    try:
        # at steady state (no command in flight: an unanswered SET_TARGET would end the
        # session as "interrupted" after its retries instead, also cutting the output)
        wait_for(lambda: controller.snapshot().state is SessionState.TREATING, 5, "treating", controller)
        server.stall_link(1.5)  # the board neither sends nor hears anything
        wait_for(lambda: controller.snapshot().state.terminal, 2, "session ended", controller)
        trip = controller.snapshot().active_trip
        assert trip is not None and trip.kind.value == "lost_telemetry", controller.snapshot()
        wait_for(lambda: board_output(server)[0] == 0, 3, "board watchdog cut the output")
    finally:
        controller.close()


def test_a_stop_that_lands_while_a_set_target_is_in_flight_ends_stopped_not_interrupted(bench, monkeypatch):
    """The controller thread checked "no stop yet" and is sending SET_TARGET; the therapist's stop
    reaches the wire first from the GUI thread, so the board refuses the SET_TARGET (NAK BUSY, its
    STOP ramp is running). That refusal is the stop being obeyed, not a failed session."""
    server, link = bench
    controller = make_controller(link, small_protocol(dose_target_ma_min=5.0, ramp_rate_ma_s=1.0))
    real_request = link.request
    raced: list[m.Message] = []

    def request(msg, *args, **kwargs):
        if isinstance(msg, m.SetTarget) and msg.target_ua > 300 and not raced:
            raced.append(msg)
            controller.stop(SideEffect.INCREASED_PAIN)  # lands between the check and the write
        return real_request(msg, *args, **kwargs)

    monkeypatch.setattr(link, "request", request)
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().state.terminal, 15, "ended", controller)
        snap = controller.snapshot()
        assert raced, "the race was not staged"
        assert snap.state is SessionState.STOPPED, (snap, controller.message())
        assert snap.stop_reason.cause is SideEffect.INCREASED_PAIN
        wait_for(lambda: board_output(server) == (0, 0.0), 2, "output off on the board")
    finally:
        controller.close()


def test_side_effect_stops_while_ramping_always_end_stopped_with_their_reason(bench):
    """A stop lands between ticks: no SET_TARGET may follow it (the board would answer BUSY
    and the session would be misrecorded as interrupted)."""
    server, link = bench
    for _ in range(5):
        # as the treatment desk requires: a new run starts once the last stop ramp is over
        wait_for(lambda: board_output(server)[0] == 0, 3, "output off before the next run")
        link.request(m.ClearFault())
        controller = make_controller(link, small_protocol(dose_target_ma_min=5.0, ramp_rate_ma_s=1.0))
        try:
            controller.start()
            wait_for(lambda: controller.snapshot().current_ma > 0.3, 10, "ramping", controller)
            controller.stop(SideEffect.BURNING_TINGLING)
            wait_for(lambda: controller.snapshot().state.terminal, 3, "ended", controller)
            snap = controller.snapshot()
            assert snap.state is SessionState.STOPPED, (snap, controller.message())
            assert snap.stop_reason.cause is SideEffect.BURNING_TINGLING
        finally:
            controller.close()


class _RecordingAlarms(AlarmManager):
    """Notes every condition raised, so a snapshot can be checked against the alarms at its publication."""

    def __init__(self) -> None:
        super().__init__()
        self.raised: list[str] = []

    def raise_alarm(self, condition, priority, message, now, *args, **kwargs):
        self.raised.append(condition)
        return super().raise_alarm(condition, priority, message, now, *args, **kwargs)


class _PublicationCheck:
    """Stands in for the controller's snapshot lock: on leaving it, a snapshot that shows a trip-ended
    session must already carry its trip's alarm (what a reader taking the lock next would see)."""

    def __init__(self, controller, alarms: _RecordingAlarms) -> None:
        self._inner = threading.Lock()
        self._controller, self._alarms = controller, alarms
        self.seen_trip_ended = 0
        self.missing: list[str] = []

    def __enter__(self):
        return self._inner.__enter__()

    def __exit__(self, *exc):
        snap = self._controller._snapshot
        if snap.state.terminal and snap.active_trip is not None:
            self.seen_trip_ended += 1
            if snap.active_trip.kind.value not in self._alarms.raised:
                self.missing.append(snap.active_trip.kind.value)
        return self._inner.__exit__(*exc)


def test_a_trip_ended_snapshot_is_never_published_before_its_alarm(bench):
    server, link = bench
    alarms = _RecordingAlarms()
    controller = TreatmentController(link, TreatmentEngine(small_protocol(dose_target_ma_min=5.0)), alarms=alarms)
    check = _PublicationCheck(controller, alarms)
    controller._lock = check  # before the thread starts: every publication goes through it
    controller.start_thread()
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
        server.lift_electrode()
        wait_for(lambda: check.seen_trip_ended > 0, 3, "a trip-ended snapshot published", controller)
        assert check.missing == []
    finally:
        controller.close()


def test_the_board_dropping_its_output_trips_output_lost_and_a_re_enable_does_not_resume(bench):
    """Fault injection: the simulated board opens its output with no fault and no STOP (bit0 clear)."""
    server, link = bench
    alarms = _RecordingAlarms()
    controller = TreatmentController(link, TreatmentEngine(small_protocol(dose_target_ma_min=5.0)), alarms=alarms)
    controller.start_thread()
    try:
        controller.start()
        wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
        server.drop_output()
        wait_for(lambda: controller.snapshot().state.terminal, 3, "session ended by output lost", controller)
        snap = controller.snapshot()
        assert snap.state is SessionState.FAULTED and snap.active_trip.kind is TripKind.OUTPUT_LOST
        assert "output_lost" in alarms.raised
        with server.lock:  # the board enables itself again (a glitch): nothing may resume the session
            server.board.output_enabled = True
        wait_for(lambda: board_output(server)[0] == 0, 2, "the console cut the re-enabled output")
        assert controller.snapshot().state is SessionState.FAULTED
    finally:
        controller.close()


def test_the_voltage_limit_marker_is_in_plain_words(bench):
    """The live plot's red marker for a compliance trip says "voltage limit", not the engineering word."""
    server, link = bench
    controller = treating_at_1ma(link)
    try:
        server.set_load(ResistorLoad(70_000.0))  # 1 mA needs 70 V; one step more needs more than 90 V
        controller.step_up()
        wait_for(lambda: controller.snapshot().state.terminal, 10, "the voltage-limit trip", controller)
        assert controller.snapshot().active_trip.kind is TripKind.COMPLIANCE
        trips = [marker.label for marker in controller.markers() if marker.kind == "trip"]
        assert trips == ["voltage limit"]
    finally:
        controller.close()
