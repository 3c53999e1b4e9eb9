"""Samples CSV of one session, with its events in a second file beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...records import events_csv, write_samples_csv
from . import register
from .base import Exporter, ExportResult, ExportTarget


class SamplesCsv(Exporter):
    key = "csv"
    label = "Export CSV…"
    dialog_title = "Export samples CSV"
    file_filter = "CSV (*.csv)"
    doing = "export the CSV files"
    order = 10

    def default_name(self, target: ExportTarget) -> str:
        return f"{target.stem()}.csv"

    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        """Samples to ``path`` and events beside it (``<name>-events.csv``)."""
        assert target.session_id is not None
        events_path = path.with_name(f"{path.stem}-events.csv")
        rows = write_samples_csv(db, target.session_id, path)
        events_path.write_text(events_csv(db, target.session_id), encoding="utf-8", newline="")  # CRLF as written
        return ExportResult((path, events_path),
                            f"Saved {rows:,} samples to {path} and the events to {events_path.name}.")


register(SamplesCsv())
