"""The one-page PDF treatment report of one session (drawn by reports/treatment_report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...reports.treatment_report import write_treatment_report
from . import register
from .base import Exporter, ExportResult, ExportTarget


class PdfReport(Exporter):
    key = "pdf"
    label = "Export PDF report…"
    dialog_title = "Export PDF report"
    file_filter = "PDF (*.pdf)"
    doing = "export the PDF report"
    order = 20

    def default_name(self, target: ExportTarget) -> str:
        return f"{target.stem()}-report.pdf"

    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        assert target.session_id is not None
        written = write_treatment_report(db, target.session_id, path)
        return ExportResult((written,), f"Saved the report to {written}.")


register(PdfReport())
