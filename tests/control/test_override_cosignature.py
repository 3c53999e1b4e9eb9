"""Clinic setting override_cosignature: a contraindication override needs a second account's co-signature
(its password checked and audited) before the treatment can start."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from ionto_console.accounts import AccountError, Role, create_first_admin, create_user
from ionto_console.control.treatment_desk import SessionPlan, TreatmentDesk
from ionto_console.core.protocols import load_library
from ionto_console.records import audit_history

pytestmark = pytest.mark.usefixtures("fast_passwords")
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
OVERRIDE = {"overridden": [{"check": "metal_implant", "message": "Metal implant", "reason": "far from the path"}]}


def plan(record=OVERRIDE) -> SessionPlan:
    return SessionPlan(protocol=load_library()[0], patient_id="P-1", patient_name="Ann Example", site="ankle",
                       electrode="standard", checklist_passed=True, checklist_record=record)


@pytest.fixture
def desk(db):
    dana = create_first_admin(db, "dana", "Dana Weber", "tendon heals slowly")
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "he treats feet too", who="dana")
    create_user(db, "eve", "Eve Ng", Role.ENGINEER, "she calibrates boards", who="dana")
    station = SimpleNamespace(link=None, snapshot=lambda: SimpleNamespace(live=None))
    return TreatmentDesk(station, db=db, signer=lambda: dana, override_cosignature=True)


def test_an_override_without_a_co_signature_is_blocked(desk):
    assert "co-signature" in " ".join(desk.blockers(plan()))
    assert not desk.needs_cosignature(plan({"overridden": []}))
    assert not TreatmentDesk(desk.station, db=desk.db).needs_cosignature(plan())  # setting off


def test_only_a_second_person_who_treats_co_signs_with_the_password(desk, db):
    with pytest.raises(AccountError, match="second person"):
        desk.cosign_override(plan(), "dana", "tendon heals slowly", now=T0)
    with pytest.raises(AccountError, match="cannot run treatments"):
        desk.cosign_override(plan(), "eve", "she calibrates boards", now=T0)
    with pytest.raises(AccountError, match="Wrong"):
        desk.cosign_override(plan(), "sam", "a guess at his", now=T0)
    cosigned = desk.cosign_override(plan(), "sam", "he treats feet too", now=T0 + dt.timedelta(seconds=5))
    assert cosigned.cosigned_by == "sam" and not desk.needs_cosignature(cosigned)
    assert "co-signature" not in " ".join(desk.blockers(cosigned))
    (entry,) = [e for e in audit_history(db) if e["action"] == "co-sign override"]
    assert entry["who"] == "sam" and entry["after"]["therapist"] == "dana"
    assert entry["after"]["overridden"][0]["check"] == "metal_implant"
