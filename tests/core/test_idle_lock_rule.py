"""The idle lock's rule on a made-up clock: lock after the idle time, never while output is on."""

from __future__ import annotations

from hypothesis import given, strategies as st

from ionto_console.core.idle_lock import IdleLock


def test_locks_after_the_idle_time_and_activity_restarts_it():
    idle = IdleLock(300.0, last_activity=0.0)
    assert not idle.due(299.9, output_on=False)
    idle.touch(200.0)
    assert not idle.due(499.9, output_on=False)
    assert idle.due(500.0, output_on=False)
    idle.locked = True
    assert not idle.due(900.0, output_on=False)  # already locked: nothing more to do


@given(st.lists(st.tuples(st.floats(min_value=0, max_value=120), st.booleans()), max_size=60))
def test_never_locks_while_output_is_on_and_the_idle_time_restarts_when_it_goes_off(steps):
    idle, now, last_on_or_touch = IdleLock(300.0), 0.0, 0.0
    for gap, output_on in steps:
        now += gap
        due = idle.due(now, output_on)
        if output_on:
            assert not due
            last_on_or_touch = now
        else:
            assert due == (now - last_on_or_touch >= 300.0)
            if due:
                idle.locked = False  # as if unlocked at once: the rule keeps its last activity
                idle.touch(now)
                last_on_or_touch = now
