"""The export registry: a format is one file in control/exporters, found without editing anything else."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap

from ionto_console.control import exporters
from ionto_console.control.exporters import ExportTarget, Scope
from ionto_console.control.exporters.billing_csv import month_bounds


def test_a_new_file_in_the_package_is_a_new_format(tmp_path, monkeypatch):
    (tmp_path / "plain_text.py").write_text(textwrap.dedent('''
        from ionto_console.control.exporters import register
        from ionto_console.control.exporters.base import Exporter, ExportResult


        class PlainText(Exporter):
            key = "plain-text"
            label = "Export plain text…"
            dialog_title = "Plain text"
            file_filter = "Text (*.txt)"
            doing = "export the plain text"

            def default_name(self, target):
                return f"{target.stem()}.txt"

            def write(self, db, target, path):
                path.write_text("hello", encoding="utf-8")
                return ExportResult((path,), "ok")


        register(PlainText())
    '''), encoding="utf-8")
    monkeypatch.setattr(exporters, "__path__", [*exporters.__path__, str(tmp_path)])
    monkeypatch.setattr(exporters, "_discovered", False)
    try:
        keys = [e.key for e in exporters.exporters()]
        assert "plain-text" in keys and {"csv", "pdf", "fhir", "billing"} <= set(keys)
        assert exporters.exporter("plain-text").label == "Export plain text…"
    finally:
        exporters.unregister("plain-text")
        sys.modules.pop("ionto_console.control.exporters.plain_text", None)


def test_formats_are_offered_in_their_order():
    assert [e.key for e in exporters.exporters()][:4] == ["csv", "pdf", "fhir", "billing"]


def test_a_session_format_needs_a_session_and_a_month_format_a_month():
    csv, billing = exporters.exporter("csv"), exporters.exporter("billing")
    assert csv.scope is Scope.SESSION and billing.scope is Scope.MONTH
    assert csv.check(ExportTarget()) == "select a session first."
    assert billing.check(ExportTarget()) == "choose a month first."
    assert csv.check(ExportTarget(7, "P-1", dt.datetime(2026, 5, 4, 8, 10, tzinfo=dt.timezone.utc))) == ""


def test_month_bounds_cover_the_calendar_month():
    assert month_bounds(dt.date(2026, 2, 17)) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert month_bounds(dt.date(2028, 2, 29)) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert month_bounds(dt.date(2026, 12, 31)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


def test_a_hostile_identifier_never_picks_the_folder_of_the_default_name():
    import datetime as dt

    from ionto_console.control.exporters import ExportTarget

    when = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)
    for hostile in ("../../etc/passwd", "/abs/path", "..", "a\x00b\x1b[31m", "=cmd|' /C calc'!A0", ""):
        stem = ExportTarget(1, hostile, when).stem()
        assert "/" not in stem and "\x00" not in stem and not stem.startswith(".") and stem
    assert ExportTarget(1, "P-0001", when).stem().startswith("P-0001-")
