"""Fault drills on the serial link: the cable pulled, the link going silent during an intensity change.

The console cannot command a board it cannot reach; what must hold is that
the board's watchdog ends the output (ICD §4, fault 1), the session is closed
as interrupted with its samples, and the therapist is told why.
"""

from __future__ import annotations

from ionto_console.core.samples import BoardFault
from ionto_console.core.session import SessionState
from ionto_console.records import load_samples
from drill_bench import DEADLINE_S, assert_record_intact, assert_samples_kept
from support import wait_for


def test_serial_cable_pulled_interrupts_and_the_board_watchdog_ends_the_output(bench):
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    bench.server.unplug()
    bench.wait_ended()
    snap = controller.snapshot()
    assert snap.state is SessionState.INTERRUPTED, snap
    # Nothing could be written after the pull: the board's own watchdog cut the output.
    wait_for(lambda: bench.server.status()["board"]["latched_fault"] == BoardFault.WATCHDOG, DEADLINE_S,
             "the board's watchdog fault")
    bench.wait_output_off()
    status = bench.server.status()
    assert not status["plugged"] and not status["board"]["output_enabled"]
    assert status["model"]["true_current_a"] == 0.0
    # The therapist is told the treatment was interrupted and why (the link's own words).
    alarm = bench.alarm_message().lower()
    assert "interrupted" in alarm and ("disconnected" in alarm or "closed" in alarm or "not found" in alarm), alarm
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and summary.reason, summary
    series = load_samples(bench.db, bench.session_id)
    assert_samples_kept(series)
    assert summary.sample_count == len(series)
    assert_record_intact(bench.db)


def test_cable_pulled_then_replugged_does_not_resume_the_output(bench):
    controller = bench.start_treating()
    bench.server.unplug()
    bench.wait_ended()
    bench.server.replug()
    wait_for(lambda: bench.station.snapshot().live is not None, DEADLINE_S, "the board back with telemetry")
    wait_for(lambda: bench.server.status()["board"]["latched_fault"] == BoardFault.WATCHDOG, DEADLINE_S,
             "the watchdog fault latched")
    assert controller.snapshot().state is SessionState.INTERRUPTED
    assert bench.board_output() == (False, 0.0)
    assert not bench.station.snapshot().live.output_on
    assert bench.wait_record_closed().state == "interrupted"


def test_link_silent_during_an_intensity_step_interrupts_with_an_alarm(bench):
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    controller.step_up()
    # The ramp sends SET_TARGET every tick while the setpoint rises; silence the link mid-ramp.
    wait_for(lambda: controller.snapshot().setpoint_ma > 1.05, DEADLINE_S, "the step ramping", controller)
    bench.server.stall_link(1.5)
    bench.wait_ended()
    snap = controller.snapshot()
    assert snap.state is SessionState.INTERRUPTED, snap
    wait_for(lambda: bench.board_output() == (False, 0.0), DEADLINE_S, "output off (cut or watchdog)")
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and summary.reason, summary
    assert_samples_kept(load_samples(bench.db, bench.session_id))
    assert_record_intact(bench.db)
    assert "interrupted" in bench.alarm_message().lower(), (bench.alarm_message(), controller.message())
