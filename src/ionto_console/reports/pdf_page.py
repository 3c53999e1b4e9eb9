"""The A4 page every document of the console prints on: PDF set-up and text helpers.

WHY its own module: the calibration certificate and the treatment report
share one look (QPdfWriter at ``DPI`` = 72, so drawing units are PDF points
on A4), but neither should import the other. A therapist's console loads the
treatment report for the Records tab; it has no use for the calibration
rules the certificate draws from.

Qt needs a QGuiApplication for fonts: ``ensure_gui_app`` creates an offscreen
one when none exists (the production-line CLI has no display).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

#: Drawing units are PDF points (1/72 inch): A4 is 595 x 842.
DPI = 72
PAGE_W, PAGE_H = 595.0, 842.0
MARGIN = 40.0
LINE = 13.0


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or a new offscreen one (fonts need it; a CLI has none)."""
    app = QGuiApplication.instance()
    if app is None:
        # A QApplication (not only QGuiApplication): widgets created later in the same process still work.
        from PySide6.QtWidgets import QApplication

        platform = os.environ.get("QT_QPA_PLATFORM") or "offscreen"
        app = QApplication(["ionto-calibration", "-platform", platform])
    return app  # type: ignore[return-value]


@contextlib.contextmanager
def a4_pdf(path: Path, title: str, refusal: str) -> Iterator[tuple[QPainter, QPdfWriter]]:
    """A painter on a one-page A4 PDF at ``DPI`` with no printer margins (pages draw their own);
    ``refusal`` is the OSError message when the file cannot be opened. Shared by every report."""
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0)))
    writer.setTitle(title)
    writer.setCreator("Ionto Console")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(refusal)
    try:
        yield painter, writer
    finally:
        painter.end()


#: What a document of the simulated bench says on its page (treatment report, calibration certificate).
SIMULATED_MARK = "SIMULATED"
SIMULATED_COLOR = "#c62828"


class PdfPage:
    """A cursor (``y``) that moves down the page as text is drawn; documents subclass it."""

    def __init__(self, painter: QPainter) -> None:
        self.p = painter
        self.y = MARGIN

    def font(self, size: float, bold: bool = False) -> None:
        f = QFont("Helvetica")
        f.setPointSizeF(size)
        f.setBold(bold)
        self.p.setFont(f)

    def text(self, x: float, text: str, size: float = 9.5, bold: bool = False, color: QColor | None = None,
             width: float | None = None) -> None:
        self.font(size, bold)
        self.p.setPen(color or QColor("black"))
        w = width if width is not None else PAGE_W - MARGIN - x
        rect = self.p.boundingRect(QRectF(x, self.y, w, 1000), Qt.TextFlag.TextWordWrap, text)
        self.p.drawText(QRectF(x, self.y, w, rect.height()), Qt.TextFlag.TextWordWrap, text)
        self.y += max(rect.height(), size * 1.3) + 2

    def field(self, label: str, value: str) -> None:
        self.font(9.5, True)
        self.p.setPen(QColor("#444444"))
        self.p.drawText(QRectF(MARGIN, self.y, 130, LINE + 2), Qt.AlignmentFlag.AlignLeft, label)
        self.text(MARGIN + 132, value)

    def simulated_watermark(self, text: str = SIMULATED_MARK) -> None:
        """Write ``SIMULATED`` large and diagonally across the page, under nothing and over everything.

        WHY on the page itself (not only in a field): a printed or forwarded page of the simulated bench
        must not pass for a clinical document, whoever reads only a corner of it."""
        self.p.save()
        f = QFont("Helvetica")
        f.setPointSizeF(72)
        f.setBold(True)
        self.p.setFont(f)
        color = QColor(SIMULATED_COLOR)
        color.setAlpha(70)
        self.p.setPen(color)
        self.p.translate(PAGE_W / 2, PAGE_H / 2)
        self.p.rotate(-40)
        self.p.drawText(QRectF(-PAGE_W, -60, 2 * PAGE_W, 120), Qt.AlignmentFlag.AlignCenter, text)
        self.p.restore()

    def heading(self, text: str) -> None:
        self.y += 6
        self.text(MARGIN, text, 11.5, True)
        self.p.setPen(QPen(QColor("#999999"), 0.5))
        self.p.drawLine(QPointF(MARGIN, self.y), QPointF(PAGE_W - MARGIN, self.y))
        self.y += 4
