"""Transcript testing for SCPI drivers: a fake resource that asserts the exact conversation.

WHY: a driver test must fail when the driver sends one command too many, in
the wrong order, or with a differently formatted number, because that is what
a real instrument would reject. Like pymeasure's ``expected_protocol``, the
transcript is a list of ``(written, reply)`` pairs; ``reply`` is ``None`` for a
write-only command, ``TIMEOUT`` to make the read time out, or bytes to make it
fail to decode. Shipped in the package so the calibration runner's tests can
script instruments too.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence, TypeVar

from pyvisa import constants
from pyvisa.errors import VisaIOError

from .scpi import ScpiInstrument

TIMEOUT = object()
Reply = str | bytes | object | None
I = TypeVar("I", bound=ScpiInstrument)


def connect_pairs(idn: str) -> list[tuple[str, Reply]]:
    """What every driver sends on connect: ``*CLS`` then ``*IDN?``."""
    return [("*CLS", None), ("*IDN?", idn)]


def no_error(query: str = "SYST:ERR?") -> tuple[str, str]:
    """The empty error queue answer."""
    return (query, '+0,"No error"')


class FakeResource:
    """Just enough of ``MessageBasedResource`` to run a driver against a script."""

    def __init__(self, pairs: Sequence[tuple[str, Reply]], resource_name: str = "FAKE::INSTR",
                 timeout: float = 1000.0) -> None:
        self._pairs = list(pairs)
        self._next = 0
        self._pending: list[Reply] = []
        self.resource_name = resource_name
        self.timeout = timeout
        self.read_termination = self.write_termination = "\n"
        self.closed = False

    def write(self, message: str) -> int:
        if self._next >= len(self._pairs):
            raise AssertionError(f"unexpected write {message!r}: the transcript has ended")
        expected, reply = self._pairs[self._next]
        if message != expected:
            raise AssertionError(f"write #{self._next}: expected {expected!r}, got {message!r}")
        self._next += 1
        if reply is not None:
            self._pending.append(reply)
        return len(message)

    def read(self) -> str:
        if not self._pending:
            raise AssertionError(f"read with nothing to read (after write #{self._next - 1})")
        reply = self._pending.pop(0)
        if reply is TIMEOUT:
            raise VisaIOError(constants.StatusCode.error_timeout)
        if isinstance(reply, bytes):
            return reply.decode("ascii")  # raises UnicodeDecodeError, as pyvisa does on non-ASCII bytes
        return str(reply)

    def query(self, message: str) -> str:
        self.write(message)
        return self.read()

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        """Every scripted write happened and every reply was read."""
        left = self._pairs[self._next:]
        if left or self._pending:
            raise AssertionError(f"transcript not finished: {len(left)} write(s) left {left[:3]!r}, "
                                 f"{len(self._pending)} reply(ies) unread")


@contextmanager
def expected_protocol(cls: type[I], pairs: Sequence[tuple[str, Reply]], **kwargs: Any) -> Iterator[I]:
    """Build ``cls`` on a :class:`FakeResource` playing ``pairs``; on exit assert it was all used.

    ``pairs`` must start with the connect transcript (see :func:`connect_pairs`).
    """
    resource = FakeResource(pairs)
    instrument = cls(resource, **kwargs)
    yield instrument
    resource.assert_done()
