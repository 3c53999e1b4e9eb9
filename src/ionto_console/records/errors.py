"""Errors of the records layer, each with a message a therapist can act on.

WHY two types: ``RecordsUnavailable`` means "do not start a treatment" (the
console cannot promise to keep the record), ``RecordsWriteError`` means "a
running session could not be saved": the controller stops the treatment
safely and shows the message. Neither carries a stack trace to the screen.
"""

from __future__ import annotations


class RecordsError(Exception):
    """Base of every records error; ``str(error)`` is the plain message."""


class RecordsUnavailable(RecordsError):
    """The records database cannot be opened or used (missing, locked, damaged, unreachable)."""


class RecordsWriteError(RecordsError):
    """Samples or events of a running session could not be saved (disk full, database gone)."""


class RecordNotFound(RecordsError, LookupError):
    """A patient or session id that is not in the database."""


class InvalidRecord(RecordsError, ValueError):
    """Input refused before anything was written (wrong state name, empty signer...)."""


def plain_message(exc: BaseException) -> str:
    """Translate a driver/database error into words (WHY: the UI shows this line as is)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "disk is full" in text or "no space left" in text or "disk full" in text:
        return "The disk holding the records is full: the session cannot be saved."
    if "locked" in text or "busy" in text:
        return "The records database is locked by another program or station; try again or close the other program."
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "The records database file is damaged; restore it from a backup before treating."
    if "unable to open" in text or "readonly" in text or "read-only" in text or "permission" in text:
        return "The records database cannot be opened for writing (missing folder or no permission)."
    if "could not connect" in text or "connection" in text or "server closed" in text:
        return "The records server cannot be reached; check the network or the clinic database server."
    return f"The records database reported an error: {str(getattr(exc, 'orig', None) or exc).strip()}"
