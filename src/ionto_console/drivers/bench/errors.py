"""Exceptions of the bench drivers: one type per way an instrument can let us down.

WHY several types: the calibration runner must tell Ravi *which* instrument
failed and *how* (it reported an error, it stopped answering, it answered
nonsense, it is the wrong instrument) in one line, and stop the run. Every
type carries the VISA resource name and, where there is one, the command.
"""

from __future__ import annotations


class BenchError(Exception):
    """Base of every bench-instrument failure."""

    def __init__(self, resource: str, message: str, command: str | None = None) -> None:
        self.resource = resource
        self.command = command
        where = f" after {command!r}" if command else ""
        super().__init__(f"{resource}: {message}{where}")


class InstrumentError(BenchError):
    """The instrument reported error(s) in its own error queue (its own text kept verbatim)."""

    def __init__(self, resource: str, errors: list[tuple[int, str]], command: str | None = None) -> None:
        self.errors = list(errors)
        text = "; ".join(f'{code:+d},"{msg}"' for code, msg in self.errors)
        super().__init__(resource, f"instrument error {text}", command)

    @property
    def codes(self) -> list[int]:
        return [code for code, _ in self.errors]

    @property
    def messages(self) -> list[str]:
        return [msg for _, msg in self.errors]


class InstrumentTimeout(BenchError):
    """The instrument did not answer in time (unplugged, hung, or a query it did not understand)."""

    def __init__(self, resource: str, command: str | None, timeout_ms: float | None = None) -> None:
        self.timeout_ms = timeout_ms
        limit = f" within {timeout_ms:g} ms" if timeout_ms is not None else ""
        super().__init__(resource, f"no answer{limit}", command)


class InstrumentGarbage(BenchError):
    """The instrument answered something that cannot be parsed as the expected reply."""

    def __init__(self, resource: str, command: str | None, reply: object, expected: str = "") -> None:
        self.reply = reply
        what = f" (expected {expected})" if expected else ""
        super().__init__(resource, f"unparseable reply {reply!r}{what}", command)


class InstrumentOverload(BenchError):
    """A measurement is over range (the SCPI overload value 9.9E37 or an overload status)."""

    def __init__(self, resource: str, command: str | None, detail: str = "reading over range") -> None:
        super().__init__(resource, detail, command)


class InstrumentIOError(BenchError):
    """The connection itself failed (socket closed, resource gone)."""


class WrongInstrument(BenchError):
    """``*IDN?`` names a model this driver does not support."""
