"""Records browser: find sessions, read one, replay its plots, export it, check the audit trail.

WHY every action is a method taking a path (``export_pdf(path)`` ...): the
buttons only ask for a file name (QFileDialog) and call them, so tests and
the lead's menus use the same code without a dialog.

WHY errors become a line of text in the widget and never an exception: the
clinic manager reads "The records database file is damaged ..." and carries
on; nothing reaches the Qt event loop (a RecordsError, a damaged sample
chunk, a full disk while exporting). Widget code holds no record logic:
queries, exports, billing and the audit check live in ``records``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pyqtgraph as pg
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.exc import SQLAlchemyError

from ..control.telemetry_buffer import TelemetryView
from ..records import (
    FINAL_STATES,
    Database,
    PatientCourses,
    RecordsError,
    RecordsUnavailable,
    SampleSeries,
    SessionListItem,
    SessionSummary,
    billing_csv,
    billing_summary,
    course_view,
    events_csv,
    load_events,
    load_samples,
    load_session,
    open_database,
    search_sessions,
    sqlite_url,
    verify_audit,
    write_samples_csv,
)
from ..records.errors import plain_message
from ..records.queries import EventInfo
from ..reports.treatment_report import clock, dose_text, outcome_text, overrides_lines, when, write_treatment_report
from .live_plots import LivePlots

log = logging.getLogger(__name__)

ANY = "any"
#: Side-effect kinds as the treatment screen records them (core.session.SideEffect values).
SIDE_EFFECTS = ("nausea", "headache", "dizziness", "increased_pain", "burning_tingling", "skin_redness", "other")
COLUMNS = ("Date", "Patient", "Protocol", "Outcome", "Dose (mA·min)", "Side effects")
#: QDateEdit cannot be empty: its minimum date shows as "any" (no bound).
NO_DATE = QDate(2000, 1, 1)
ERROR_STYLE = "color: #b71c1c; font-weight: bold;"
OK_STYLE = "color: #1b5e20;"
SIDE_EFFECT_PEN = pg.mkPen("#c62828", width=2, style=Qt.PenStyle.DashLine)
ALARM_PEN = pg.mkPen("#6a1b9a", width=2, style=Qt.PenStyle.DotLine)
_REPLAY_GENERATION_BASE = -1_000_000  # replay views never share a generation with a live TelemetryBuffer


def telemetry_view(series: SampleSeries, generation: int) -> TelemetryView:
    """The stored samples as the live plots' history view (no copy of the arrays)."""
    return TelemetryView(series.t, series.current_ma, series.voltage_v, series.target_ma, series.impedance_kohm,
                         generation)


def _words(kind: str) -> str:
    return kind.replace("_", " ")


def summary_html(summary: SessionSummary) -> str:
    """The session as the therapist reads it (plain HTML for a QTextBrowser)."""
    e = html.escape
    cal = summary.calibration
    rows = [
        ("Patient", f"{summary.patient.name} ({summary.patient.identifier})"),
        ("Protocol", summary.protocol_name),
        ("Outcome", outcome_text({"state": summary.state, "reason": summary.reason})),
        ("Dose", dose_text({"delivered_ma_min": summary.dose_delivered_ma_min,
                            "target_ma_min": summary.dose_target_ma_min,
                            "percent": (100 * summary.dose_delivered_ma_min / summary.dose_target_ma_min
                                        if summary.dose_target_ma_min else None)})),
        ("Started", when(summary.started_at, seconds=True)),
        ("Ended", when(summary.ended_at, seconds=True)),
        ("Operator", summary.operator),
        ("Station", summary.station or "—"),
        ("Board", f"{summary.board_serial or '—'}; calibration gain {cal.gain:.4f}, offset {cal.offset_ua:+.1f} µA, "
                  f"dated {when(cal.date)}"),
        ("Samples", f"{summary.sample_count:,}"),
    ]
    parts = ["<table cellspacing='2'>"]
    parts += [f"<tr><td><b>{e(k)}</b>&nbsp;&nbsp;</td><td>{e(v)}</td></tr>" for k, v in rows]
    parts.append("</table>")

    def section(title: str, lines: Sequence[str], empty: str) -> None:
        parts.append(f"<p><b>{e(title)}</b></p>")
        if lines:
            parts.append("<ul style='margin-top:0'>" + "".join(f"<li>{e(x)}</li>" for x in lines) + "</ul>")
        else:
            parts.append(f"<p style='color:#555'>{e(empty)}</p>")

    section("Side effects", [f"{clock(s.at, summary.started_at)}  {_words(s.kind)}" + (f" — {s.note}" if s.note else "")
                             for s in summary.side_effects], "None reported.")
    section("Checklist overrides", overrides_lines(summary.overrides), "None.")
    section("Notes", [f"{clock(n.at, summary.started_at)}  {n.author}: {n.text}"
                      + (f" (amends an earlier note: {n.why})" if n.amends_id is not None else "")
                      for n in summary.current_notes], "None.")
    section("Signatures", [f"{g.name} — {g.meaning} — {when(g.at)}" for g in summary.signatures], "Not signed yet.")
    if summary.amendments:
        section("Corrections", [f"{a.field} → {a.value} by {a.who} ({a.why}), {when(a.at)}"
                                for a in summary.amendments], "")
    return "".join(parts)


def course_html(courses: PatientCourses, session_id: int) -> str:
    """The patient's courses, the selected session in bold, warnings in red."""
    e = html.escape
    parts = []
    for course in courses.courses:
        parts.append(f"<p><b>Course {e(course.name)}</b></p><ul style='margin-top:0'>")
        for entry in course.entries:
            interval = "" if entry.interval_days is None else f", {entry.interval_days} day(s) after the previous"
            line = (f"{entry.label}: {when(entry.started_at)}{interval} — {entry.state}, "
                    f"{entry.dose_delivered_ma_min:.1f} mA·min")
            parts.append(f"<li><b>{e(line)} ◀ this session</b></li>" if entry.session_id == session_id
                         else f"<li>{e(line)}</li>")
        parts.append("</ul>")
    if courses.warnings:
        parts.append("<p><b>Schedule warnings</b></p><ul style='margin-top:0'>")
        parts += [f"<li style='color:#b71c1c'>{e(w.message)}</li>" for w in courses.warnings]
        parts.append("</ul>")
    else:
        parts.append("<p style='color:#555'>No schedule warnings.</p>")
    return "".join(parts)


def course_position(courses: PatientCourses, session_id: int) -> str:
    """'Session 3 of 6' for the given session ('' when it is not in any course)."""
    for course in courses.courses:
        for entry in course.entries:
            if entry.session_id == session_id:
                return entry.label
    return ""


class RecordsBrowser(QWidget):
    """Search, read, replay and export recorded sessions.

    ``db`` may be None (no database yet): the widget says so, and ``open_path``
    opens one. ``message_shown`` carries every plain message shown (for a status bar).
    """

    message_shown = Signal(str)

    def __init__(self, db: Database | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._items: list[SessionListItem] = []
        self._summary: SessionSummary | None = None
        self._courses: PatientCourses | None = None
        self._replays = 0
        self._markers: list[pg.InfiniteLine] = []
        self._build()
        if db is None:
            self._show("No records database is open.", error=True)
        else:
            self.run_search()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        """Search again each time the tab comes to the front, so sessions recorded meanwhile are listed;
        the session being read stays selected."""
        super().showEvent(event)
        if self._db is None or event.spontaneous():
            return
        selected = self.selected_session_id
        self.run_search()
        rows = [row for row, item in enumerate(self._items) if item.id == selected]
        if rows:
            self.select_row(rows[0])

    # --- construction -------------------------------------------------------------------

    def _build(self) -> None:
        self.patient_edit = QLineEdit(placeholderText="name or ID")
        self.protocol_edit = QLineEdit(placeholderText="protocol name or id")
        self.date_from = self._date_edit()
        self.date_to = self._date_edit()
        self.outcome_combo = QComboBox()
        self.outcome_combo.addItems([ANY, *FINAL_STATES])
        self.side_effect_combo = QComboBox()
        self.side_effect_combo.addItems([ANY, *SIDE_EFFECTS])
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.run_search)
        for edit in (self.patient_edit, self.protocol_edit):
            edit.returnPressed.connect(self.run_search)

        search = QGridLayout()
        fields = (("Patient", self.patient_edit), ("From", self.date_from), ("To", self.date_to),
                  ("Protocol", self.protocol_edit), ("Outcome", self.outcome_combo),
                  ("Side effect", self.side_effect_combo))
        for i, (label, widget) in enumerate(fields):
            row, col = divmod(i, 3)
            search.addWidget(QLabel(label), row, 2 * col)
            search.addWidget(widget, row, 2 * col + 1)
        search.addWidget(self.search_button, 0, 6, 2, 1)
        search.setColumnStretch(1, 1)  # the text fields take the room; dates and lists keep their size

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Protocol"), QHeaderView.ResizeMode.Stretch)  # long names elide
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._on_selection)

        self.position_label = QLabel()
        self.position_label.setStyleSheet("font-weight: bold;")
        self.summary_view = QTextBrowser()
        self.course_view = QTextBrowser()
        self.details = QTabWidget()
        self.details.addTab(self.summary_view, "Summary")
        self.details.addTab(self.course_view, "Course")
        self.plots = LivePlots()

        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.position_label)
        top_layout.addWidget(self.details)
        right.addWidget(top)
        right.addWidget(self.plots)
        right.setSizes([300, 300])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([700, 600])

        self.csv_button = QPushButton("Export CSV…")
        self.pdf_button = QPushButton("Export PDF report…")
        self.fhir_button = QPushButton("Export FHIR JSON…")
        self.billing_month = QDateEdit(QDate.currentDate())
        self.billing_month.setDisplayFormat("yyyy-MM")
        self.billing_button = QPushButton("Billing CSV for the month…")
        self.audit_button = QPushButton("Verify audit trail")
        self.csv_button.clicked.connect(lambda: self._ask_path("Export samples CSV", "samples.csv", "CSV (*.csv)",
                                                               self.export_csv))
        self.pdf_button.clicked.connect(lambda: self._ask_path("Export PDF report", "report.pdf", "PDF (*.pdf)",
                                                               self.export_pdf))
        self.fhir_button.clicked.connect(lambda: self._ask_path("Export FHIR JSON", "fhir.json", "JSON (*.json)",
                                                                self.export_fhir))
        self.billing_button.clicked.connect(lambda: self._ask_path(
            "Billing CSV", f"billing-{self.billing_month.date().toString('yyyy-MM')}.csv", "CSV (*.csv)",
            lambda path: self.export_billing(path, self.billing_month.date().toPython())))
        self.audit_button.clicked.connect(self.verify_audit)
        buttons = QHBoxLayout()
        for widget in (self.csv_button, self.pdf_button, self.fhir_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("Month", self.billing_month)
        buttons.addLayout(form)
        buttons.addWidget(self.billing_button)
        buttons.addWidget(self.audit_button)

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(search)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        self._update_buttons()

    @staticmethod
    def _date_edit() -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(NO_DATE)
        edit.setSpecialValueText(ANY)
        edit.setDate(NO_DATE)
        return edit

    # --- messages and guarded actions ---------------------------------------------------------

    def message(self) -> str:
        """The last message shown (plain words)."""
        return self.message_label.text()

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
        self.message_label.setText(text)
        self.message_shown.emit(text)

    @contextlib.contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """Turn any failure of ``doing`` into a plain message (nothing reaches the event loop)."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            yield
        except RecordsError as exc:
            self._show(f"Could not {doing}: {exc}", error=True)
        except (SQLAlchemyError, OSError) as exc:
            self._show(f"Could not {doing}: {plain_message(exc)}", error=True)
        except ValueError as exc:  # a damaged sample chunk, an unreadable stored value
            self._show(f"Could not {doing}: the record looks damaged ({exc}).", error=True)
        except Exception as exc:  # last resort: log it for the engineers, tell the user in one line
            log.exception("records browser: %s failed", doing)
            self._show(f"Could not {doing}: unexpected error ({type(exc).__name__}: {exc}).", error=True)
        finally:
            QGuiApplication.restoreOverrideCursor()

    def _need_db(self) -> Database:
        if self._db is None:
            raise RecordsUnavailable("no records database is open.")
        return self._db

    def _need_session(self) -> SessionSummary:
        if self._summary is None:
            raise RecordsError("select a session first.")
        return self._summary

    def _update_buttons(self) -> None:
        has_session = self._summary is not None
        for button in (self.csv_button, self.pdf_button, self.fhir_button):
            button.setEnabled(has_session)
        for widget in (self.billing_button, self.audit_button, self.search_button):
            widget.setEnabled(self._db is not None)

    # --- database -----------------------------------------------------------------------

    @property
    def database(self) -> Database | None:
        return self._db

    def set_database(self, db: Database | None) -> None:
        """Browse another database (None: none open). The caller owns and closes it."""
        self._db = db
        self._clear_selection()
        self._items = []
        self.table.setRowCount(0)
        self._update_buttons()
        if db is not None:
            self.run_search()

    def open_path(self, path: str | Path) -> bool:
        """Open the SQLite records file at ``path``; on failure say why and keep the current one."""
        path = Path(path)
        if not path.is_file():
            self._show(f"Could not open the records file: {path} does not exist.", error=True)
            return False
        with self._guard(f"open the records file {path}"):
            self.set_database(open_database(sqlite_url(path)))
            self._show(f"Opened {path}.")
            return True
        return False

    # --- search ------------------------------------------------------------------------

    def criteria(self) -> dict[str, Any]:
        """The search fields as ``search_sessions`` keyword arguments (empty fields left out)."""
        found: dict[str, Any] = {}
        if self.patient_edit.text().strip():
            found["patient"] = self.patient_edit.text().strip()
        if self.protocol_edit.text().strip():
            found["protocol"] = self.protocol_edit.text().strip()
        for key, edit in (("date_from", self.date_from), ("date_to", self.date_to)):
            if edit.date() != NO_DATE:
                found[key] = edit.date().toPython()
        for key, combo in (("outcome", self.outcome_combo), ("side_effect", self.side_effect_combo)):
            if combo.currentText() != ANY:
                found[key] = combo.currentText()
        return found

    def set_criteria(self, *, patient: str = "", protocol: str = "", date_from: dt.date | None = None,
                     date_to: dt.date | None = None, outcome: str = ANY, side_effect: str = ANY) -> None:
        """Fill the search fields (what a user types); ``run_search`` then applies them."""
        self.patient_edit.setText(patient)
        self.protocol_edit.setText(protocol)
        self.date_from.setDate(QDate(date_from) if date_from else NO_DATE)
        self.date_to.setDate(QDate(date_to) if date_to else NO_DATE)
        self.outcome_combo.setCurrentText(outcome)
        self.side_effect_combo.setCurrentText(side_effect)

    def run_search(self) -> list[SessionListItem]:
        """Search with the fields' criteria and list the results (newest first)."""
        with self._guard("search the records"):
            criteria = self.criteria()
            if "date_from" in criteria and "date_to" in criteria and criteria["date_from"] > criteria["date_to"]:
                self._show("The 'From' date is after the 'To' date: nothing can match.", error=True)
                self._fill([])
                return []
            items = search_sessions(self._need_db(), **criteria)
            self._fill(items)
            self._show(f"{len(items)} session(s) found." if items else "No session matches the search.")
            return items
        return []

    def results(self) -> list[SessionListItem]:
        return list(self._items)

    def _fill(self, items: list[SessionListItem]) -> None:
        self._clear_selection()
        self._items = items
        self.table.blockSignals(True)
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            cells = (item.started_at.astimezone().strftime("%Y-%m-%d %H:%M"), f"{item.patient_name} ({item.patient_identifier})", item.protocol_name,
                     item.state + (f": {item.reason}" if item.reason else ""),
                     f"{item.dose_delivered_ma_min:.1f} / {item.dose_target_ma_min:.1f}",
                     ", ".join(_words(k) for k in item.side_effects))
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setData(Qt.ItemDataRole.UserRole, item.id)
                self.table.setItem(row, col, cell)
        self.table.blockSignals(False)

    # --- one session -------------------------------------------------------------------

    @property
    def selected_session_id(self) -> int | None:
        return None if self._summary is None else self._summary.id

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)  # -> _on_selection -> show_session

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.show_session(self._items[rows[0].row()].id)

    def _clear_selection(self) -> None:
        self._summary = None
        self._courses = None
        self.summary_view.clear()
        self.course_view.clear()
        self.position_label.clear()
        self.plots.clear()
        self._clear_markers()
        self._update_buttons()

    def show_session(self, session_id: int) -> bool:
        """Show one session's summary, course position and plots; False (with a message) if it cannot."""
        self._clear_selection()
        with self._guard(f"open session {session_id}"):
            db = self._need_db()
            summary = load_session(db, session_id)
            self._summary = summary
            self._update_buttons()
            self.summary_view.setHtml(summary_html(summary))
            courses = course_view(db, summary.patient.id)
            self._courses = courses
            self.course_view.setHtml(course_html(courses, session_id))
            position = course_position(courses, session_id)
            mine = [w.message for w in courses.warnings if w.session_id == session_id]
            self.position_label.setText(
                f"{summary.patient.name} — {position or 'session'} of course {summary.course}"
                + (f" — ⚠ {mine[0]}" if mine else ""))
            self.position_label.setStyleSheet("font-weight: bold;" + (" color: #b71c1c;" if mine else ""))
        if self._summary is None:
            return False
        self.replay()
        return True

    def replay(self) -> bool:
        """Draw the selected session's recorded samples in the plots.

        Apart from ``show_session`` so damaged samples still leave the summary readable."""
        self.plots.clear()
        self._clear_markers()
        with self._guard("replay the samples (the summary above is still valid)"):
            summary = self._need_session()
            series = load_samples(self._need_db(), summary.id)
            self._replays += 1
            self.plots.show_history(telemetry_view(series, _REPLAY_GENERATION_BASE - self._replays))
            self._mark_events(summary, load_events(self._need_db(), summary.id, alarms_only=True))
            self._show(f"Session of {when(summary.started_at)}: {len(series):,} samples.")
            return True
        return False

    def _mark_events(self, summary: SessionSummary, alarms: Sequence[EventInfo]) -> None:
        """Side effects (red) and alarms (purple) as labelled vertical lines on the current plot."""
        marks = [((e.at - summary.started_at).total_seconds(), _words(e.kind), SIDE_EFFECT_PEN)
                 for e in summary.side_effects]
        marks += [(a.t if a.t is not None else (a.at - summary.started_at).total_seconds(),
                   _words(a.kind.removeprefix("trip:")), ALARM_PEN) for a in alarms]
        for t_s, label, pen in marks:
            line = pg.InfiniteLine(pos=t_s, angle=90, pen=pen, movable=False, label=label,
                                   labelOpts={"position": 0.97, "color": pen.color(), "rotateAxis": (1, 0),
                                              "anchors": [(1, 0), (1, 0)]})  # along the line, as live
            self.plots.current_plot.addItem(line)
            self._markers.append(line)

    def _clear_markers(self) -> None:
        for line in self._markers:
            self.plots.current_plot.removeItem(line)
        self._markers = []

    def markers(self) -> list[tuple[float, str]]:
        """(time in s, label) of the markers drawn on the replay."""
        return [(float(line.value()), line.label.format) for line in self._markers]

    # --- exports ---------------------------------------------------------------------

    def _ask_path(self, title: str, default_name: str, filter_: str, action: Callable[[str], Any]) -> None:
        path, _ = QFileDialog.getSaveFileName(self, title, default_name, filter_)
        if path:
            action(path)

    def _default_stem(self, summary: SessionSummary) -> str:
        return f"{summary.patient.identifier}-{summary.started_at.astimezone():%Y%m%d-%H%M}"

    def export_csv(self, path: str | Path) -> tuple[Path, Path] | None:
        """Samples to ``path`` and events beside it (``<name>-events.csv``); returns both paths."""
        path = Path(path)
        events_path = path.with_name(f"{path.stem}-events.csv")
        with self._guard("export the CSV files"):
            summary = self._need_session()
            db = self._need_db()
            rows = write_samples_csv(db, summary.id, path)
            events_path.write_text(events_csv(db, summary.id), encoding="utf-8")
            self._show(f"Saved {rows:,} samples to {path} and the events to {events_path.name}.")
            return path, events_path
        return None

    def export_pdf(self, path: str | Path) -> Path | None:
        with self._guard("export the PDF report"):
            summary = self._need_session()
            written = write_treatment_report(self._need_db(), summary.id, path)
            self._show(f"Saved the report to {written}.")
            return written
        return None

    def export_fhir(self, path: str | Path) -> Path | None:
        path = Path(path)
        with self._guard("export the FHIR bundle"):
            summary = self._need_session()
            from ..records import fhir_bundle_json  # loads fhir.resources (~0.3 s) only when exporting

            path.write_text(fhir_bundle_json(self._need_db(), summary.id), encoding="utf-8")
            self._show(f"Saved the FHIR bundle to {path}.")
            return path
        return None

    def export_billing(self, path: str | Path, month: dt.date) -> Path | None:
        """Billing CSV (CPT 97033 units) of every closed session in ``month``'s calendar month."""
        path = Path(path)
        first = month.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        with self._guard("export the billing CSV"):
            lines = billing_summary(self._need_db(), first, last)
            path.write_text(billing_csv(lines), encoding="utf-8")
            units = sum(line.units for line in lines)
            flagged = sum(1 for line in lines if line.coverage.flagged)
            self._show(f"Saved billing for {first:%B %Y} to {path}: {len(lines)} session(s), {units} unit(s)"
                       + (f", {flagged} flagged for coverage review." if flagged else "."))
            return path
        return None

    def verify_audit(self) -> str:
        """Check the audit chain and say the verdict in plain words (also returned)."""
        with self._guard("verify the audit trail"):
            verdict = verify_audit(self._need_db())
            if verdict.ok:
                text = f"Audit trail intact: {verdict.entries:,} entries, none changed or removed."
            else:
                text = (f"Audit trail BROKEN at {verdict.reason}. Records may have been changed outside "
                        "the console: keep this database as evidence and call the administrator.")
            self._show(text, error=not verdict.ok)
            return text
        return self.message()
