"""Calibration certificate as PDF: one page of summary and plot, one page with every point.

WHY QPdfWriter/QPainter: PySide6 is already a dependency and draws vector
PDF itself; a report library would be one more pinned package for two pages.
The certificate draws only from a ``CalibrationResult`` (the stored record),
so a certificate can be re-issued from the record alone, identical.

The page set-up and text helpers are ``pdf_page``'s, shared with the treatment report. The verdict
headlines (as found and as left apart) are ``core.calibration.headlines``, the same lines the
wizard's result page shows.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPdfWriter, QPen

from ..core.numbers import signed
from ..core.calibration import (SIMULATED_WARNING, CalibrationResult, Constants, Mode, PointResult, Tolerance, Verdict,
                                headlines)
from .pdf_page import (LINE, MARGIN, PAGE_H, PAGE_W, SIMULATED_COLOR, SIMULATED_MARK, PdfPage, a4_pdf,
                       ensure_gui_app)

VERDICT_COLOR = {Verdict.PASS: QColor("#1b5e20"), Verdict.FAIL: QColor("#b71c1c"), Verdict.ERROR: QColor("#8d6e00")}
AS_FOUND_COLOR = QColor("#c62828")
AS_LEFT_COLOR = QColor("#1565c0")
TABLE_COLUMNS = (("Sweep", 58), ("Load Ω", 52), ("Set mA", 52), ("DMM mA", 68), ("Board mA", 68),
                 ("Error µA", 62), ("Allowed µA", 66), ("Error %", 52), ("Result", 37))


def title_of(result: CalibrationResult) -> str:
    kind = "Calibration certificate" if result.mode is Mode.CALIBRATE else "Verification report"
    mark = f"{SIMULATED_MARK} " if result.simulated else ""
    return f"{mark}{kind}: IONTO-1 board {result.board_serial or '(unknown)'}"


def write_certificate(result: CalibrationResult, path: str | os.PathLike[str], audit_head: str = "") -> Path:
    """Draw the certificate of ``result`` into the PDF file ``path``; returns the path.

    ``audit_head``: the records' audit head after this result was stored (``records.audit.current_head``),
    printed in the footer as on every treatment report: a copy of the chain's head outside the database."""
    ensure_gui_app()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with a4_pdf(path, title_of(result), f"cannot write the certificate to {path}") as (painter, writer):
        _Page(painter, writer, result, audit_head).draw()
    return path


def _date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _constants(c: Constants | None) -> str:
    if c is None:
        return "—"
    when = dt.datetime.fromtimestamp(c.date, dt.timezone.utc).date().isoformat() if c.date else "never"
    return f"gain {c.gain:.6f}, offset {signed(c.offset_ua, 2)} µA (dated {when})"


class _Page(PdfPage):
    """Cursor-based drawing of the certificate (top to bottom, new page when full)."""

    def __init__(self, painter: QPainter, writer: QPdfWriter, result: CalibrationResult, audit_head: str = "") -> None:
        super().__init__(painter)
        self.writer = writer
        self.r = result
        self.audit_head = audit_head
        self.page = 1

    def need(self, height: float) -> None:
        if self.y + height > PAGE_H - MARGIN - 20:
            self.new_page()

    def new_page(self) -> None:
        self.footer()
        self.writer.newPage()
        self.page += 1
        self.y = MARGIN
        if self.r.simulated:
            self.simulated_watermark()

    def footer(self) -> None:
        self.font(8)
        self.p.setPen(QColor("#666666"))
        self.p.drawText(QRectF(MARGIN, PAGE_H - MARGIN, PAGE_W - 2 * MARGIN, 12), Qt.AlignmentFlag.AlignLeft,
                        f"{title_of(self.r)}. Engineer: {self.r.engineer}. "
                        + (f"Audit head {self.audit_head}. " if self.audit_head else "") + f"Page {self.page}")

    # --- the document ----------------------------------------------------------------

    def draw(self) -> None:
        r = self.r
        if r.simulated:
            self.simulated_watermark()
            self.text(MARGIN, SIMULATED_WARNING, 11, True, QColor(SIMULATED_COLOR))
        self.text(MARGIN, title_of(r), 16, True)
        for line, verdict, reason in headlines(r):
            self.text(MARGIN, line, 14, True, VERDICT_COLOR[verdict])
            if reason:
                self.text(MARGIN, reason, 9.5, color=VERDICT_COLOR[verdict])

        self.heading("Board and run")
        self.field("Board serial", r.board_serial or "—")
        self.field("Firmware", r.board_firmware or "—")
        self.field("Port", r.board_url or "—")
        self.field("Performed", f"{_date(r.started_at)} to {_date(r.finished_at)}")
        self.field("Engineer", r.engineer)
        self.field("Next due", _date(r.due_date) + f" (interval {r.interval_days} days)")
        self.field("Tolerance", f"{r.tolerance.describe()}; impedance ±{r.impedance_tolerance_pct:g} %")

        self.heading("Constants")
        self.field("Found", _constants(r.old_constants))
        self.field("Left", _constants(r.new_constants) if r.written else "unchanged (nothing written)")
        if r.fit is not None:
            self.field("Fit", f"{r.fit.points} points, residual rms {r.fit.residual_rms_ua:.2f} µA, "
                              f"max {r.fit.residual_max_ua:.2f} µA")

        self.heading("Instruments")
        for role, idn in sorted(r.instruments.items()):
            label = {"dmm": "DMM (in series)", "load": "Load (decade)", "lcr": "LCR meter"}.get(role, role)
            self.field(label, idn.replace(",", ", "))  # spaces let a long *IDN? wrap

        self.heading("Error against current")
        self.need(230)
        self.plot(QRectF(MARGIN + 40, self.y + 4, PAGE_W - 2 * MARGIN - 50, 190))
        self.y += 230

        if r.impedance:
            self.heading("Impedance check (board V/I against the reference)")
            for c in r.impedance:
                self.text(MARGIN, f"{c.load_ohm:g} Ω: board {c.board_ohm:.1f} Ω at {c.at_ua / 1000:g} mA, "
                                  f"{c.reference_source} {c.reference_ohm:.1f} Ω, error {signed(c.error_pct, 2)} % "
                                  f"(±{c.tolerance_pct:g} %): {'pass' if c.passed else 'FAIL'}")

        self.new_page()
        self.heading("Every point")
        self.table([("as-found" if r.mode is Mode.CALIBRATE else "verify", p) for p in r.as_found]
                   + [("as-left", p) for p in r.as_left])
        self.y += 16
        self.need(60)
        self.text(MARGIN, "Error = board reading − DMM reading (the DMM in series is the reference). "
                          "A point passes when |error| is within the allowed error.", 8.5)
        self.y += 24
        self.text(MARGIN, "Engineer's signature: ______________________________      Date: ______________", 10)
        self.footer()

    def table(self, rows: Sequence[tuple[str, PointResult]]) -> None:
        def row(cells: Sequence[str], bold: bool = False, color: QColor | None = None) -> None:
            self.need(LINE)
            self.font(8.5, bold)
            x = MARGIN
            for (_, width), cell in zip(TABLE_COLUMNS, cells):
                self.p.setPen(color or QColor("black"))
                self.p.drawText(QRectF(x, self.y, width - 4, LINE), Qt.AlignmentFlag.AlignRight, cell)
                x += width
            self.y += LINE

        row([name for name, _ in TABLE_COLUMNS], bold=True)
        if not rows:
            self.text(MARGIN, "No points were measured.")
        for sweep, p in rows:
            row([sweep, f"{p.load_ohm:g}", f"{p.set_ua / 1000:g}", f"{p.dmm_ua / 1000:.4f}", f"{p.board_ua / 1000:.4f}",
                 f"{signed(p.error_ua, 1)}", f"±{p.allowed_ua:.1f}", f"{signed(p.error_pct, 2)}", "pass" if p.passed else "FAIL"],
                color=None if p.passed else VERDICT_COLOR[Verdict.FAIL])

    def plot(self, area: QRectF) -> None:
        """Error (µA) against current (mA): tolerance envelope, as-found and as-left points."""
        r, p = self.r, self.p
        points = [(pt, AS_FOUND_COLOR) for pt in r.as_found] + [(pt, AS_LEFT_COLOR) for pt in r.as_left]
        tol: Tolerance = r.tolerance
        x_max = max([pt.set_ua for pt, _ in points] + [1000]) / 1000 * 1.05
        envelope = [tol.allowed_ua(x_max * 1000 * f) for f in (0.0, 1.0)]
        y_lim = max([abs(pt.error_ua) for pt, _ in points] + envelope) * 1.15

        def to_xy(x_ma: float, y_ua: float) -> QPointF:
            return QPointF(area.left() + area.width() * x_ma / x_max,
                           area.center().y() - area.height() / 2 * y_ua / y_lim)

        p.setPen(QPen(QColor("#333333"), 0.8))
        p.drawRect(area)
        p.drawLine(to_xy(0, 0), to_xy(x_max, 0))
        # Tolerance envelope: ±max(rel x I, abs), sampled so the knee shows.
        steps = 60
        for sign in (1, -1):
            p.setPen(QPen(QColor("#2e7d32"), 0.8, Qt.PenStyle.DashLine))
            prev = None
            for i in range(steps + 1):
                x = x_max * i / steps
                pt = to_xy(x, sign * tol.allowed_ua(x * 1000))
                if prev is not None:
                    p.drawLine(prev, pt)
                prev = pt
        self.font(7.5)
        p.setPen(QColor("#333333"))
        for i in range(6):
            x = x_max * i / 5
            pos = to_xy(x, -y_lim)
            p.drawText(QRectF(pos.x() - 20, pos.y() + 2, 40, 10), Qt.AlignmentFlag.AlignHCenter, f"{x:.3g}")
        for i in range(-2, 3):
            y = y_lim * i / 2
            pos = to_xy(0, y)
            p.drawText(QRectF(pos.x() - 42, pos.y() - 5, 38, 10), Qt.AlignmentFlag.AlignRight, f"{signed(y, 0)}")
        p.drawText(QRectF(area.left(), area.bottom() + 12, area.width(), 10), Qt.AlignmentFlag.AlignHCenter,
                   "set current (mA)")
        p.save()
        p.translate(area.left() - 44, area.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-40, -10, 80, 10), Qt.AlignmentFlag.AlignHCenter, "error (µA)")
        p.restore()
        for pt, color in points:
            p.setPen(QPen(color, 0.8))
            p.setBrush(QBrush(color) if pt.passed else Qt.BrushStyle.NoBrush)
            p.drawEllipse(to_xy(pt.set_ua / 1000, pt.error_ua), 2.6, 2.6)
        p.setBrush(Qt.BrushStyle.NoBrush)
        legend = [("as-found" if r.mode is Mode.CALIBRATE else "measured", AS_FOUND_COLOR)]
        if r.as_left:
            legend.append(("as-left (after writing)", AS_LEFT_COLOR))
        legend.append(("tolerance", QColor("#2e7d32")))
        x = area.left() + 6
        for name, color in legend:
            p.setPen(QPen(color, 1.2))
            p.drawLine(QPointF(x, area.top() + 8), QPointF(x + 10, area.top() + 8))
            p.setPen(QColor("#333333"))
            p.drawText(QPointF(x + 13, area.top() + 11), name)
            x += 13 + p.fontMetrics().horizontalAdvance(name) + 18
