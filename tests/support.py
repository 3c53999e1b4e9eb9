"""Helpers shared by tests that run real treatments against the simulator."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from ionto_console.core.protocols import Protocol, load_library


def wait_for(predicate, timeout=10.0, what="condition", controller=None):
    """Poll ``predicate`` until true; on timeout fail with what was awaited (and the session state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    detail = f": {controller.snapshot()} message={controller.message()!r}" if controller else ""
    raise AssertionError(f"timed out waiting for {what}{detail}")


def small_protocol(**changes) -> Protocol:
    """Dexamethasone from the library with a dose small enough for a test (seconds, not minutes)."""
    base = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
    data = base.model_dump(mode="json")
    data.update({"id": "test-small-dose", "name": "Test: dexamethasone, small dose",
                 "dose_target_ma_min": 0.05, "ramp_start_ma": 1.0, "ramp_rate_ma_s": 2.0,
                 "ramp_down_s": 0.5, **changes})
    return Protocol.model_validate(data)


T = TypeVar("T")


def wait_for_value(get: Callable[[], T], ok: Callable[[T], bool], what: str, deadline_s: float = 5.0) -> T:
    """Poll ``get`` until ``ok`` holds and return that value (no fixed sleeps: the machine is shared and loaded)."""
    end = time.monotonic() + deadline_s
    value = get()
    while not ok(value):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(0.01)
        value = get()
    return value


def account(db, username: str, display_name: str) -> str:
    """An active account row to sign with (records-level: no password hashing); returns the user name."""
    import datetime as _dt

    from ionto_console.records.users import UserAccount

    with db.write() as s:
        if s.query(UserAccount).filter_by(username=username).first() is None:
            now = _dt.datetime.now(_dt.timezone.utc)
            s.add(UserAccount(username=username, display_name=display_name, role="therapist", password_hash="x",
                              active=True, created_at=now, password_changed_at=now, must_change_password=False,
                              failed_count=0))
    return username
