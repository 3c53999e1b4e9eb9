"""Billing CSV (CPT 97033 units) of every closed session in a calendar month."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ...records import billing_csv, billing_summary
from . import register
from .base import Exporter, ExportResult, ExportTarget, Scope


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of ``day``'s calendar month."""
    first = day.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return first, last


class BillingCsv(Exporter):
    key = "billing"
    label = "Billing CSV for the month…"
    dialog_title = "Billing CSV"
    file_filter = "CSV (*.csv)"
    doing = "export the billing CSV"
    scope = Scope.MONTH
    order = 40

    def default_name(self, target: ExportTarget) -> str:
        assert target.month is not None
        return f"billing-{target.month:%Y-%m}.csv"

    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        assert target.month is not None
        first, last = month_bounds(target.month)
        lines = billing_summary(db, first, last)
        path.write_text(billing_csv(lines), encoding="utf-8", newline="")  # CRLF rows as written
        units = sum(line.units for line in lines)
        flagged = sum(1 for line in lines if line.coverage.flagged)
        return ExportResult((path,), f"Saved billing for {first:%B %Y} to {path}: {len(lines)} session(s), "
                                     f"{units} unit(s)"
                                     + (f", {flagged} flagged for coverage review." if flagged else "."))


register(BillingCsv())
