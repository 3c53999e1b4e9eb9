"""Exceptions raised by the board link, each with a message a therapist can read.

They carry the ICD codes as attributes so the treatment controller can act on
them (e.g. stop on ``FAULT_ACTIVE``) while the GUI shows ``str(exc)`` as is.
"""

from __future__ import annotations

from .messages import MsgType, NakError


def command_name(command: int) -> str:
    """ICD name of a message type, or its hex code when this revision lacks it."""
    try:
        return MsgType(command).name
    except ValueError:
        return f"command {command:#04x}"


def nak_name(error: int) -> str:
    """ICD name of a NAK error code, or its number when this revision lacks it."""
    try:
        return NakError(error).name
    except ValueError:
        return f"error {error}"


class BoardError(Exception):
    """Base of everything the board link raises on purpose."""


class BoardNakError(BoardError):
    """The board answered NAK: it understood the command and refused it."""

    def __init__(self, command: int, error: int) -> None:
        self.command = command
        self.error = error
        super().__init__(f"{command_name(command)} refused: {nak_name(error)}")


class ReplyTimeout(BoardError, TimeoutError):
    """No ACK/NAK/reply arrived in time (the ICD promises one within 20 ms)."""

    def __init__(self, command: int, timeout_s: float) -> None:
        self.command = command
        self.timeout_s = timeout_s
        super().__init__(f"no reply to {command_name(command)} within {timeout_s * 1000:.0f} ms")


class BoardDisconnected(BoardError, ConnectionError):
    """The port is not open (missing, unplugged, or the link was closed)."""
