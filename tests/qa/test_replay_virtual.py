"""ionto-replay in virtual time: the answer depends on the recording, never on the host's timing."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given, settings, strategies as st

from ionto_console.core.protocols import load_library
from ionto_console.core.session import SideEffect, StopCause
from ionto_console.records.wire_log import decode
from ionto_console.replay import Action, actions_from_events, replay

RECORDING = Path(__file__).with_name("field-report-0001.ionto-wire")
PROTOCOL = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
RECORDS = list(decode(RECORDING.read_bytes()))
AT_MAX = replay(RECORDS, PROTOCOL)


@settings(max_examples=8, deadline=None)
@given(every=st.integers(20, 400), stall_ms=st.integers(1, 40), speed=st.sampled_from([5.0, 50.0, float("inf")]))
def test_host_stalls_and_speed_do_not_change_the_decisions(every, stall_ms, speed):
    frames = iter(range(10**9))
    stalled = replay(RECORDS, PROTOCOL, speed=speed,
                     on_frame=lambda t: next(frames) % every or time.sleep(stall_ms / 1000))
    assert stalled.replayed == AT_MAX.replayed


def test_an_action_changes_the_decisions_at_its_recorded_time():
    # an emergency stop at 3 s (session time): this console cuts there, the recording did not
    report = replay(RECORDS, PROTOCOL, actions=[Action(3.0, "stop", StopCause.EMERGENCY, "")])
    cuts = [d.t for d in report.replayed if d.kind == "cut"]
    assert any(2.99 <= t <= 3.02 for t in cuts), report.replayed
    assert any(d.kind == "cut" and 2.99 <= d.t <= 3.02 for d in report.extra)


def test_actions_from_recorded_events():
    events = [
        (0.0, "state", "prechecks -> ramping_up", {"event": "prechecks_passed"}),
        (1.5, "action:step_up", "step up to 1.20 mA", {"level_ma": 1.2}),
        (2.0, "action:pause", "pause to 0.00 mA", {"level_ma": 0.0}),
        (2.5, "action:resume", "resume to 1.20 mA", {"level_ma": 1.2}),
        (3.0, "stop", "Other side effect: itching", {}),
        (4.0, "stop", "Nausea", {}),
        (5.0, "dose_reached", "dose reached: ramp-down started", {}),
        (5.0, "state", "treating -> ramping_down", {"event": "begin_ramp_down"}),  # the dose, no action
        (6.0, "state", "treating -> ramping_down", {"event": "begin_ramp_down"}),  # ended early
        (None, "action:step_down", "no time", {}),
    ]
    assert [(a.t, a.name, a.reason, a.text) for a in actions_from_events(events)] == [
        (1.5, "step_up", None, ""), (2.0, "pause", None, ""), (2.5, "resume", None, ""),
        (3.0, "stop", SideEffect.OTHER, "itching"), (4.0, "stop", SideEffect.NAUSEA, ""),
        (6.0, "end_early", None, "")]
