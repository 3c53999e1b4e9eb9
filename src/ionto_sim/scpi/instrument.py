"""Base of the simulated SCPI instruments: header matching, error queue, fault injection.

WHY a real parser and a real error queue: the drivers are meant to be tested
against what instruments actually do. An unknown header queues
``-113,"Undefined header"`` and a query answers nothing (the host times out),
an out-of-range value queues ``-222,"Data out of range"``; short and long
mnemonics (``CONF``/``CONFigure``), optional nodes (``[:DC]``), a leading
colon, case and ``;``-joined commands all work as on the bench.

Faults (settable from tests or the bench control port) act on every line:
``hang`` swallows it (the instrument stopped answering), ``garbage`` answers a
query with undecodable bytes, ``error`` runs it but queues a device error.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable, Sequence

ERROR_QUEUE_SIZE = 20
GARBAGE = b"\xff\xfe#?\x07GARBAGE\x9c"
FAULTS = ("none", "hang", "garbage", "error")
#: What the ``error`` fault queues after every line, unless set otherwise.
DEFAULT_FAULT_ERROR = (-310, "System error; simulated fault")
OVERLOAD = 9.9e37

Handler = Callable[[list[str]], "str | None"]


class ScpiError(Exception):
    """Raised by a command handler: queued as ``code,"text"``."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f'{code:+d},"{text}"')
        self.code, self.text = code, text


def undefined_header() -> ScpiError:
    return ScpiError(-113, "Undefined header")


def out_of_range() -> ScpiError:
    return ScpiError(-222, "Data out of range")


@dataclass(frozen=True)
class _Node:
    short: str
    long: str
    optional: bool

    def matches(self, part: str) -> bool:
        return part == self.short or part == self.long


def compile_pattern(pattern: str) -> tuple[_Node, ...]:
    """``[SENSe]:CURRent[:DC]:NPLCycles`` -> nodes (upper case = short form, brackets = optional)."""
    nodes = []
    for match in re.finditer(r"(\[)?:?([A-Z*]+)([a-z]*)\]?", pattern):
        short, rest = match.group(2), match.group(3)
        nodes.append(_Node(short, (short + rest).upper(), match.group(1) is not None))
    if not nodes:
        raise ValueError(f"empty SCPI pattern {pattern!r}")
    return tuple(nodes)


def _match(nodes: Sequence[_Node], parts: Sequence[str]) -> bool:
    if not nodes:
        return not parts
    head, rest = nodes[0], nodes[1:]
    if parts and head.matches(parts[0]) and _match(rest, parts[1:]):
        return True
    return head.optional and _match(rest, parts)


def number(args: Sequence[str], low: float, high: float, default: float | None = None, index: int = 0) -> float:
    """Parse a numeric parameter (``MIN``/``MAX``/``DEF`` allowed), queueing SCPI's own errors."""
    if len(args) <= index or not args[index].strip():
        raise ScpiError(-109, "Missing parameter")
    token = args[index].strip().upper()
    keywords = {"MIN": low, "MINIMUM": low, "MAX": high, "MAXIMUM": high}
    if default is not None:
        keywords.update(DEF=default, DEFAULT=default)
    if token in keywords:
        return keywords[token]
    try:
        value = float(token)
    except ValueError:
        raise ScpiError(-104, "Data type error") from None
    if not math.isfinite(value):
        raise ScpiError(-104, "Data type error")
    if not low <= value <= high:
        raise out_of_range()
    return value


def choice(args: Sequence[str], options: Sequence[str], index: int = 0) -> str:
    """A character parameter matching one of ``options`` (SCPI patterns, quotes allowed).

    Returns the option's short form: ``choice(['"volt:dc"'], ["VOLTage[:DC]"])`` -> ``VOLT``.
    """
    if len(args) <= index or not args[index].strip():
        raise ScpiError(-109, "Missing parameter")
    parts = args[index].strip().strip('"').upper().split(":")
    for option in options:
        nodes = compile_pattern(option)
        if _match(nodes, parts):
            return ":".join(n.short for n in nodes if not n.optional)
    raise ScpiError(-224, "Illegal parameter value")


def scpi_float(value: float, digits: int = 8) -> str:
    """``+1.23456789E-03``; infinite or overload values become ``+9.9E37``."""
    if not math.isfinite(value) or abs(value) >= OVERLOAD:
        value = math.copysign(OVERLOAD, value if not math.isnan(value) else 1.0)
    return f"{value:+.{digits}E}"


class SimInstrument:
    """One simulated instrument: commands registered by SCPI pattern, thread-safe ``respond``."""

    IDN = "Ionto,SIMULATED,0,0"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._commands: list[tuple[tuple[_Node, ...], bool, Handler, int]] = []
        self._errors: deque[tuple[int, str]] = deque()
        self._fault = "none"
        self._fault_error = DEFAULT_FAULT_ERROR
        #: Lines seen (for tests: what did the driver send?).
        self.log: deque[str] = deque(maxlen=200)
        self.add("*IDN", lambda a: self.IDN, query=True)
        self.add("*CLS", lambda a: self._errors.clear(), max_args=0)
        self.add("*RST", lambda a: self.reset(), max_args=0)
        self.add("*OPC", lambda a: "1", query=True)
        self.add("*OPC", lambda a: None, max_args=0)
        self._error_query = compile_pattern("SYSTem:ERRor[:NEXT]")
        self.add("SYSTem:ERRor[:NEXT]", lambda a: self._next_error(), query=True)

    # --- registration ---------------------------------------------------------

    def add(self, pattern: str, handler: Handler, *, query: bool = False, max_args: int | None = None) -> None:
        """Register ``handler`` for ``pattern`` (``query=True`` for the ``?`` form)."""
        limit = max_args if max_args is not None else (0 if query else 1)
        self._commands.append((compile_pattern(pattern), query, handler, limit))

    def reset(self) -> None:
        """``*RST``: subclasses restore their settings."""

    # --- faults ---------------------------------------------------------------

    @property
    def fault(self) -> str:
        return self._fault

    def set_fault(self, fault: str, code: int | None = None, text: str | None = None) -> None:
        """``none``, ``hang``, ``garbage`` or ``error`` (optionally with the error to queue)."""
        fault = fault.strip().lower()
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)}")
        with self._lock:
            self._fault = fault
            if code is not None:
                self._fault_error = (int(code), text or "Simulated error")

    def push_error(self, code: int, text: str) -> None:
        """Queue one error, as if the instrument had found a problem by itself."""
        with self._lock:
            self._queue_error(code, text)

    # --- the wire ---------------------------------------------------------------

    def respond(self, line: str) -> bytes | None:
        """Handle one received line; the bytes to send back (without terminator) or ``None``."""
        with self._lock:
            self.log.append(line)
            if self._fault == "hang":
                return None
            replies = [r for r in (self._execute(cmd) for cmd in line.split(";")) if r is not None]
            if self._fault == "error" and not self._only_error_queries(line):
                self._queue_error(*self._fault_error)
            if not replies:
                return None
            if self._fault == "garbage":
                return GARBAGE
            return ";".join(replies).encode("ascii")

    def _only_error_queries(self, line: str) -> bool:
        """True if ``line`` only reads the error queue (the ``error`` fault must let the host drain it)."""
        headers = [c.strip().split(" ")[0] for c in line.split(";") if c.strip()]
        return all(h.endswith("?") and _match(self._error_query, h[:-1].lstrip(":").upper().split(":"))
                   for h in headers)

    def _execute(self, command: str) -> str | None:
        command = command.strip()
        if not command:
            return None
        header, _, params = command.partition(" ")
        is_query = header.endswith("?")
        parts = header.rstrip("?").lstrip(":").upper().split(":")
        args = [p.strip() for p in params.split(",")] if params.strip() else []
        for nodes, query, handler, max_args in self._commands:
            if query == is_query and _match(nodes, parts):
                try:
                    if len(args) > max_args:
                        raise ScpiError(-108, "Parameter not allowed")
                    reply = handler(args)
                except ScpiError as exc:
                    self._queue_error(exc.code, exc.text)
                    return None
                return reply if is_query else None
        exc = undefined_header()
        self._queue_error(exc.code, exc.text)
        return None

    def _queue_error(self, code: int, text: str) -> None:
        if len(self._errors) >= ERROR_QUEUE_SIZE:
            self._errors[-1] = (-350, "Queue overflow")
        else:
            self._errors.append((code, text))

    def _next_error(self) -> str:
        code, text = self._errors.popleft() if self._errors else (0, "No error")
        return f'{code:+d},"{text}"'
