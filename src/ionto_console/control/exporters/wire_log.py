"""One session's black box: its raw serial stream as recorded (``.ionto-wire``, zlib).

WHY offered in the Records tab: a field report is judged, and turned into a
regression test (``ionto-replay``, ``docs/qa-guide.md``), from what was on the
wire; the clinic's engineer gets it from the session in one click.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import register
from .base import Exporter, ExportResult, ExportTarget


class WireLogFile(Exporter):
    key = "wire"
    label = "Export serial log…"
    dialog_title = "Export the session's serial log"
    file_filter = "Ionto serial log (*.ionto-wire)"
    doing = "export the serial log"
    order = 50

    def default_name(self, target: ExportTarget) -> str:
        return f"{target.stem()}.ionto-wire"

    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        assert target.session_id is not None
        from ...records import write_wire_log

        written = write_wire_log(db, target.session_id, path)
        return ExportResult((path,), f"Saved the serial log ({written:,} bytes) to {path}.")


register(WireLogFile())
