"""Why a calibration run stopped, in plain words (for Ravi, the service engineer, and the record).

WHY one module: every failure (instrument, board, fault, cancel) ends the run
the same way, with one sentence in the result; keeping the wording together
keeps those sentences consistent and testable without a bench.
"""

from __future__ import annotations

from ...core.samples import BoardFault
from ...drivers.bench import BenchError, InstrumentError, InstrumentGarbage, InstrumentOverload, InstrumentTimeout
from ...drivers.board import messages as m
from ...drivers.board.errors import BoardDisconnected, BoardError, BoardNakError, ReplyTimeout, command_name, nak_name


class RunAborted(Exception):
    """The run cannot go on; ``str()`` is the reason in plain words."""


def describe_fault(fault: m.Fault) -> str:
    """The fault in core's words (``BoardFault.describe``: the same name the treatment screen shows)."""
    return f"the board latched fault {BoardFault.describe(fault.code)} (measured {fault.detail} µA) and cut its output"


def describe_instrument_failure(role: str, doing: str, exc: BenchError) -> str:
    """One line for Ravi: which instrument, what happened, while doing what."""
    if isinstance(exc, InstrumentTimeout):
        what = "stopped answering"
    elif isinstance(exc, InstrumentGarbage):
        what = "answered something unreadable"
    elif isinstance(exc, InstrumentOverload):
        what = "read over range"
    elif isinstance(exc, InstrumentError):
        what = "reported an error"
    else:
        what = "could not be reached"
    return f"the {role} {what} while {doing} ({exc})"


def describe_board_failure(doing: str, command: int, exc: BoardError) -> str:
    if isinstance(exc, BoardNakError):
        return f"the board refused {command_name(command)} ({nak_name(exc.error)}) while {doing}"
    if isinstance(exc, ReplyTimeout):
        return f"the board did not answer {command_name(command)} while {doing} ({exc})"
    if isinstance(exc, BoardDisconnected):
        return f"the board disconnected while {doing} ({exc})"
    return f"the board failed while {doing} ({exc})"


def sentence(text: str) -> str:
    """``text`` as a sentence: capital first letter, full stop at the end."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."
