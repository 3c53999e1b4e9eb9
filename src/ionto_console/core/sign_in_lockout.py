"""The sign-in slow-down and lockout rule, Qt- and database-free, with time as an argument.

WHY its own module: the rule is security logic that must hold for every order
and spacing of attempts (property-tested), and ``accounts`` only stores the
state it returns. After the n-th failure in a window the account takes no
attempt for 2**(n-1) s (at most ``MAX_RETRY_DELAY_S``): a person who mistyped
barely notices, a guesser gets a handful of tries a minute. ``failures``
failures within ``window`` lock the account for ``lock``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

MAX_RETRY_DELAY_S = 8.0


@dataclass(frozen=True)
class LockoutPolicy:
    failures: int = 5
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class LockState:
    """What an account remembers of its recent failed sign-ins."""

    failed_count: int = 0
    window_start: dt.datetime | None = None
    retry_not_before: dt.datetime | None = None
    locked_until: dt.datetime | None = None


CLEAR = LockState()


def refusal(state: LockState, now: dt.datetime) -> str:
    """Why the account takes no attempt at ``now`` ("" if it does), in words for the person at the station."""
    if state.locked_until is not None and now < state.locked_until:
        minutes = max(1, round((state.locked_until - now).total_seconds() / 60))
        return (f"This account is locked after repeated failed sign-ins (about {minutes} more minute(s)). "
                "An administrator can unlock it.")
    if state.retry_not_before is not None and now < state.retry_not_before:
        return f"Wait {max(1, round((state.retry_not_before - now).total_seconds()))} s before trying again."
    return ""


def after_failure(state: LockState, now: dt.datetime, policy: LockoutPolicy) -> LockState:
    """The state after a failed attempt at ``now`` (an attempt ``refusal`` let through)."""
    if state.window_start is None or now - state.window_start > policy.window:
        state = replace(state, failed_count=0, window_start=now)
    count = state.failed_count + 1
    if count >= policy.failures:
        return LockState(locked_until=now + policy.lock)
    delay = dt.timedelta(seconds=min(2.0 ** (count - 1), MAX_RETRY_DELAY_S))
    return replace(state, failed_count=count, retry_not_before=now + delay, locked_until=None)
