"""CSV, FHIR R5 and report-data exports of one session."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pytest
from fhir.resources.bundle import Bundle

from ionto_console.records import (
    SampleWriter,
    add_note,
    events_csv,
    fhir_bundle,
    fhir_bundle_json,
    finish_session,
    record_side_effect,
    report_data,
    samples_csv,
    sign_session,
    start_session,
)
from ionto_console.records.fhir_export import bundle_dict
from ionto_console.records.queries import load_session

from records_helpers import account, UTC, new_patient, session_start

T0 = dt.datetime(2026, 5, 4, 8, 10, tzinfo=UTC)


@pytest.fixture
def finished(db) -> int:
    pid = new_patient(db)
    sid = start_session(db, session_start(pid, started_at=T0, diagnosis_code="M76.60",
                                          coverage_answers={"indication": "inflammatory_musculoskeletal"}))
    writer = SampleWriter(db, sid)
    for i in range(3000):
        writer.add(i / 100, min(3.0, i / 500), 18.0, None if i == 0 else 6.0 - i / 3000, min(3.0, i / 500), 3)
    writer.add_event("state", "Treating", {"level_ma": 3.0}, t=6.0)
    writer.add_event("trip", "Open circuit: electrode contact lost, at 10:30:12", {"voltage_v": 89.8}, t=29.0,
                     alarm=True)
    writer.close()
    record_side_effect(db, sid, kind="dizziness", who="dana", at=T0 + dt.timedelta(minutes=9), note="pale")
    finish_session(db, sid, state="stopped", reason="Dizziness", dose_delivered_ma_min=21.5, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=9, seconds=30))
    add_note(db, sid, "Dizzy at 9 min.", author="dana")
    sign_session(db, sid, username=account(db, "dana", "Dana Miller"), meaning="performed")
    return sid


def test_samples_csv(db, finished):
    rows = list(csv.reader(io.StringIO(samples_csv(db, finished))))
    assert rows[0] == ["t_s", "current_ma", "voltage_v", "impedance_kohm", "target_ma", "flags"]
    assert len(rows) == 3001
    assert rows[1] == ["0.0000", "0", "18", "", "0", "3"]  # unknown impedance is an empty cell
    assert float(rows[-1][0]) == pytest.approx(29.99) and float(rows[-1][1]) == pytest.approx(3.0)


def test_events_csv(db, finished):
    rows = list(csv.DictReader(io.StringIO(events_csv(db, finished))))
    assert [r["kind"] for r in rows] == ["state", "trip"]
    assert rows[1]["alarm"] == "1" and json.loads(rows[1]["evidence_json"]) == {"voltage_v": 89.8}
    assert "10:30:12" in rows[1]["message"]  # commas and quotes survive the CSV quoting


def test_fhir_bundle_validates_and_carries_procedure_dose_and_side_effects(db, finished):
    bundle = fhir_bundle(db, finished)
    assert isinstance(bundle, Bundle)
    parsed = Bundle.model_validate_json(fhir_bundle_json(db, finished))  # round-trips through JSON
    kinds = [e.resource.get_resource_type() for e in parsed.entry]
    assert kinds == ["Patient", "Procedure", "Observation", "Observation", "Provenance"]
    procedure = parsed.entry[1].resource
    assert procedure.status == "stopped" and procedure.statusReason.text == "Dizziness"
    assert procedure.code.coding[0].code == "97033"
    assert procedure.reason[0].concept.coding[0].code == "M76.60"
    dose = parsed.entry[2].resource
    assert float(dose.valueQuantity.value) == pytest.approx(21.5) and dose.valueQuantity.code == "mA.min"
    assert dose.partOf[0].reference == parsed.entry[1].fullUrl
    effect = parsed.entry[3].resource
    assert effect.valueCodeableConcept.coding[0].code == "dizziness"
    assert fhir_bundle_json(db, finished) == fhir_bundle_json(db, finished)  # stable ids


def test_an_invalid_fhir_bundle_is_refused(db, finished):
    from pydantic import ValidationError

    for breakage in ({"occurrenceDateTime": "yesterday"}, {"subject": "Patient/1"}, {"status": None},
                     {"occurrenceWhen": "today"}):
        data = bundle_dict(load_session(db, finished))
        procedure = data["entry"][1]["resource"]
        procedure.update(breakage)
        if procedure.get("status") is None:
            del procedure["status"]  # a required element missing
        with pytest.raises(ValidationError):
            Bundle.model_validate(data)


def test_report_data_has_what_a_one_page_report_needs(db, finished):
    report = report_data(db, finished, plot_points=200)
    assert report["patient"]["identifier"] == "P-0001"
    assert report["session"]["state"] == "stopped" and report["session"]["duration_s"] == 570
    assert report["board"]["serial"] == "IONTO1-000042"
    assert report["dose"]["delivered_ma_min"] == 21.5 and report["dose"]["percent"] == pytest.approx(53.75)
    assert [a["kind"] for a in report["alarms"]] == ["trip"]
    assert [s["kind"] for s in report["side_effects"]] == ["dizziness"]
    assert report["signatures"][0]["name"] == "Dana Miller"
    assert report["billing"] == {"cpt": "97033", "attended_minutes": 9, "units": 1, "diagnosis_code": "M76.60"}
    assert report["coverage"]["status"] == "not_medically_necessary"
    assert report["samples"]["count"] == 3000 and report["samples"]["peak_current_ma"] == pytest.approx(3.0)
    assert len(report["plot"]["t_s"]) <= 200 and report["plot"]["impedance_kohm"][0] is None
    assert max(v for v in report["plot"]["current_ma"]) == pytest.approx(3.0)  # the peak survives reduction
    assert report["audit"]["ok"] is True
    assert np.all(np.diff(report["plot"]["t_s"]) > 0)


def test_fhir_bundle_of_a_continued_run_names_the_run_it_continues(db):
    """Issue 14 (new-user pass item 4): the link between a continued run and the interrupted one it
    continues (migration 0009) was in the database and the PDF but not in the FHIR export."""
    pid = new_patient(db)
    first = start_session(db, session_start(pid, started_at=T0))
    finish_session(db, first, state="interrupted", reason="Open circuit", dose_delivered_ma_min=12.0, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=5))
    second = start_session(db, session_start(pid, started_at=T0 + dt.timedelta(minutes=8), continues_session_id=first,
                                             dose_target_ma_min=28.0))
    finish_session(db, second, state="complete", reason="", dose_delivered_ma_min=28.0, who="dana",
                   ended_at=T0 + dt.timedelta(minutes=20))

    def procedure_of(session_id: int):
        parsed = Bundle.model_validate_json(fhir_bundle_json(db, session_id))  # read back as FHIR
        return next(e.resource for e in parsed.entry if e.resource.get_resource_type() == "Procedure")

    first_procedure, continued = procedure_of(first), procedure_of(second)
    assert len(continued.partOf) == 1
    link = continued.partOf[0]
    assert link.type == "Procedure"
    # the logical reference resolves to the first run's own exported Procedure
    assert (link.identifier.system, link.identifier.value) == (first_procedure.identifier[0].system,
                                                               first_procedure.identifier[0].value)
    assert link.identifier.value == load_session(db, first).uid
    assert str(first) in link.display
    assert first_procedure.partOf is None  # a first run continues nothing
