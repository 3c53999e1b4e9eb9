"""HL7 FHIR R5 export of one session: a Bundle with the Patient, a Procedure and Observations.

WHY built as dicts and validated with ``fhir.resources`` (8.x = R5): the
dict is easy to read against the spec, and ``Bundle.model_validate`` checks
every element name, type and cardinality, so an EHR never receives a bundle
that does not parse. References inside the bundle are ``urn:uuid:`` full
URLs derived from the session's uid, so exporting twice gives the same ids.

Content: Procedure (CPT 97033, status from the final state, period,
performer, ICD-10 reason, agent as ``used``, notes), an Observation of the
delivered dose (mA·min, UCUM ``mA.min``, with the target as a component),
and one Observation per side effect, each ``partOf`` the Procedure; one
Provenance per electronic signature (signer's account and printed name, time,
meaning as an ASTM E1762 signature type, the content digest it binds).

A run that continues an interrupted one (the rest of the same prescription,
``sessions.continues_session_id``, ``core/continuation.py``) names the first
run in ``Procedure.partOf``. WHY ``partOf`` (in Procedure since R4, kept in R5):
it is the one element of Procedure whose target is another Procedure and whose
meaning is "a step of a larger event": the runs together are one prescribed
treatment, and the first run stands for it. ``basedOn`` would need a
ServiceRequest or CarePlan the console does not keep, and an extension is
ignored by an EHR that does not know it. The reference is logical (the first
run's ``Procedure.identifier``, which its own export carries) rather than a
``urn:uuid``: the first run is in another bundle, and a ``urn:uuid`` that does
not resolve inside its bundle is a broken reference.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

from fhir.resources.bundle import Bundle

from .billing import CPT_DISPLAY, CPT_IONTOPHORESIS
from .database import Database
from .errors import InvalidRecord
from .queries import SessionSummary, SignatureInfo, load_session
from .safe_text import fhir_clean

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
LOCAL = "urn:ionto-console"
_STATUS = {"complete": "completed", "stopped": "stopped", "faulted": "stopped", "interrupted": "stopped",
           "running": "in-progress"}


def _urn(session_uid: str, what: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.UUID(session_uid), what)}"


def _dose_quantity(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": "mA·min", "system": UCUM, "code": "mA.min"}


def bundle_dict(summary: SessionSummary) -> dict[str, Any]:
    uid = summary.uid
    patient_url, procedure_url = _urn(uid, "patient"), _urn(uid, "procedure")
    subject = {"reference": patient_url, "display": summary.patient.name}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": f"{LOCAL}:patient-id", "value": summary.patient.identifier}],
        "name": [{"text": summary.patient.name}],
    }
    if summary.patient.date_of_birth:
        patient["birthDate"] = summary.patient.date_of_birth.isoformat()
    period: dict[str, str] = {"start": summary.started_at.isoformat()}
    if summary.ended_at:
        period["end"] = summary.ended_at.isoformat()
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "identifier": [{"system": f"{LOCAL}:session", "value": uid}],
        "status": _STATUS.get(summary.state, "unknown"),
        "code": {"coding": [{"system": CPT_SYSTEM, "code": CPT_IONTOPHORESIS, "display": CPT_DISPLAY}],
                 "text": f"Iontophoresis: {summary.protocol_name}"},
        "subject": subject,
        "occurrencePeriod": period,
        "performer": [{"actor": {"display": summary.operator}}],
        "used": [{"concept": {"text": _agent_text(summary.protocol)}}],
    }
    if summary.continues_session_uid:
        procedure["partOf"] = [{
            "type": "Procedure",
            "identifier": {"system": f"{LOCAL}:session", "value": summary.continues_session_uid},
            "display": f"Continues the interrupted run of session {summary.continues_session_id} "
                       "(the rest of its prescribed dose)"}]
    if summary.state != "complete" and summary.reason:
        procedure["statusReason"] = {"text": summary.reason}
    if summary.site:
        procedure["bodySite"] = [{"text": summary.site_text}]
    if summary.diagnosis_code:
        procedure["reason"] = [{"concept": {"coding": [{"system": ICD10_SYSTEM, "code": summary.diagnosis_code}]}}]
    notes = [{"text": n.text, "authorString": n.author, "time": n.at.isoformat()} for n in summary.current_notes]
    if notes:
        procedure["note"] = notes
    if summary.side_effects:
        procedure["complication"] = [{"concept": {"text": e.kind.replace("_", " ")}} for e in summary.side_effects]
    dose: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": f"{LOCAL}:observation", "code": "dose-delivered",
                             "display": "Iontophoresis dose delivered (charge)"}],
                 "text": "Iontophoresis dose delivered"},
        "subject": subject,
        "partOf": [{"reference": procedure_url}],
        "effectivePeriod": period,
        "valueQuantity": _dose_quantity(summary.dose_delivered_ma_min),
        "component": [{"code": {"text": "Dose target"}, "valueQuantity": _dose_quantity(summary.dose_target_ma_min)}],
    }
    entries = [
        {"fullUrl": patient_url, "resource": patient},
        {"fullUrl": procedure_url, "resource": procedure},
        {"fullUrl": _urn(uid, "dose"), "resource": dose},
    ]
    for index, effect in enumerate(summary.side_effects):
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": f"{LOCAL}:observation", "code": "side-effect",
                                 "display": "Side effect during iontophoresis"}]},
            "subject": subject,
            "partOf": [{"reference": procedure_url}],
            "effectiveDateTime": effect.at.isoformat(),
            "valueCodeableConcept": {"coding": [{"system": f"{LOCAL}:side-effect", "code": effect.kind}],
                                     "text": effect.kind.replace("_", " ")},
        }
        if effect.note:
            observation["note"] = [{"text": effect.note}]
        entries.append({"fullUrl": _urn(uid, f"side-effect-{index}"), "resource": observation})
    for index, signature in enumerate(summary.signatures):
        entries.append({"fullUrl": _urn(uid, f"signature-{index}"), "resource": _provenance(signature, procedure_url)})
    # Every string without control characters (names and notes are typed by people).
    return fhir_clean({"resourceType": "Bundle", "type": "collection",
                       "timestamp": (summary.ended_at or summary.started_at).isoformat(),
                       "identifier": {"system": f"{LOCAL}:export", "value": uid}, "entry": entries})


#: ASTM E1762-95 signature types (the FHIR Signature Type value set) for the console's meanings.
SIGNATURE_TYPE_SYSTEM = "urn:iso-astm:E1762-95:2013"
_SIGNATURE_TYPES = {"performed": ("1.2.840.10065.1.12.1.1", "Author's Signature"),
                    "reviewed": ("1.2.840.10065.1.12.1.5", "Verification Signature")}


def _provenance(signature: SignatureInfo, target: str) -> dict[str, Any]:
    """A signature as a Provenance with its Signature element: who (account and printed name), when, what
    it means, and the content digest it binds (``covers`` false: the record changed after it)."""
    meaning = signature.meaning.lower()
    codes = [{"system": SIGNATURE_TYPE_SYSTEM, "code": code, "display": display}
             for word, (code, display) in _SIGNATURE_TYPES.items() if word in meaning]
    who: dict[str, Any] = {"display": signature.name}
    if signature.username:
        who["identifier"] = {"system": f"{LOCAL}:account", "value": signature.username}
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": target}],
        "recorded": signature.at.isoformat(),
        "activity": {"text": signature.meaning},
        "agent": [{"who": who}],
        "signature": [{"type": codes or [{"system": SIGNATURE_TYPE_SYSTEM, "code": "1.2.840.10065.1.12.1.1",
                                          "display": "Author's Signature"}],
                       "when": signature.at.isoformat(), "who": who, "sigFormat": "text/plain",
                       "data": base64.b64encode(signature.manifestation.encode("utf-8")).decode("ascii")}],
    }
    if signature.content_sha256:
        resource["entity"] = [{"role": "source", "what": {
            "identifier": {"system": f"{LOCAL}:content-sha256", "value": signature.content_sha256},
            "display": "record content signed" + ("" if signature.covers else
                                                  " (the record changed after this signature)")}}]
    return resource


def _agent_text(protocol: dict[str, Any]) -> str:
    agent = protocol.get("agent") or {}
    text = str(agent.get("solution") or protocol.get("name") or "iontophoresis")
    if agent.get("concentration") is not None:
        text += f" {agent['concentration']:g} {agent.get('concentration_unit') or ''}".rstrip()
    return text


def fhir_bundle(db: Database, session_id: int) -> Bundle:
    """The validated Bundle (raises pydantic ValidationError if the export would not be valid R5).

    A session on the simulated board is refused (``InvalidRecord``): it must never reach another
    system as a procedure someone received."""
    summary = load_session(db, session_id)
    if summary.simulated:
        raise InvalidRecord(f"Session {session_id} ran on the simulated board: it is not exported as a "
                            "clinical record.")
    return Bundle.model_validate(bundle_dict(summary))


def fhir_bundle_json(db: Database, session_id: int) -> str:
    """The bundle as JSON text, validated first (nothing is returned for a bundle that is not valid R5)."""
    return fhir_bundle(db, session_id).model_dump_json(exclude_none=True, indent=2)


def write_fhir_bundle(db: Database, session_id: int, path: str | Path) -> Path:
    """Validate, then write the bundle to ``path`` (through a temporary file: no half-written export)."""
    text = fhir_bundle_json(db, session_id)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
