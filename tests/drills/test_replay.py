"""A recorded session replays to the same decisions (ionto-replay against a real black box)."""

from __future__ import annotations

import time

from ionto_console.core.protocols import Protocol
from ionto_console.core.session import SessionState, SideEffect
from ionto_console.records import load_events, load_session, load_wire_log
from ionto_console.records.wire_log import decode
from ionto_console.replay import actions_from_events, actions_from_wire, main, replay
from drill_bench import TREATING_MA, drill_plan, drill_protocol
from support import small_protocol, wait_for


def _recording(bench):
    bench.wait_record_closed()
    records = list(decode(load_wire_log(bench.db, bench.session_id).data))
    stored = Protocol.model_validate(load_session(bench.db, bench.session_id).protocol)
    return records, stored


def test_a_completed_session_replays_to_the_same_decisions_in_real_and_virtual_time(bench, tmp_path, capsys):
    protocol = small_protocol()  # ends on its own: dose reached, then the ramp-down
    controller = bench.desk.begin(drill_plan(protocol))
    wait_for(lambda: controller.snapshot().state is SessionState.COMPLETE, 30, "the dose delivered", controller)
    records, stored = _recording(bench)
    through_link = replay(records, stored, realtime=True)  # wall-clock time, a real BoardLink
    assert [d.kind for d in through_link.recorded] == ["cut", "enable", "stop", "cut"], through_link.recorded
    assert through_link.same, through_link.differences()
    at_max = replay(records, stored)  # virtual time, as fast as possible
    assert at_max.same, at_max.differences()
    assert [d.kind for d in at_max.replayed] == [d.kind for d in through_link.replayed]

    # a host that stalls 30 ms per 50 frames (at 10x that was a lost-telemetry trip) decides the same
    frames = iter(range(10**9))
    stalled = replay(records, stored, speed=10.0, on_frame=lambda t: next(frames) % 50 or time.sleep(0.03))
    assert stalled.replayed == at_max.replayed, stalled.differences()
    # the command line, from the records database
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    assert main(["--database", url, "--session", str(bench.session_id), "--speed", "max"]) == 0
    assert "same decisions" in capsys.readouterr().out


def test_a_session_with_a_raise_and_a_side_effect_stop_replays_to_the_same_decisions(bench, tmp_path, capsys):
    controller = bench.desk.begin(drill_plan(drill_protocol()))
    wait_for(lambda: controller.snapshot().current_ma >= TREATING_MA, 15, "treating", controller)
    controller.step_up()  # the therapist raises the current ...
    wait_for(lambda: controller.snapshot().setpoint_ma > 1.05, 10, "the raise on its way", controller)
    time.sleep(0.3)
    controller.stop(SideEffect.NAUSEA)  # ... and the patient feels sick: a side-effect stop
    wait_for(lambda: controller.snapshot().state.terminal, 10, "stopped", controller)
    records, stored = _recording(bench)
    events = [(ev.t, ev.kind, ev.message, ev.evidence) for ev in load_events(bench.db, bench.session_id)]
    actions = actions_from_events(events)
    assert [(a.name, a.reason) for a in actions] == [("step_up", None), ("stop", SideEffect.NAUSEA)]

    report = replay(records, stored, actions=actions)
    # the stop's scheduled cut (350 ms on) is on the recording when the record closed after it (the writer's
    # commit process closes in its own time): a cut that went on the wire, never another decision
    kinds = [d.kind for d in report.recorded]
    assert kinds[:3] == ["cut", "enable", "stop"] and set(kinds[3:]) <= {"cut"}, report.recorded
    assert report.same, report.differences()
    without = replay(records, stored)  # what the replay did before it knew the actions
    assert not without.same
    stalled = replay(records, stored, actions=actions, speed=20.0,
                     on_frame=lambda t: time.sleep(0.02) if int(t * 1000) % 500 == 0 else None)
    assert stalled.replayed == report.replayed
    through_link = replay(records, stored, actions=actions, realtime=True)  # the controller's own intents
    # (on the wall clock the stop's scheduled cut, 350 ms on, may fall inside the link mode's 100 ms
    # reaction tail though the recording closed before it: a race of the tap, not a decision)
    assert not through_link.missing, through_link.differences()
    assert all(d.kind == "cut" and d.t > max(r.t for r in records) for d in through_link.extra)
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    assert main(["--database", url, "--session", str(bench.session_id)]) == 0
    out = capsys.readouterr().out
    assert "same decisions" in out and "step_up at" in out and "stop at" in out
    # the wire alone: its stop only on request (a STOP_RAMP trip sends the same STOP); the raise
    # cannot be told from the engine's own ramp there, so only the stop is compared
    assert any(d.kind == "stop" for d in without.missing), without.differences()
    wire_stops = actions_from_wire(records)
    assert [(a.name, a.reason) for a in wire_stops] == [("stop", SideEffect.OTHER)]
    assert abs(wire_stops[0].t - actions[1].t) < 0.05
    from_wire = replay(records, stored, actions=wire_stops)
    assert not [d for d in from_wire.missing + from_wire.extra if d.kind == "stop"], from_wire.differences()


def test_a_cut_due_just_after_the_recording_ends_still_answers_the_recorded_cut():
    """The recorded cut closes the recording; this console's tick may make it a few ms later."""
    from ionto_console.replay import Decision, compare_until

    recorded = [Decision(0.02, "cut"), Decision(0.021, "enable"), Decision(2.987, "stop"), Decision(3.588, "cut")]
    replayed = [Decision(0.02, "cut"), Decision(0.021, "enable"), Decision(2.98, "stop"), Decision(3.59, "cut")]
    report = compare_until(recorded, replayed, end_t=3.588, tolerance_s=0.25)
    assert report.same, report.differences()
    assert [d.kind for d in report.replayed] == ["cut", "enable", "stop", "cut"]
    # a decision after the end that the recording has no counterpart for is not held against it ...
    late = compare_until(recorded[:3], replayed, end_t=3.0, tolerance_s=0.25)
    assert late.same and [d.kind for d in late.replayed] == ["cut", "enable", "stop"]
    # ... but a recorded decision this console never makes still is
    missing = compare_until(recorded, replayed[:3], end_t=3.588, tolerance_s=0.25)
    assert [str(d) for d in missing.missing] == ["cut at 3.588 s"]
