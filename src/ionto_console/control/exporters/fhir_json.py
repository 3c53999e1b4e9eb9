"""One session as a FHIR R4 bundle (JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import register
from .base import Exporter, ExportResult, ExportTarget


class FhirJson(Exporter):
    key = "fhir"
    label = "Export FHIR JSON…"
    dialog_title = "Export FHIR JSON"
    file_filter = "JSON (*.json)"
    doing = "export the FHIR bundle"
    order = 30

    def default_name(self, target: ExportTarget) -> str:
        return f"{target.stem()}-fhir.json"

    def write(self, db: Any, target: ExportTarget, path: Path) -> ExportResult:
        assert target.session_id is not None
        # Validated before anything is written, through a temporary file (loads fhir.resources, ~0.3 s, on use).
        from ...records.fhir_export import write_fhir_bundle

        write_fhir_bundle(db, target.session_id, path)
        return ExportResult((path,), f"Saved the FHIR bundle to {path}.")


register(FhirJson())
