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
    """An active account to sign with, made as the console makes one (its audit entry included, so the
    trail still verifies), with cheap hashing parameters; returns the user name."""
    from argon2 import PasswordHasher

    from ionto_console import accounts
    from ionto_console.records.users import UserAccount

    with db.read() as s:
        if s.query(UserAccount).filter_by(username=username).first() is not None:
            return username
    real, accounts.HASHER = accounts.HASHER, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with db.write() as s:
            accounts._insert(s, username, display_name, accounts.Role.THERAPIST, "a signer for tests", "test",
                             "signer for a record test")
    finally:
        accounts.HASHER = real
    return username


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in ``source`` at any depth, relative ones resolved
    against ``package`` (e.g. "ionto_console.ui"); ``from x import y`` also yields "x.y", since
    "from .. import records" names the package in its alias. The layering tests' one walk."""
    import ast

    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def is_under(module: str, names: tuple[str, ...]) -> bool:
    """``module`` is one of ``names`` or inside one of them."""
    return any(module == name or module.startswith(name + ".") for name in names)
