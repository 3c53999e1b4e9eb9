"""The calibration wizard's disk and records work, off the GUI thread.

Qt-free. WHY: keeping a finished result in the records opens a database
connection (a clinic's server may be slow or down), and the certificate is
a PDF written to disk; the old wizard did both on the GUI thread, the record
from inside a page's refresh. Here both run on one worker thread and answer
with a line the wizard shows; the wizard drains the answers on its own thread
(``ui/background_pump``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..core.calibration import CalibrationResult
from .background import Worker

#: Keeps a result in the records and returns the line to show ("Stored in the clinic's records on 2026-11-30").
Store = Callable[[CalibrationResult], str]


class CalibrationArchive:
    """``keep`` a finished result (once per result) and ``write_certificate``, both on the worker."""

    def __init__(self, store: Store | None, worker: Worker | None = None,
                 audit_head: Callable[[], str] | None = None) -> None:
        """``audit_head`` gives the records' audit head, printed in the certificate's footer when the
        result was kept (asked on the worker, after the store: the head then covers the result)."""
        self._store = store
        self._audit_head = audit_head
        self._kept: list[CalibrationResult] = []  # held, so identity stays unique
        self.worker = worker or Worker("calibration-archive")

    @property
    def stores(self) -> bool:
        """Results are kept in the records (a records location was given)."""
        return self._store is not None

    def keep(self, result: CalibrationResult, on_done: Callable[[str], None]) -> bool:
        """Store ``result`` unless this very result was already asked for (records append, never duplicate).

        ``on_done(line)`` gets the store's line, or why it was not stored. False when nothing was asked."""
        store = self._store
        if store is None or any(kept is result for kept in self._kept):
            return False
        self._kept.append(result)
        self.worker.submit(lambda: store(result), lambda outcome: on_done(outcome.value or outcome.error),
                           describe=lambda exc: f"NOT stored in the records ({exc}): keep the JSON and PDF files.")
        return True

    def write_certificate(self, result: CalibrationResult, path: str | Path,
                          on_done: Callable[[str], None]) -> None:
        """The PDF certificate at ``path``; ``on_done("")`` when written, else the plain reason."""

        def job() -> None:
            from ..reports.calibration_certificate import write_certificate  # Qt's PDF writer: loaded on use

            kept = any(k is result for k in self._kept)
            head = self._audit_head() if kept and self._audit_head is not None else ""
            write_certificate(result, Path(path), audit_head=head)

        self.worker.submit(job, lambda outcome: on_done(outcome.error),
                           describe=lambda exc: str(exc) if isinstance(exc, OSError) else
                           f"unexpected error ({type(exc).__name__}: {exc})")

    def close(self) -> None:
        self.worker.shutdown()
