"""The exporter interface: one class per file format, found by the Records tab through the registry.

WHY an interface: each format (samples CSV, PDF report, FHIR bundle,
billing CSV...) used to be its own button and method in the Records tab.
Now a format is one file in this package that subclasses ``Exporter`` and
calls ``register``; the tab offers whatever the registry holds. The export
itself runs on the records worker thread (``RecordsService.export``), never
on the GUI thread.
"""

from __future__ import annotations

import re

import datetime as dt
import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Scope(enum.Enum):
    """What an export covers: the selected session, or every session of a calendar month."""

    SESSION = "session"
    MONTH = "month"


@dataclass(frozen=True)
class ExportTarget:
    """What the Records tab has chosen (plain values, no database types)."""

    session_id: int | None = None
    patient_identifier: str = ""
    started_at: dt.datetime | None = None
    month: dt.date | None = None

    def stem(self) -> str:
        """A file name stem that says whose session and when: ``P-0001-20260504-1010``.

        The identifier is typed by people: only letters, digits, ``-``, ``_`` and ``.`` pass into the
        name (a ``/``, ``..`` or control character must not pick another folder or break the dialog)."""
        safe = re.sub(r"[^\w.-]+", "_", self.patient_identifier or "").strip("._") or "session"
        if self.started_at is None:
            return safe
        return f"{safe}-{self.started_at.astimezone():%Y%m%d-%H%M}"


@dataclass(frozen=True)
class ExportResult:
    """The files written and the sentence the tab shows."""

    paths: tuple[Path, ...]
    message: str


class Exporter(ABC):
    """One export format. Subclasses set the class attributes and implement ``default_name`` and ``write``."""

    #: Registry key, unique ("csv", "pdf", ...).
    key: str
    #: The button's text in the Records tab.
    label: str
    #: The save dialog's title and file-type filter.
    dialog_title: str
    file_filter: str
    #: What failed, in "Could not <doing>: ..." messages.
    doing: str
    scope: Scope = Scope.SESSION
    #: Buttons are shown in this order (then by key).
    order: int = 100

    @abstractmethod
    def default_name(self, target: ExportTarget) -> str:
        """The file name the save dialog proposes (pure: runs on the GUI thread)."""

    @abstractmethod
    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        """Write the export to ``path`` (runs on the records worker thread; may raise records errors or OSError)."""

    def check(self, target: ExportTarget) -> str:
        """Why this target cannot be exported ("" if it can); checked before any file is touched."""
        if self.scope is Scope.SESSION and target.session_id is None:
            return "select a session first."
        if self.scope is Scope.MONTH and target.month is None:
            return "choose a month first."
        return ""
