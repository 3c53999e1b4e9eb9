"""Session state machine, walked exhaustively: every state against every event."""

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.core.session import (
    TERMINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    Session,
    SessionEvent,
    SessionState,
    SideEffect,
    StopCause,
    StopReason,
)

REASON = StopReason(SideEffect.DIZZINESS)


def fire(session: Session, event: SessionEvent, now: float = 0.0):
    """Call the event METHOD (not the table), so the methods are what is tested."""
    method = getattr(session, event.value)
    if event is SessionEvent.STOP:
        return method(REASON, now)
    if event in (SessionEvent.FAULT, SessionEvent.INTERRUPT):
        return method("detail", now)
    return method(now)


def paths_to_every_state() -> dict[SessionState, list[SessionEvent]]:
    paths = {SessionState.IDLE: []}
    queue = deque([SessionState.IDLE])
    while queue:
        state = queue.popleft()
        for (source, event), target in TRANSITIONS.items():
            if source is state and target not in paths:
                paths[target] = paths[state] + [event]
                queue.append(target)
    return paths


PATHS = paths_to_every_state()


def test_every_state_is_reachable():
    assert set(PATHS) == set(SessionState)


def test_terminal_states_have_no_way_out():
    assert not [key for key in TRANSITIONS if key[0] in TERMINAL_STATES]
    assert TERMINAL_STATES == {SessionState.COMPLETE, SessionState.STOPPED, SessionState.FAULTED,
                               SessionState.INTERRUPTED}


@pytest.mark.parametrize("state", list(SessionState))
@pytest.mark.parametrize("event", list(SessionEvent))
def test_every_state_against_every_event(state, event):
    session = Session()
    for step in PATHS[state]:
        fire(session, step)
    assert session.state is state
    before = list(session.history)
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(IllegalTransition):
            fire(session, event, 1.0)
        assert session.state is state and session.history == before
        assert not session.can(event)
    else:
        move = fire(session, event, 1.0)
        assert session.state is expected
        assert move.source is state and move.target is expected and move.t == 1.0
        assert session.history[-1] == move


def test_side_effect_stop_records_reason():
    s = Session()
    s.begin_prechecks(0)
    s.prechecks_passed(1)
    s.stop(StopReason(SideEffect.OTHER, "felt faint"), 2)
    assert s.state is SessionState.STOPPED
    assert s.stop_reason.label == "Other side effect: felt faint" and s.stop_reason.is_side_effect
    assert s.history[-1].detail == s.stop_reason.label
    with pytest.raises(IllegalTransition) as info:
        s.resume(3)
    assert "resume" in str(info.value) and "stopped" in str(info.value)


def test_other_side_effect_needs_text():
    with pytest.raises(ValueError):
        StopReason(SideEffect.OTHER)
    assert not StopReason(StopCause.EMERGENCY).is_side_effect


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(SessionEvent)), max_size=40))
def test_random_walks_follow_the_table(events):
    session, state = Session(), SessionState.IDLE
    for i, event in enumerate(events):
        expected = TRANSITIONS.get((state, event))
        if expected is None:
            with pytest.raises(IllegalTransition):
                fire(session, event, float(i))
        else:
            fire(session, event, float(i))
            state = expected
        assert session.state is state
        assert session.allowed_events() == {e for (s, e) in TRANSITIONS if s is state}
    for prev, nxt in zip(session.history, session.history[1:]):
        assert prev.target is nxt.source
