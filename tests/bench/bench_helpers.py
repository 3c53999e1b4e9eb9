"""Helpers for the bench tests (a module with its own name, so no clash with other conftest.py files)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")
DEADLINE_S = 5.0


def wait_for(get: Callable[[], T], ok: Callable[[T], bool], what: str, deadline_s: float = DEADLINE_S) -> T:
    """Poll ``get`` until ``ok`` holds (no fixed sleeps: the machine is shared and loaded)."""
    end = time.monotonic() + deadline_s
    value = get()
    while not ok(value):
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(0.01)
        value = get()
    return value
