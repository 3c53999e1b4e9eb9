"""Fault drills at the patient end and in the board: lift-off, short, board faults, reboot, line noise.

Each drill starts a recorded treatment at about 1 mA, injects one fault into
the simulated board, and checks three things: the board's output is off (the
simulator's own state and the last telemetry the controller saw), the stored
record says what happened (final state, reason, the trip event, the samples up
to the fault, an intact audit chain), and the therapist is told why (the
session snapshot and the alarm banner's text).
"""

from __future__ import annotations

import time

import pytest

from ionto_console.core.interlocks import TripKind
from ionto_console.core.samples import BoardFault
from ionto_console.core.session import SessionState
from ionto_sim import board as sim_board
from ionto_console.records import load_samples, load_session
from drill_bench import DEADLINE_S, Bench, assert_record_intact, assert_samples_kept
from support import wait_for


def assert_tripped(bench: Bench, kind: TripKind, *words: str) -> None:
    """The session ended FAULTED by ``kind``; output off; record and screen say so in specific words."""
    controller = bench.controller
    bench.wait_ended()
    bench.wait_output_off()
    snap = controller.snapshot()
    assert snap.state is SessionState.FAULTED, snap
    trip = snap.active_trip
    assert trip is not None and trip.kind is kind, snap
    # Telemetry after the trip: the controller itself saw the current fall to zero with the output disabled.
    # (An open circuit drops the current before the cut; the cut also resets the board's target.)
    wait_for(lambda: controller.history.view().current_ma[-1] < 0.05 and controller.history.view().target_ma[-1] == 0,
             DEADLINE_S, "zero current and target in telemetry")
    live = bench.station.snapshot().live
    assert live is not None and not live.output_on, live  # the board's own output flag in telemetry
    # The therapist is told why, in specific words, on the session and on the alarm banner.
    alarm = bench.alarm_message()
    for text in (trip.message, alarm):
        lowered = text.lower()
        assert all(word in lowered for word in words), (text, words)
    # The stored record.
    summary = bench.wait_record_closed()
    assert summary.state == "faulted" and summary.reason == trip.message, summary
    assert f"trip:{kind.value}" in bench.event_kinds()
    samples = load_samples(bench.db, bench.session_id)
    assert summary.sample_count == len(samples)
    assert_samples_kept(samples)
    assert_record_intact(bench.db)


def test_electrode_lift_off_trips_open_circuit(bench):
    bench.start_treating()
    bench.server.lift_electrode()
    assert_tripped(bench, TripKind.OPEN_CIRCUIT, "open circuit", "electrode")


def test_electrode_short_trips_low_impedance(bench):
    bench.start_treating()
    bench.server.short_electrodes()
    assert_tripped(bench, TripKind.IMPEDANCE_LOW, "impedance", "short")


def test_regulator_overcurrent_is_cut_and_reported_by_whichever_sees_it_first(bench):
    bench.start_treating()
    bench.server.inject_overcurrent()
    # The board latches OVERCURRENT 2 ms into the spike (ICD §4) and reports it in the next
    # telemetry. A sample taken inside those 2 ms shows the spike without the fault yet; then the
    # console's own interlock cuts first (and its OUTPUT 0 may even reach the board before the
    # 2 ms are up). Both orders happen with real hardware and both are safe: the session ends on
    # that overcurrent, the output is off, and the record and the screen say why.
    bench.wait_ended()
    trip = bench.controller.snapshot().active_trip
    latched = bench.server.status()["board"]["latched_fault"]
    if trip is not None and trip.kind is TripKind.OVERCURRENT:
        assert_tripped(bench, TripKind.OVERCURRENT, "above the protocol maximum")
        assert latched in (BoardFault.NONE, BoardFault.OVERCURRENT)
    else:
        assert_tripped(bench, TripKind.BOARD_FAULT, "overcurrent")
        assert latched == BoardFault.OVERCURRENT


def test_regulator_overcurrent_seen_by_the_console_first_is_cut_by_its_interlock(bench, monkeypatch):
    """The other order of the drill above, made certain: the board's window is longer than a sample."""
    monkeypatch.setattr(sim_board, "OVERCURRENT_TIME_S", 0.03)
    bench.start_treating()
    bench.server.inject_overcurrent()
    assert_tripped(bench, TripKind.OVERCURRENT, "above the protocol maximum")


def test_board_stop_button_ends_the_session(bench):
    bench.start_treating()
    bench.server.press_hw_stop()
    assert_tripped(bench, TripKind.BOARD_FAULT, "stop button")


def test_board_reboot_mid_treatment_interrupts_and_stays_off(bench):
    controller = bench.start_treating()
    bench.server.reboot()
    bench.wait_ended()
    bench.wait_output_off()
    snap = controller.snapshot()
    assert snap.state is SessionState.INTERRUPTED, snap
    # A rebooted board is back at power-on defaults: the console must not carry on with
    # a board whose limits it no longer set, and nothing re-enables the output.
    wait_for(lambda: bench.station.snapshot().live is not None, DEADLINE_S, "telemetry after the reboot")
    assert not bench.station.snapshot().live.output_on
    assert "rebooted" in bench.alarm_message().lower()
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and "rebooted" in summary.reason, summary
    assert "state" in bench.event_kinds()
    assert_samples_kept(load_samples(bench.db, bench.session_id))
    assert_record_intact(bench.db)
    assert bench.board_output() == (False, 0.0)


GARBAGE_BURSTS = 20
GARBAGE_BYTES = 4000


def test_garbage_flood_on_the_serial_line_is_dropped_and_the_treatment_continues(bench):
    """Decision: line noise between frames is not a hazard. Every corrupt frame is dropped
    (CRC/COBS) and counted; telemetry keeps flowing, so the interlocks keep judging every
    real sample and the treatment continues. (A flood that destroyed telemetry frames
    would show as lost samples and trip the lost-samples interlock instead.)"""
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    dropped_before = bench.station.snapshot().frames_dropped
    dose_before = controller.snapshot().dose_delivered_ma_min
    seen_before = len(controller.history.view().t)
    for _ in range(GARBAGE_BURSTS):
        bench.server.send_garbage(GARBAGE_BYTES)
    wait_for(lambda: bench.station.snapshot().frames_dropped >= dropped_before + GARBAGE_BURSTS, DEADLINE_S,
             "the noise counted as dropped frames")
    # Samples keep flowing through the controller and into the record after the noise.
    wait_for(lambda: len(controller.history.view().t) > seen_before + 100, DEADLINE_S, "telemetry after the noise")
    stored_before = len(load_samples(bench.db, bench.session_id))
    wait_for(lambda: len(load_samples(bench.db, bench.session_id)) > stored_before, DEADLINE_S, "samples still saved")
    snap = controller.snapshot()
    assert snap.state is SessionState.TREATING and snap.active_trip is None, snap
    assert snap.dose_delivered_ma_min > dose_before
    assert bench.station.snapshot().samples_lost == 0
    assert bench.board_output()[0] and snap.current_ma > 0.9
    # ... and it still ends normally, recorded whole.
    controller.end_early()
    bench.wait_ended()
    bench.wait_output_off()
    summary = bench.wait_record_closed()
    assert summary.state in ("completed", "ended_early", "stopped"), summary
    assert not [kind for kind in bench.event_kinds() if kind.startswith("trip:")]
    assert_samples_kept(load_samples(bench.db, bench.session_id))
    assert_record_intact(bench.db)
    assert load_session(bench.db, bench.session_id).sample_count > stored_before


@pytest.mark.parametrize("fault", ["lift_electrode", "short_electrodes"])
def test_a_new_run_after_a_fault_starts_low_again(bench, fault):
    """After the therapist fixes the cause, a new session starts from the low start value."""
    bench.start_treating()
    getattr(bench.server, fault)()
    bench.wait_ended()
    bench.wait_output_off()
    bench.wait_record_closed()
    getattr(bench.server, "restore_electrode" if fault == "lift_electrode" else "clear_short")()
    first = bench.session_id
    controller = bench.start_treating()
    assert bench.session_id != first
    start_ma = controller.engine.protocol.ramp_start_ma
    assert max(controller.history.view().target_ma) <= start_ma + 1e-6


def test_the_same_fault_again_after_acknowledge_is_a_new_alarm_that_sounds(bench):
    """An acknowledged trip alarm ends; the next lift-off (next session) must sound again with its own time."""
    alarms = bench.desk.alarms
    bench.start_treating()
    bench.server.lift_electrode()
    bench.wait_ended()
    first = alarms.highest(time.monotonic())
    assert first is not None and first.priority.value == "high" and alarms.audio_should_sound(time.monotonic())
    alarms.acknowledge_all(time.monotonic())
    assert alarms.highest(time.monotonic()) is None  # acknowledged and the event is over: it ends
    bench.wait_output_off()
    bench.wait_record_closed()
    bench.server.restore_electrode()
    bench.start_treating()
    bench.server.lift_electrode()
    bench.wait_ended()
    second = alarms.highest(time.monotonic())
    assert second is not None and second.alarm_id != first.alarm_id, (first, second)
    assert alarms.audio_should_sound(time.monotonic())


def test_a_different_board_answering_after_a_reboot_mid_treatment_is_a_link_fault(bench):
    """Field report F1: after a 'reboot' the link took whatever IDENT answered. Another serial
    mid-session now ends the session with an alarm and is refused as a link fault (output
    commanded off); the link only connects again, as a new connection, after its hold-off."""
    link = bench.station.link
    reasons: list[str] = []
    link.add_state_listener(lambda state, reason: reasons.append(reason))
    controller = bench.start_treating()
    with bench.server.lock:
        bench.server.board.serial_number = "SIM-IMPOSTOR"
    bench.server.reboot()
    bench.wait_ended()
    bench.wait_output_off()
    assert controller.snapshot().state is SessionState.INTERRUPTED
    wait_for(lambda: any("different board" in r for r in reasons), DEADLINE_S, "the link fault")
    assert link.stats.link_faults == 1
    assert bench.alarm_message(), "no alarm for the therapist"
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted", summary
    assert_record_intact(bench.db)
