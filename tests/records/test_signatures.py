"""Electronic signatures bind the record's content: the manifestation (account's printed name, account, date
and time with zone, meaning) on screen, in the PDF and in FHIR, and a later change shows as not covered."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest
from records_helpers import account
from test_treatment_report import recorded_session

from ionto_console.records import add_note, amend_session, audit_history, fhir_bundle, load_session
from ionto_console.records.errors import InvalidRecord
from ionto_console.records.queries import verify_signatures
from ionto_console.records.store import sign_session
from ionto_console.reports.treatment_report import write_treatment_report


def test_a_signature_binds_the_content_and_a_later_change_shows(sqlite_db):
    sid = recorded_session(sqlite_db)
    (signature,) = verify_signatures(sqlite_db, sid)
    assert signature.covers is True and len(signature.content_sha256) == 64
    assert signature.username == "dana" and signature.name == "Dana Miller"
    assert "(UTC" in signature.manifestation and "performed and reviewed" in signature.manifestation
    amend_session(sqlite_db, sid, "dose_delivered_ma_min", 40.0, who="dana", why="typo")
    (changed,) = verify_signatures(sqlite_db, sid)
    assert changed.covers is False and "no longer covers the record" in changed.manifestation
    add_note(sqlite_db, sid, "Reviewed after the correction.", author="ravi")
    sign_session(sqlite_db, sid, username=account(sqlite_db, "ravi", "Ravi Menon"), meaning="reviewed")
    first, second = verify_signatures(sqlite_db, sid)
    assert first.covers is False and second.covers is True
    (entry,) = [e for e in audit_history(sqlite_db, entity="session", entity_id=sid)
                if e["action"] == "sign" and e["who"] == "ravi"]
    assert entry["after"]["content_sha256"] == second.content_sha256


def test_tried_a_typed_name_cannot_sign_only_an_account(sqlite_db):
    sid = recorded_session(sqlite_db)
    with pytest.raises(InvalidRecord, match="Only an active account can sign"):
        sign_session(sqlite_db, sid, username="Dr. Chief Physician (not signed in)", meaning="reviewed")
    assert len(load_session(sqlite_db, sid).signatures) == 1


def test_fhir_shows_the_signer_account_name_meaning_and_digest(sqlite_db):
    sid = recorded_session(sqlite_db)
    bundle = fhir_bundle(sqlite_db, sid).model_dump(mode="json", exclude_none=True)
    (provenance,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Provenance"]
    (signature,) = provenance["signature"]
    assert signature["who"]["display"] == "Dana Miller"
    assert signature["who"]["identifier"]["value"] == "dana"
    assert {c["display"] for c in signature["type"]} == {"Author's Signature", "Verification Signature"}
    assert "performed and reviewed" in base64.b64decode(signature["data"]).decode()
    assert provenance["activity"]["text"] == "performed and reviewed"
    digest = load_session(sqlite_db, sid).signatures[0].content_sha256
    assert provenance["entity"][0]["what"]["identifier"]["value"] == digest


def test_the_pdf_shows_the_signer_account_name_and_meaning(sqlite_db, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    sid = recorded_session(sqlite_db)
    path = write_treatment_report(sqlite_db, sid, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "Dana Miller (dana) — performed and reviewed" in " ".join(text.split())
