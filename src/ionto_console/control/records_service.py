"""The Records tab's work, off the GUI thread: search, one session, exports, the audit check.

Qt-free. Each public method submits a job to the service's ``Worker`` (one
thread) and returns at once; the result comes back as an ``Outcome`` holding
a plain view model (``records_views``) or a plain sentence, delivered on the
GUI thread by the tab's ``BackgroundPump``. WHY: a search over a clinic's
PostgreSQL server, a 20-minute session's samples or a PDF report take long
enough to freeze the treatment station's screen.

The database handle lives here, touched only by jobs on the worker thread.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from pathlib import Path
from typing import Any, Callable

import platformdirs
from sqlalchemy.exc import SQLAlchemyError

from ..records import (
    Database,
    RecordsError,
    RecordsUnavailable,
    SampleSeries,
    load_events,
    load_samples,
    load_session,
    open_database,
    search_sessions,
    sqlite_url,
    verify_audit,
)
from ..records.course import courses_of_session
from ..records.errors import plain_message
from ..reports.treatment_report import when
from . import exporters as registry
from .background import Outcome, Worker
from .exporters import ExportResult, ExportTarget
from .records_views import (
    AuditView,
    SearchCriteria,
    SearchResult,
    SessionView,
    course_html,
    markers,
    position_line,
    session_row,
    summary_html,
)
from .telemetry_buffer import TelemetryView, envelope_of

log = logging.getLogger(__name__)

_REPLAY_GENERATION_BASE = -1_000_000  # replay views never share a generation with a live TelemetryBuffer

Done = Callable[[Outcome[Any]], None]


def failure_text(doing: str, exc: BaseException) -> str:
    """``Could not <doing>: <why in plain words>`` for any failure of a records job."""
    if isinstance(exc, RecordsError):
        why = str(exc)
    elif isinstance(exc, (SQLAlchemyError, OSError)):
        why = plain_message(exc)
    elif isinstance(exc, ValueError):  # a damaged sample chunk, an unreadable stored value
        why = f"the record looks damaged ({exc})."
    else:  # last resort: logged for the engineers, one line for the user
        log.error("records job failed: %s", doing, exc_info=exc)
        why = f"unexpected error ({type(exc).__name__}: {exc})."
    return f"Could not {doing}: {why}"


def telemetry_view(series: SampleSeries, generation: int) -> TelemetryView:
    """The stored samples as the live plots' history view (no copy of the arrays), with their
    min/max envelope reduced here on the worker, not on the GUI thread when first drawn."""
    return TelemetryView(series.t, series.current_ma, series.voltage_v, series.target_ma, series.impedance_kohm,
                         generation, envelope=envelope_of(series.t, series.current_ma, series.target_ma,
                                                          series.impedance_kohm))


class RecordsService:
    """Records queries and exports for the Records tab, run on one worker thread.

    ``db`` None: no database open yet (``open_path`` opens one). The caller owns
    a ``db`` it passes in; one opened by ``open_path`` is closed by ``close``.
    ``export_folder``: the clinic's folder for exported files (``Settings.export_dir``), if configured."""

    def __init__(self, db: Database | None, worker: Worker | None = None, *,
                 export_folder: str | Path | None = None) -> None:
        self._db = db
        self._opened: list[Database] = []
        self._replays = itertools.count(1)
        self.worker = worker or Worker("records")
        self.export_folder = Path(export_folder).expanduser() if export_folder else None
        #: The folder of the last export asked for in this session (None before the first).
        self.last_folder: Path | None = None

    # --- state --------------------------------------------------------------------------

    @property
    def has_database(self) -> bool:
        return self._db is not None

    @property
    def database(self) -> Database | None:
        """The database browsed (for the composition root and tests; the tab never uses it)."""
        return self._db

    def _need_db(self) -> Database:
        if self._db is None:
            raise RecordsUnavailable("no records database is open.")
        return self._db

    def _submit(self, doing: str, job: Callable[[], Any], on_done: Done) -> None:
        self.worker.submit(job, on_done, describe=lambda exc: failure_text(doing, exc))

    # --- where exports go ----------------------------------------------------------------

    def suggested_path(self, file_name: str) -> Path:
        """Where the save dialog proposes ``file_name``: the folder of the last export of this session,
        else the clinic's export folder (when configured and present), else the user's Documents folder,
        else the home folder.

        WHY: the dialog opened in the folder the console was started from (the source checkout, new-user
        pass), where a patient's report must never land. Only folders that exist are proposed: one stat
        each, on the GUI thread like the dialog's own listing of that folder."""
        documents = Path(platformdirs.user_documents_dir())
        for folder in (self.last_folder, self.export_folder, documents, Path.home()):
            if folder is not None and folder.is_dir():
                return folder / file_name
        return Path.home() / file_name

    # --- jobs ----------------------------------------------------------------------------

    def open_path(self, path: str | Path, on_done: Done) -> None:
        """Browse the SQLite records file at ``path``; on failure the current database stays."""
        path = Path(path)

        def job() -> str:
            if not path.is_file():
                raise RecordsUnavailable(f"{path} does not exist.")
            db = open_database(sqlite_url(path))
            self._db = db
            self._opened.append(db)
            return f"Opened {path}."

        self._submit(f"open the records file {path}", job, on_done)

    def search(self, criteria: SearchCriteria, on_done: Done) -> None:
        """Sessions matching ``criteria``, newest first -> ``SearchResult``."""

        def job() -> SearchResult:
            if criteria.date_from and criteria.date_to and criteria.date_from > criteria.date_to:
                return SearchResult((), "The 'From' date is after the 'To' date: nothing can match.", error=True)
            rows = tuple(session_row(item) for item in search_sessions(self._need_db(), **criteria.as_kwargs()))
            return SearchResult(rows, f"{len(rows)} {'session' if len(rows) == 1 else 'sessions'} found." if rows else "No session matches the search.")

        self._submit("search the records", job, on_done)

    def open_session(self, session_id: int, on_done: Done) -> None:
        """One session's summary, course, samples and markers -> ``SessionView``.

        Damaged samples leave the summary readable (``replay_error`` says why)."""

        def job() -> SessionView:
            db = self._need_db()
            summary = load_session(db, session_id)
            courses = courses_of_session(db, summary.patient.id, summary.simulated)
            position, warning = position_line(summary, courses)
            view = SessionView(summary.id, summary.patient.identifier, summary.started_at, summary_html(summary),
                               course_html(courses, session_id), position, warning)
            try:
                series = load_samples(db, summary.id)
                alarms = load_events(db, summary.id, alarms_only=True)
            except Exception as exc:
                return dataclasses.replace(view, replay_error=failure_text(
                    "replay the samples (the summary above is still valid)", exc))
            generation = _REPLAY_GENERATION_BASE - next(self._replays)
            return dataclasses.replace(view, samples=telemetry_view(series, generation), markers=markers(summary, alarms),
                            replay_message=f"Session of {when(summary.started_at)}: {len(series):,} samples.")

        self._submit(f"open session {session_id}", job, on_done)

    def export(self, key: str, target: ExportTarget, path: str | Path, on_done: Done) -> None:
        """Write the export ``key`` (a registered format) of ``target`` to ``path`` -> ``ExportResult``."""
        exporter = registry.exporter(key)
        path = Path(path)
        self.last_folder = path.parent  # the next save dialog opens here (this session only)

        def job() -> ExportResult:
            refusal = exporter.check(target)
            if refusal:
                raise RecordsError(refusal)
            return exporter.write(self._need_db(), target, path)

        self._submit(exporter.doing, job, on_done)

    def verify_audit(self, on_done: Done) -> None:
        """The audit chain's verdict in plain words -> ``AuditView``."""

        def job() -> AuditView:
            verdict = verify_audit(self._need_db())
            if verdict.ok:
                return AuditView(True, f"Audit trail intact: {verdict.entries:,} entries and {verdict.records:,} "
                                       f"records, none changed or removed; head {verdict.head_short} "
                                       f"({verdict.anchor_note}).")
            more = len(verdict.problems) - 1
            return AuditView(False, f"Audit trail BROKEN: {verdict.reason}"
                                    + (f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else "")
                                    + ". Records were changed outside the console: keep this database and the "
                                    "station's data folder as evidence and call the administrator.")

        self._submit("verify the audit trail", job, on_done)

    def close(self) -> None:
        """Stop the worker and close the databases this service opened itself."""
        self.worker.shutdown()
        for db in self._opened:
            db.close()
        self._opened.clear()


