"""The slow-down and lockout rule as properties over any order and spacing of failed sign-ins."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from ionto_console.core.sign_in_lockout import CLEAR, MAX_RETRY_DELAY_S, LockoutPolicy, after_failure, refusal

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
POLICY = LockoutPolicy()


def run(gaps: list[float], policy: LockoutPolicy = POLICY):
    """Attempt at each gap; returns (final state, times of the failures that were checked, last time)."""
    state, now, checked = CLEAR, T0, []
    for gap in gaps:
        now += dt.timedelta(seconds=gap)
        if refusal(state, now):
            continue
        state = after_failure(state, now, policy)
        checked.append(now)
    return state, checked, now


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), min_size=1, max_size=40))
def test_five_checked_failures_within_fifteen_minutes_always_lock_for_fifteen_minutes(gaps):
    state, checked, now = run(gaps)
    # every lock comes from the 5th failure of a window: the checked failures before it lie within 15 minutes
    if state.locked_until is not None:
        lock_start = state.locked_until - POLICY.lock
        assert lock_start in checked
        assert refusal(state, lock_start + POLICY.lock - dt.timedelta(seconds=1)).startswith("This account is locked")
        assert refusal(state, state.locked_until) == ""


@given(st.lists(st.floats(min_value=0, max_value=0.5, allow_nan=False), min_size=1, max_size=200))
def test_fast_guessing_gets_at_most_a_few_checks_before_the_lock(gaps):
    """However fast the attempts come, at most ``failures`` are ever checked before the account locks,
    and consecutive checked ones are spaced by the growing delay."""
    _, checked, _ = run(gaps)
    assert len(checked) <= POLICY.failures
    for n, (a, b) in enumerate(zip(checked, checked[1:]), start=1):
        assert (b - a).total_seconds() >= min(2.0 ** (n - 1), MAX_RETRY_DELAY_S)


@given(st.integers(min_value=1, max_value=40), st.floats(min_value=15 * 60 + 1, max_value=10_000))
def test_failures_further_apart_than_the_window_never_lock(count, spacing):
    state, checked, _ = run([spacing] * count)
    assert state.locked_until is None and len(checked) == count
