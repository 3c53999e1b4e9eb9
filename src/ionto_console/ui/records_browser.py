"""Records browser: find sessions, read one, replay its plots, export it, check the audit trail.

WHY it only sends intents: every query, export and check runs in
``control.records_service`` on its worker thread and comes back as a plain
view model; this widget shows a busy state meanwhile and the answer after.
The GUI thread never waits on the database or the disk, and no records or
database type is imported here.

WHY every action is a method (``run_search()``, ``export(key, path)`` ...):
the buttons only ask for a file name (QFileDialog) and call them, so tests
and the lead's menus use the same code without a dialog.

WHY errors become a line of text and never an exception: the clinic manager
reads "Could not export the PDF report: The folder does not exist ..." and
carries on; the service words every failure, nothing reaches the Qt event loop.

WHY the export buttons come from ``control.exporters``: a new format is one
file there, offered here without an edit.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..control import exporters as export_registry
from ..control.background import Outcome
from ..control.exporters import ExportResult, ExportTarget, Scope
from ..control.records_service import RecordsService
from ..control.records_views import COLUMNS, AuditView, SearchCriteria, SearchResult, SessionRow, SessionView
from ..core.outcomes import STATE_WORDS
from .background_pump import BackgroundPump
from .beside_stop import ask_save_path
from .export_bar import ExportBar
from .live_plots import LivePlots
from .records_search import SearchFields

#: Starting width of the patient and protocol columns (they elide; the tooltip shows the whole name).
NAME_COLUMN_PX = 200
#: The session list never gets narrower than this (the splitter stops there).
TABLE_MIN_PX = 320
#: On a narrow list the names give way down to this, so the outcome column stays in view.
NAME_COLUMN_MIN_PX = 90
#: The share of a narrow list the outcome column may take (the rest of a long reason elides, tooltip whole).
OUTCOME_SHARE = 0.3
#: Every outcome as the list says it before its reason (``core.outcomes``: "Stopped", "Stopped by a safety
#: check" ...): the column is never narrower than the longest.
OUTCOME_WORDS = tuple(STATE_WORDS.values())
#: The session's summary and course never get narrower than this (they wrap and scroll instead).
DETAILS_MIN_PX = 180
#: Share of the width the list gets at first (the rest is the session's summary and plots).
LIST_SHARE = 0.55
#: The replay's height at which each of its two plots keeps a readable data area (about 40 px between
#: the axes, the lane that names the curves and the markers, and "Reset view"); below it the plots would
#: be squeezed to a line.
PLOTS_READABLE_PX = 220
#: The plots are never shorter than this (each data area about 25 px): on the smallest screens the page
#: scrolls a little further rather than show two flat lines.
PLOTS_MIN_PX = 185
#: Lines reserved for the selected session's line (patient, course, a corticosteroid warning) above the tabs.
POSITION_LINES = 4
#: The plots' tab beside "Summary" and "Course" when the session's side is too short for both.
PLOTS_TAB = "Plots"
ERROR_STYLE = "color: #b71c1c; font-weight: bold;"
OK_STYLE = "color: #1b5e20;"
BUSY_STYLE = "color: #555;"
MARKER_PENS = {"side_effect": pg.mkPen("#c62828", width=2, style=Qt.PenStyle.DashLine),
               "alarm": pg.mkPen("#6a1b9a", width=2, style=Qt.PenStyle.DotLine)}


class WrappedLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its width, without height-for-width.

    WHY: a word-wrapped QLabel gives its page height-for-width, and a scroll area then lays the
    page out at its *preferred* height (about 850 px on the Records tab), so the list and the
    export buttons were below the fold on a 768-pixel screen even when everything fitted. This
    label keeps the page's plain minimum size and raises its own minimum height as it wraps."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return False  # QLabel sets it in its size policy on every text change; the minimum height does its job

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """As tall as its lines at its width (QLabel's own guess wraps at about 80 characters)."""
        hint = super().sizeHint()
        return QSize(hint.width(), max(self.minimumHeight(), self.fontMetrics().height()))

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self._fit_height()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        need = self.heightForWidth(max(self.width(), 1)) if self.text() else 0
        if need != self.minimumHeight():
            self.setMinimumHeight(max(need, 0))


class RecordsBrowser(QWidget):
    """Search, read, replay and export recorded sessions through a ``RecordsService``.

    ``message_shown`` carries every plain message shown (for a status bar);
    ``busy_changed`` tells whether a job is outstanding."""

    message_shown = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, service: RecordsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self._pump = BackgroundPump(service.worker, self)
        self._pump.busy_changed.connect(self._on_busy)
        self._rows: list[SessionRow] = []
        self._view: SessionView | None = None
        self._search_seq = 0
        self._session_seq = 0
        self._reselect: int | None = None
        #: The last export's result (None until one succeeded).
        self.last_export: ExportResult | None = None
        #: The last audit verdict (None until checked).
        self.last_audit: AuditView | None = None
        self._build()
        if service.has_database:
            self.run_search()
        else:
            self._show("No records database is open.", error=True)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        """Search again each time the tab comes to the front, so sessions recorded meanwhile are listed;
        the session being read stays selected."""
        super().showEvent(event)
        if not self.service.has_database or event.spontaneous():
            return
        self.run_search(reselect=self.selected_session_id)

    # --- construction -------------------------------------------------------------------

    def _build(self) -> None:
        self.search_fields = SearchFields()
        self.search_fields.submitted.connect(lambda: self.run_search())
        self.search_button = self.search_fields.search_button

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # fixed, draggable widths for the names (elided, whole in the tooltip): one long name used to
        # push every other column out of view and the list down to 60 pixels
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for name in ("Patient", "Protocol", "Outcome"):
            header.setSectionResizeMode(COLUMNS.index(name), QHeaderView.ResizeMode.Interactive)
        for name in ("Patient", "Protocol"):
            header.resizeSection(COLUMNS.index(name), NAME_COLUMN_PX)
        header.setStretchLastSection(True)
        self.table.setMinimumWidth(TABLE_MIN_PX)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setWordWrap(False)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.viewport().installEventFilter(self)

        # wraps, at the height its lines need: a long name and course in one line made the session's side
        # as wide as the line, and the splitter took that width from the list (620 -> 400 px, the Protocol
        # column gone; new-user pass)
        self.position_label = WrappedLabel()
        self.position_label.setStyleSheet("font-weight: bold;")
        self.summary_view = QTextBrowser()
        self.course_view = QTextBrowser()
        self.details = QTabWidget()
        self.details.addTab(self.summary_view, "Summary")
        self.details.addTab(self.course_view, "Course")
        self.plots = LivePlots()
        self.plots.setMinimumHeight(PLOTS_MIN_PX)

        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.position_label)
        top_layout.addWidget(self.details)
        right.addWidget(top)
        right.addWidget(self.plots)
        right.setStretchFactor(0, 3)  # the summary is read first
        right.setStretchFactor(1, 2)
        right.setSizes([360, 240])
        self._session_side, self._session_top = right, top
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("records_split")
        split.setChildrenCollapsible(False)  # neither the list nor the session can be squeezed away
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([round(1000 * LIST_SHARE), round(1000 * (1 - LIST_SHARE))])
        self.split = split
        split.installEventFilter(self)  # its height decides where the plots go (``_place_plots``)
        for view in (self.summary_view, self.course_view):
            view.setMinimumWidth(DETAILS_MIN_PX)
            view.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)

        self.export_bar = ExportBar(export_registry.exporters())
        self.export_buttons = self.export_bar.buttons
        self.billing_month = self.export_bar.month
        for key, button in self.export_buttons.items():
            button.clicked.connect(lambda _checked=False, k=key: self._ask_path(k))
        self.audit_button = self.export_bar.audit_button
        self.audit_button.clicked.connect(self.verify_audit)

        self.busy_label = QLabel("Working…")
        self.busy_label.setStyleSheet(BUSY_STYLE)
        self.busy_label.setVisible(False)
        self.message_label = WrappedLabel()
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status = QHBoxLayout()
        status.addWidget(self.busy_label)
        status.addWidget(self.message_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)  # inside a tab: its frame is margin enough
        layout.addWidget(self.search_fields)
        layout.addWidget(split, 1)
        layout.addWidget(self.export_bar)
        layout.addLayout(status)
        self._update_buttons()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        elif watched is self.split and event.type() == QEvent.Type.Resize:
            self._place_plots()
        return super().eventFilter(watched, event)

    def plots_in_tab(self) -> bool:
        """The plots are the "Plots" tab beside the summary (a short screen), not under it."""
        return self.details.indexOf(self.plots) >= 0

    def _summary_need(self) -> int:
        """The height the summary's side needs above the plots: the tabs' minimum and the session's line
        with POSITION_LINES lines reserved, whether a session is selected or not. WHY reserved: the
        choice must not change when a session is selected (the line appears) with the split's height
        unchanged; measured from the line as it stood, the plots stayed under the summary at 1366x768
        with 125 % and were squeezed once the line had wrapped to four lines."""
        line = self.position_label.fontMetrics().lineSpacing() * POSITION_LINES
        spacing = self._session_top.layout().spacing()
        return max(self._session_top.minimumSizeHint().height(),
                   self.details.minimumSizeHint().height() + line + spacing)

    def _place_plots(self) -> None:
        """Under the summary when the session's side has room for the summary and readable plots; else a
        "Plots" tab beside "Summary" and "Course", as tall as the whole side.

        WHY: at 1366x768 with 125 % scaling the side is about 280 px tall; under the summary (which needs
        about 150) the plots got about 110 px, and with their axes, legend and "Reset view" both data areas
        were 0 px tall (new-user pass: "squeezed"). As a tab they get about 200 px. The choice only
        depends on the split's height, and the tab form needs less height than the other, so moving the
        plots never makes the page taller and cannot flip back and forth."""
        room = self.split.height()
        wanted_tab = room < self._summary_need() + PLOTS_READABLE_PX
        if wanted_tab == self.plots_in_tab():
            return
        if wanted_tab:
            self.details.addTab(self.plots, PLOTS_TAB)  # takes it out of the splitter
        else:
            self.details.removeTab(self.details.indexOf(self.plots))
            self._session_side.addWidget(self.plots)
            self.plots.setVisible(True)  # the tab widget had hidden it (not its current page)
            self._session_side.setSizes([max(room - PLOTS_READABLE_PX, 1), PLOTS_READABLE_PX])

    def _fit_columns(self) -> None:
        """Names and outcome share the list's width so the outcome stays in view and readable.

        WHY: at 1366x768 the list is about 500 px wide; the date and two 200-px names filled it and
        the outcome read "stoppe…" at the edge. The names give way first (down to
        ``NAME_COLUMN_MIN_PX``, elided, whole in the tooltip); the outcome gets its whole text or
        ``OUTCOME_SHARE`` of the list, never less than its longest word (a long reason elides, whole
        in the tooltip). A wide list keeps the names at ``NAME_COLUMN_PX``."""
        table, header = self.table, self.table.horizontalHeader()
        available = table.viewport().width()
        date = header.sectionSize(COLUMNS.index("Date"))
        outcome = COLUMNS.index("Outcome")
        padding = 2 * table.style().pixelMetric(table.style().PixelMetric.PM_FocusFrameHMargin) + 12
        shortest = max(table.fontMetrics().horizontalAdvance(word) for word in OUTCOME_WORDS) + padding
        need = max(table.sizeHintForColumn(outcome), header.sectionSizeHint(outcome), shortest)
        outcome_px = max(shortest, min(need, int(available * OUTCOME_SHARE)))
        names = max(NAME_COLUMN_MIN_PX, min(NAME_COLUMN_PX, (available - date - outcome_px) // 2))
        for name in ("Patient", "Protocol"):
            header.resizeSection(COLUMNS.index(name), names)
        header.resizeSection(outcome, max(outcome_px, min(need, available - date - 2 * names)))

    # --- state shown --------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A job is outstanding (its answer has not been shown yet)."""
        return self._pump.busy

    def _on_busy(self, busy: bool) -> None:
        self.busy_label.setVisible(busy)
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()
        self._update_buttons()
        self.busy_changed.emit(busy)

    def message(self) -> str:
        """The last message shown (plain words)."""
        return self.message_label.text()

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
        self.message_label.setText(text)
        self.message_shown.emit(text)

    def _update_buttons(self) -> None:
        """Exports need a session (or a month); nothing is asked twice while a job runs."""
        idle, has_db = not self.busy, self.service.has_database
        for key, button in self.export_buttons.items():
            needs_session = self.export_bar.formats[key].scope is Scope.SESSION
            button.setEnabled(idle and has_db and (self._view is not None or not needs_session))
        self.audit_button.setEnabled(idle and has_db)
        self.search_button.setEnabled(has_db)

    # --- database -----------------------------------------------------------------------

    def open_path(self, path: str | Path) -> None:
        """Browse the SQLite records file at ``path`` (on the worker); on failure the current one stays."""
        self.service.open_path(path, self._opened)

    def _opened(self, outcome: Outcome[str]) -> None:
        if not outcome.ok:
            self._show(outcome.error, error=True)
            return
        self._clear_session()
        self._rows = []
        self.table.setRowCount(0)
        self._update_buttons()
        self._show(outcome.value or "")
        self.run_search()

    # --- search ------------------------------------------------------------------------

    def criteria(self) -> SearchCriteria:
        return self.search_fields.criteria()

    def set_criteria(self, **fields: Any) -> None:
        """Fill the search fields (what a user types); ``run_search`` then applies them."""
        self.search_fields.set_criteria(**fields)

    def run_search(self, reselect: int | None = None) -> None:
        """Search with the fields' criteria (on the worker); the results replace the list.

        ``reselect``: the session id to select again if it is among the results."""
        if not self.service.has_database:
            self._show("Could not search the records: no records database is open.", error=True)
            return
        self._search_seq += 1
        seq = self._search_seq
        self._reselect = reselect if isinstance(reselect, int) else None
        self.service.search(self.criteria(), lambda outcome: self._searched(seq, outcome))

    def _searched(self, seq: int, outcome: Outcome[SearchResult]) -> None:
        if seq != self._search_seq:
            return  # a newer search is on its way
        if not outcome.ok or outcome.value is None:
            self._fill([])
            self._show(outcome.error, error=True)
            return
        result = outcome.value
        self._fill(list(result.rows))
        self._show(result.message, error=result.error)
        rows = [row for row, item in enumerate(self._rows) if item.id == self._reselect]
        if rows:
            self.select_row(rows[0])

    def results(self) -> list[SessionRow]:
        return list(self._rows)

    def _fill(self, rows: list[SessionRow]) -> None:
        self._clear_session()
        self._session_seq += 1  # a session still loading belongs to the old list: it must not appear now
        self._rows = rows
        self.table.blockSignals(True)
        # no row highlighted beside an empty summary; the current row goes too (Qt selects the row that
        # takes a removed current row's place)
        self.table.selectionModel().clear()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for col, text in enumerate(row.cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)  # an elided name is whole here
                cell.setData(Qt.ItemDataRole.UserRole, row.id)
                self.table.setItem(r, col, cell)
        self.table.blockSignals(False)
        self._fit_columns()

    # --- one session -------------------------------------------------------------------

    @property
    def selected_session_id(self) -> int | None:
        return None if self._view is None else self._view.id

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)  # -> _on_selection -> show_session

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.show_session(self._rows[rows[0].row()].id)

    def _clear_session(self) -> None:
        self._view = None
        self.summary_view.clear()
        self.course_view.clear()
        self.position_label.clear()
        self.plots.clear()
        self._clear_markers()
        self._update_buttons()

    def show_session(self, session_id: int) -> None:
        """Load one session's summary, course position and plots (on the worker), then show them."""
        self._clear_session()
        self._session_seq += 1
        seq = self._session_seq
        self.service.open_session(session_id, lambda outcome: self._session_loaded(seq, outcome))

    def _session_loaded(self, seq: int, outcome: Outcome[SessionView]) -> None:
        if seq != self._session_seq:
            return  # the user clicked another session meanwhile
        view = outcome.value
        if not outcome.ok or view is None:
            self._show(outcome.error, error=True)
            return
        self._view = view
        self._update_buttons()
        self.summary_view.setHtml(view.summary_html)
        self.course_view.setHtml(view.course_html)
        self.position_label.setText(view.position)
        self.position_label.setStyleSheet("font-weight: bold;" + (" color: #b71c1c;" if view.warning else ""))
        if view.samples is None:
            self._show(view.replay_error, error=True)
            return
        self.plots.show_history(view.samples)
        for marker in view.markers:  # laid out as on the live plot (ui/plot_markers.py)
            self.plots.markers.add(marker.t_s, marker.label, MARKER_PENS[marker.kind])
        self._show(view.replay_message)

    def _clear_markers(self) -> None:
        self.plots.markers.clear()

    def markers(self) -> list[tuple[float, str]]:
        """(time in s, label) of the markers drawn on the replay."""
        return self.plots.markers.markers()

    # --- exports and the audit check ---------------------------------------------------

    def export_target(self) -> ExportTarget:
        """The selected session and the chosen month, as the exporters take them."""
        view = self._view
        month = self.billing_month.date().toPython()
        if view is None:
            return ExportTarget(month=month)
        return ExportTarget(view.id, view.patient_identifier, view.started_at, month)

    def _ask_path(self, key: str) -> None:
        exporter = export_registry.exporter(key)
        target = self.export_target()
        if exporter.check(target):
            self._show(f"Could not {exporter.doing}: {exporter.check(target)}", error=True)
            return
        proposed = self.service.suggested_path(exporter.default_name(target))
        # non-modal: an export during a treatment leaves STOP working (ui/beside_stop.py)
        path = ask_save_path(self, exporter.dialog_title, proposed, exporter.file_filter)
        if path:
            self.export(key, path)

    def export(self, key: str, path: str | Path, month: dt.date | None = None) -> None:
        """Export format ``key`` of the selected session (or ``month``) to ``path``, on the worker."""
        target = self.export_target()
        if month is not None:
            target = ExportTarget(target.session_id, target.patient_identifier, target.started_at, month)
        self.service.export(key, target, path, self._exported)

    def _exported(self, outcome: Outcome[ExportResult]) -> None:
        if not outcome.ok or outcome.value is None:
            self._show(outcome.error, error=True)
            return
        self.last_export = outcome.value
        self._show(outcome.value.message)

    def verify_audit(self) -> None:
        """Check the audit chain (on the worker) and say the verdict in plain words."""
        self.service.verify_audit(self._audited)

    def _audited(self, outcome: Outcome[AuditView]) -> None:
        if not outcome.ok or outcome.value is None:
            self.last_audit = None
            self._show(outcome.error, error=True)
            return
        self.last_audit = outcome.value
        self._show(outcome.value.text, error=not outcome.value.ok)
