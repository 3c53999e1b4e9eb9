"""A small declarative SCPI instrument base on pyvisa (the pymeasure idea, without pymeasure).

WHY declarative: each instrument setting is one line (query, set command,
validator, doc), so a driver reads like the programming manual and every
setting goes through the same three steps: validate *before* the wire (a
clear ``ValueError``, nothing sent), write, then drain the instrument's error
queue so an error the instrument raised is reported against the command that
caused it instead of surfacing three commands later.

The instrument wraps anything with pyvisa's ``MessageBasedResource`` surface
(``write``, ``query``, ``resource_name``, ``timeout``, ``close``): a real
resource, a pyvisa-sim one, or :class:`~.testing.FakeResource` in transcript
tests.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Generic, Mapping, Self, TypeVar

import pyvisa
from pyvisa import constants
from pyvisa.errors import VisaIOError

from .errors import (InstrumentError, InstrumentGarbage, InstrumentIOError, InstrumentOverload, InstrumentTimeout,
                     WrongInstrument)

T = TypeVar("T")
#: The SCPI overload value: what a DMM or LCR meter returns for an over-range reading.
OVERLOAD = 9.9e37
#: At most this many entries are read from an error queue in one drain (a real queue holds ~20).
MAX_ERROR_DRAIN = 32
DEFAULT_TIMEOUT_MS = 2000


# --- validators -------------------------------------------------------------


class Validator:
    """Turns a Python value into the text that goes on the wire, or raises ``ValueError``."""

    def __call__(self, value: Any) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class in_range(Validator):  # noqa: N801 - reads like a declaration in the driver class body
    """A finite number in ``[low, high]`` (inclusive), formatted with ``fmt``."""

    low: float
    high: float
    unit: str = ""
    fmt: str = "{:.10g}"

    def __call__(self, value: Any) -> str:
        number = _as_number(value)
        if not self.low <= number <= self.high:
            raise ValueError(f"{value!r} is outside {self.low:g}..{self.high:g} {self.unit}".rstrip())
        return self.fmt.format(number)


@dataclass(frozen=True)
class one_of(Validator):  # noqa: N801
    """One of a fixed set of values. A mapping maps Python values to wire tokens.

    Numbers compare by value (``0.01 == 1e-2``); strings case-insensitively.
    """

    choices: Mapping[Any, str] | tuple[Any, ...]
    unit: str = ""

    def __call__(self, value: Any) -> str:
        items = self.choices.items() if isinstance(self.choices, Mapping) else (
            (c, _token(c)) for c in self.choices)
        for choice, wire in items:
            if _same(choice, value):
                return wire
        allowed = ", ".join(_token(c) for c in (self.choices.keys() if isinstance(self.choices, Mapping)
                                                 else self.choices))
        raise ValueError(f"{value!r} is not one of {allowed} {self.unit}".rstrip())


@dataclass(frozen=True)
class choices_from(Validator):  # noqa: N801
    """``one_of`` the tuple held in the instance attribute ``attr`` (choices that depend on the model)."""

    attr: str
    unit: str = ""

    def bind(self, obj: object) -> Validator:
        return one_of(tuple(getattr(obj, self.attr)), self.unit)

    def __call__(self, value: Any) -> str:
        raise TypeError("choices_from must be bound to an instrument first")


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _same(choice: Any, value: Any) -> bool:
    if isinstance(choice, str) or isinstance(value, str):
        return isinstance(choice, str) and isinstance(value, str) and choice.upper() == value.upper()
    if isinstance(choice, bool) or isinstance(value, bool):
        return choice is value
    if isinstance(choice, numbers.Real) and isinstance(value, numbers.Real):
        return math.isclose(float(choice), float(value), rel_tol=1e-9)
    return bool(choice == value)


def _token(choice: Any) -> str:
    return f"{choice:g}" if isinstance(choice, float) else str(choice)


# --- reply parsers ----------------------------------------------------------


def parse_float(reply: str) -> float:
    """A SCPI number (NR1/NR2/NR3). Raises ``ValueError`` on anything else."""
    value = float(reply.strip())
    if math.isnan(value):
        raise ValueError("NaN")
    return value


def parse_bool(reply: str) -> bool:
    """``1``/``0``/``ON``/``OFF`` as SCPI booleans."""
    token = reply.strip().upper()
    if token in ("1", "ON"):
        return True
    if token in ("0", "OFF"):
        return False
    raise ValueError(f"not a SCPI boolean: {reply!r}")


def parse_token(reply: str) -> str:
    """A character reply: quotes stripped, upper-cased (``"VOLT:DC"`` -> ``VOLT:DC``)."""
    token = reply.strip().strip('"').strip().upper()
    if not token or not token.replace(":", "").replace("_", "").isalnum():
        raise ValueError(f"not a SCPI token: {reply!r}")
    return token


def parse_error(reply: str) -> tuple[int, str]:
    """A ``SYST:ERR?`` answer: ``-113,"Undefined header"`` -> ``(-113, 'Undefined header')``."""
    code, sep, text = reply.strip().partition(",")
    if not sep:
        raise ValueError(f"not an error-queue entry: {reply!r}")
    return int(code), text.strip().strip('"')


# --- descriptors ------------------------------------------------------------


class scpi_property(Generic[T]):  # noqa: N801 - used like ``property``
    """A setting read with ``get_cmd`` and written with ``set_cmd.format(validator(value))``.

    Writing validates first (``ValueError`` naming the property, nothing sent),
    then writes and drains the error queue (``InstrumentError``). Reading
    queries and parses (``InstrumentGarbage`` if the reply does not parse).
    """

    def __init__(self, get_cmd: str | None, set_cmd: str | None = None, validator: Validator | None = None,
                 doc: str = "", parse: Callable[[str], T] = parse_float) -> None:  # type: ignore[assignment]
        if set_cmd is not None and "{}" not in set_cmd:
            raise TypeError(f"set_cmd {set_cmd!r} needs a '{{}}' placeholder for the value")
        self.get_cmd, self.set_cmd, self.validator, self.parse = get_cmd, set_cmd, validator, parse
        self.__doc__ = doc
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: "ScpiInstrument | None", objtype: type | None = None) -> Any:
        if obj is None:
            return self
        if self.get_cmd is None:
            raise AttributeError(f"{type(obj).__name__}.{self.name} cannot be read back")
        return obj.ask(self.get_cmd, self.parse)

    def __set__(self, obj: "ScpiInstrument", value: Any) -> None:
        if self.set_cmd is None:
            raise AttributeError(f"{type(obj).__name__}.{self.name} is a measurement, it cannot be set")
        obj.configure(self.set_cmd.format(self.wire_value(obj, value)))

    def wire_value(self, obj: object, value: Any) -> str:
        """The validated wire text for ``value`` (``ValueError`` naming the setting otherwise)."""
        return validate(obj, self.name, self.validator, value)


def validate(obj: object, name: str, validator: Validator | None, value: Any) -> str:
    """Run ``validator`` (bound to ``obj`` if it depends on the model); errors name ``Class.name``."""
    if validator is None:
        return str(value)
    if isinstance(validator, choices_from):
        validator = validator.bind(obj)
    try:
        return validator(value)
    except ValueError as exc:
        raise ValueError(f"{type(obj).__name__}.{name}: {exc}") from None


def measurement(get_cmd: str, doc: str = "", parse: Callable[[str], T] = parse_float) -> scpi_property[T]:  # type: ignore[assignment]
    """A read-only value (a reading or a state query)."""
    return scpi_property(get_cmd, None, None, doc, parse)


# --- the instrument base -----------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The four ``*IDN?`` fields (what the calibration certificate lists)."""

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, reply: str) -> "Identity":
        fields = [f.strip() for f in reply.strip().split(",")]
        if len(fields) < 2 or not all(fields[:2]) or not fields[0].isprintable():
            raise ValueError(f"not an *IDN? answer: {reply!r}")
        fields += [""] * (4 - len(fields))
        return cls(fields[0], fields[1], fields[2], ",".join(fields[3:]))

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model} s/n {self.serial or '?'} fw {self.firmware or '?'}"


class ScpiInstrument:
    """Base of the bench drivers: connect (``*CLS``, ``*IDN?``), checked writes, parsed queries.

    Subclasses set ``SUPPORTED_MODELS`` (substrings of the ``*IDN?`` model
    field); an instrument that identifies as something else raises
    ``WrongInstrument`` at connect, before any setting is sent.

    After an ``InstrumentTimeout`` a slow instrument may still send the late
    reply, which the next query would read: treat the connection as suspect
    (stop the run, reopen) rather than carrying on with it.
    """

    SUPPORTED_MODELS: ClassVar[tuple[str, ...]] = ()
    ERROR_QUERY: ClassVar[str] = "SYST:ERR?"

    def __init__(self, resource: Any) -> None:
        self.resource = resource
        self.resource_name: str = str(getattr(resource, "resource_name", "?"))
        self.identity = self._connect()

    # --- lifecycle --------------------------------------------------------

    def _connect(self) -> Identity:
        self.write("*CLS")  # stale errors of a previous session must not be blamed on our first command
        identity = self.ask("*IDN?", Identity.parse)
        if self.SUPPORTED_MODELS and not any(m.upper() in identity.model.upper() for m in self.SUPPORTED_MODELS):
            raise WrongInstrument(self.resource_name,
                                  f"{identity} is not a {type(self).__name__} "
                                  f"(supported: {', '.join(self.SUPPORTED_MODELS)})")
        return identity

    def close(self) -> None:
        try:
            self.resource.close()
        except (VisaIOError, OSError):
            pass  # closing a dead connection must not hide why it died

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- I/O with error translation ----------------------------------------

    def write(self, command: str) -> None:
        """Send ``command`` without checking the error queue (use ``configure`` for settings)."""
        self._io(command, lambda: self.resource.write(command))

    def query(self, command: str) -> str:
        """Send ``command`` and return the raw reply text."""
        return self._io(command, lambda: self.resource.query(command))

    def ask(self, command: str, parse: Callable[[str], T], expected: str = "") -> T:
        """Query and parse; a reply that does not parse raises ``InstrumentGarbage``."""
        reply = self.query(command)
        try:
            return parse(reply)
        except (ValueError, TypeError, IndexError):
            raise InstrumentGarbage(self.resource_name, command, reply,
                                    expected or getattr(parse, "__name__", "")) from None

    def configure(self, command: str) -> None:
        """Write a setting, then drain the error queue: ``InstrumentError`` if it complained."""
        self.write(command)
        self.check_errors(command)

    def errors(self) -> list[tuple[int, str]]:
        """Read the error queue until ``0,"No error"`` (at most ``MAX_ERROR_DRAIN`` entries)."""
        found: list[tuple[int, str]] = []
        for _ in range(MAX_ERROR_DRAIN):
            code, text = self.ask(self.ERROR_QUERY, parse_error, 'code,"text"')
            if code == 0:
                return found
            found.append((code, text))
        # A queue that never empties: report what it said (an instrument stuck in an error loop).
        return found

    def check_errors(self, command: str | None = None) -> None:
        """Raise ``InstrumentError`` with the instrument's own texts if its queue is not empty."""
        found = self.errors()
        if found:
            raise InstrumentError(self.resource_name, found, command)

    def _io(self, command: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except VisaIOError as exc:
            if exc.error_code == constants.StatusCode.error_timeout:
                raise InstrumentTimeout(self.resource_name, command, _timeout_ms(self.resource)) from None
            raise InstrumentIOError(self.resource_name, f"VISA I/O error: {exc.description}", command) from None
        except UnicodeDecodeError as exc:
            raise InstrumentGarbage(self.resource_name, command, exc.object, "ASCII text") from None
        except (OSError, pyvisa.errors.InvalidSession) as exc:
            raise InstrumentIOError(self.resource_name, f"connection failed: {exc}", command) from None


def _timeout_ms(resource: Any) -> float | None:
    try:
        value = resource.timeout
    except Exception:  # a closed session cannot even tell its timeout
        return None
    return float(value) if isinstance(value, numbers.Real) else None


def check_overload(value: float, resource: str, command: str) -> float:
    """Raise ``InstrumentOverload`` for the SCPI overload value (``+/-9.9E37``)."""
    if abs(value) >= OVERLOAD * 0.99:
        raise InstrumentOverload(resource, command)
    return value


I = TypeVar("I", bound=ScpiInstrument)


def open_instrument(resource_name: str, cls: type[I], backend: str = "@py", timeout_ms: int = DEFAULT_TIMEOUT_MS,
                    resource_manager: pyvisa.ResourceManager | None = None) -> I:
    """Open ``resource_name`` with newline terminations and connect ``cls`` to it.

    ``backend`` is a pyvisa backend spec: ``"@py"`` (pyvisa-py, the default),
    ``"path/to/definitions.yaml@sim"`` (pyvisa-sim) or ``""`` (a vendor VISA).
    The resource is closed again if connecting fails, so a failed open leaks nothing.
    """
    rm = resource_manager if resource_manager is not None else pyvisa.ResourceManager(backend)
    try:
        resource = rm.open_resource(resource_name, read_termination="\n", write_termination="\n",
                                    timeout=timeout_ms)
    except VisaIOError as exc:
        raise InstrumentIOError(resource_name, f"cannot open: {exc.description}") from None
    except (OSError, ValueError) as exc:
        raise InstrumentIOError(resource_name, f"cannot open: {exc}") from None
    try:
        return cls(resource)
    except BaseException:
        try:
            resource.close()
        except Exception:
            pass
        raise

