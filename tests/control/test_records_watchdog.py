"""The controller's records watchdog: output on and no record commit for 500 ms -> the output stops.

Issue 12 item 1. The property test drives the watchdog with arbitrary histories of
(output state, commit age); the simulator test shows the cut on the wire when the
record writer stops committing while current flows (it fails on the build before
the watchdog: the treatment went on).
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.control.treatment import RECORDS_DEADLINE_S, TreatmentController
from ionto_console.core.alarms import AlarmManager, AlarmPriority
from ionto_console.core.session import SessionState
from support import small_protocol, wait_for


class _Link:
    def add_telemetry_listener(self, listener):
        pass

    def add_state_listener(self, listener):
        pass


class _Engine:
    """Just enough engine for the watchdog: a state and interrupt()."""

    def __init__(self):
        self.state = SessionState.TREATING
        self.interrupts: list[str] = []

    def snapshot(self, now):
        return None

    def interrupt(self, detail, now):
        self.interrupts.append(detail)
        self.state = SessionState.INTERRUPTED
        return []


class _Sink:
    def __init__(self):
        self.lag = 0.0

    def add_sample(self, sample):
        pass

    def add_events(self, events):
        pass

    def records_lag_s(self):
        return self.lag


STATES = [state for state in SessionState if state is not SessionState.INTERRUPTED]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STATES), st.floats(0.0, 5.0, allow_nan=False)), min_size=1, max_size=30))
def test_the_output_stops_exactly_when_output_is_on_and_nothing_was_saved_for_the_deadline(history):
    engine, sink, alarms = _Engine(), _Sink(), AlarmManager()
    controller = TreatmentController(_Link(), engine, sink=sink, alarms=alarms)  # type: ignore[arg-type]
    expected = None
    for step, (state, lag) in enumerate(history):
        if engine.state is not SessionState.INTERRUPTED:
            engine.state = state
        sink.lag = lag
        if expected is None and engine.state.output_active and lag > RECORDS_DEADLINE_S:
            expected = step
        controller._watch_records(float(step))
        assert len(engine.interrupts) == (0 if expected is None else 1), (step, history)
    if expected is not None:
        assert "records unavailable" in engine.interrupts[0]
        alarm = alarms.highest(time.monotonic())
        assert alarm is not None and alarm.priority is AlarmPriority.HIGH and "records" in alarm.message.lower()


class _StallingSink(_Sink):
    """Commits 'happen' until ``stall()``; from then on the commit age grows (a hung writer)."""

    def __init__(self):
        super().__init__()
        self.stalled_at: float | None = None

    def stall(self):
        self.stalled_at = time.monotonic()

    def records_lag_s(self):
        return 0.0 if self.stalled_at is None else time.monotonic() - self.stalled_at


def test_a_writer_that_stops_committing_stops_the_output_on_the_board():
    from ionto_console.core.engine import TreatmentEngine
    from ionto_console.drivers.board.link import BoardLink
    from ionto_sim.model import ResistorLoad
    from ionto_sim.pty_server import SimulatedBoardServer

    server = SimulatedBoardServer(load=ResistorLoad(5000.0), seed=3).start()
    link = BoardLink(server.port)
    link.open(wait=True)
    sink, alarms = _StallingSink(), AlarmManager()
    controller = TreatmentController(link, TreatmentEngine(small_protocol(dose_target_ma_min=5.0)), sink=sink,
                                     alarms=alarms)
    try:
        controller.start_thread()
        controller.start()
        wait_for(lambda: controller.snapshot().current_ma > 0.9, 10, "current flowing", controller)
        sink.stall()
        wait_for(lambda: controller.snapshot().state is SessionState.INTERRUPTED, 5, "the records watchdog", controller)

        def off():
            with server.lock:
                return (server.board.flags() & 1, server.model.snapshot().true_current_a) == (0, 0.0)

        wait_for(off, 5, "output off on the board", controller)
        alarm = alarms.highest(time.monotonic())
        assert alarm is not None and "records unavailable" in alarm.message.lower()
    finally:
        controller.close()
        link.close()
        server.stop()
