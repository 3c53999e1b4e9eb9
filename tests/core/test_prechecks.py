"""Pre-treatment checks: contraindications block, overrides need a reason, corticosteroid day rules."""

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.prechecks import (
    MIN_OVERRIDE_REASON_CHARS,
    Caution,
    Check,
    PrecheckResult,
    QuestionKind,
    evaluate,
    questions_for,
)

TODAY = date(2026, 11, 21)
REASON = "Prescriber approved, device is MRI-safe titanium"
CONTRAINDICATIONS = [q.check for q in questions_for(is_corticosteroid=False)
                     if q.kind is QuestionKind.CONTRAINDICATION]


def all_clear(is_corticosteroid: bool = False) -> dict[Check, bool]:
    """Every question answered the harmless way."""
    return {q.check: q.kind is QuestionKind.CONSENT for q in questions_for(is_corticosteroid=is_corticosteroid)}


def run(answers, *, cs=False, last=None, today=TODAY, overrides=None, confirmed=(), drug=None) -> PrecheckResult:
    return evaluate(answers, is_corticosteroid=cs, last_corticosteroid_session=last, today=today,
                    overrides=overrides, confirmed=confirmed, drug_name=drug)


def checks(findings) -> set[str]:
    return {f.check for f in findings}


def test_the_checklist_asks_every_contraindication_in_plain_words():
    assert set(CONTRAINDICATIONS) == {
        Check.PACEMAKER, Check.PREGNANCY, Check.METAL_IMPLANT, Check.BROKEN_SKIN,
        Check.IMPAIRED_SENSATION, Check.DRUG_ALLERGY, Check.RISKY_PLACEMENT}
    texts = {q.check: q.text for q in questions_for(is_corticosteroid=False, drug_name="dexamethasone")}
    assert "pacemaker" in texts[Check.PACEMAKER]
    assert "dexamethasone" in texts[Check.DRUG_ALLERGY]
    assert "carotid" in texts[Check.RISKY_PLACEMENT] and "eyes" in texts[Check.RISKY_PLACEMENT]
    for word in ("tingling", "nausea", "headache", "dizziness", "pain", "stopped at any time"):
        assert word in texts[Check.PATIENT_INFORMED]


def test_a_tap_water_protocol_asks_about_skin_and_metal_reactions_not_an_allergy_to_water():
    texts = {q.check: q.text for q in questions_for(is_corticosteroid=False, drug_name="tap water", tap_water=True)}
    allergy = texts[Check.DRUG_ALLERGY]
    assert "allergic to tap water" not in allergy and "tap water?" not in allergy
    assert "skin" in allergy and "metal" in allergy and "earlier tap-water treatment" in allergy
    answers = all_clear()
    answers[Check.DRUG_ALLERGY] = True
    blocked = evaluate(answers, is_corticosteroid=False, last_corticosteroid_session=None, today=TODAY,
                       drug_name="tap water", tap_water=True)
    (finding,) = blocked.blockers
    assert finding.check == Check.DRUG_ALLERGY.value and finding.overridable
    assert "tap water." not in finding.message and "metal" in finding.message
    unanswered = evaluate({}, is_corticosteroid=False, last_corticosteroid_session=None, today=TODAY,
                          drug_name="tap water", tap_water=True)
    assert f"Not answered: {allergy}" in {f.message for f in unanswered.blockers}


def test_caution_questions_only_for_corticosteroids():
    plain = {q.check for q in questions_for(is_corticosteroid=False)}
    steroid = {q.check for q in questions_for(is_corticosteroid=True)}
    assert steroid - plain == {Check.INFANT, Check.INSULIN_DEPENDENT_DIABETES}


def test_all_clear_can_start_with_nothing_to_show():
    result = run(all_clear())
    assert result.can_start
    assert result.blockers == result.warnings == result.confirmations_needed == result.overridden == ()


@pytest.mark.parametrize("check", CONTRAINDICATIONS)
def test_every_contraindication_blocks(check):
    result = run({**all_clear(), check: True})
    assert not result.can_start
    assert [b.check for b in result.blockers] == [check.value]
    assert result.blockers[0].overridable
    assert result.blockers[0].message.startswith("Contraindication:")


@pytest.mark.parametrize("check", CONTRAINDICATIONS)
def test_override_with_reason_unblocks_and_is_recorded(check):
    result = run({**all_clear(), check: True}, overrides={check: f"  {REASON}  "})
    assert result.can_start
    assert result.blockers == ()
    (override,) = result.overridden
    assert override.check == check.value and override.reason == REASON
    record = result.as_record()
    assert record["overridden"][0] == {"check": check.value, "message": override.message, "reason": REASON}
    assert record["answers"][check.value] is True


@pytest.mark.parametrize("reason", ["", "   ", "ok", "x" * (MIN_OVERRIDE_REASON_CHARS - 1),
                                    " " * 20 + "short" + " " * 20, None, 12345])
def test_empty_or_short_reason_is_refused(reason):
    result = run({**all_clear(), Check.PACEMAKER: True}, overrides={Check.PACEMAKER: reason})
    assert not result.can_start
    assert checks(result.blockers) == {Check.PACEMAKER.value}
    assert result.overridden == ()
    if isinstance(reason, str):
        assert "Override refused" in result.blockers[0].message


def test_reason_of_exactly_the_minimum_length_is_accepted():
    result = run({**all_clear(), Check.PACEMAKER: True}, overrides={"pacemaker": "x" * MIN_OVERRIDE_REASON_CHARS})
    assert result.can_start


def test_override_for_one_contraindication_does_not_unblock_another():
    result = run({**all_clear(), Check.PACEMAKER: True, Check.BROKEN_SKIN: True},
                 overrides={Check.PACEMAKER: REASON})
    assert not result.can_start
    assert checks(result.blockers) == {Check.BROKEN_SKIN.value}
    assert checks(result.overridden) == {Check.PACEMAKER.value}


def test_override_for_something_that_did_not_block_is_ignored():
    result = run(all_clear(), overrides={Check.PACEMAKER: REASON})
    assert result.can_start and result.overridden == ()


@pytest.mark.parametrize("check", [q.check for q in questions_for(is_corticosteroid=True)])
def test_unanswered_question_blocks_and_cannot_be_overridden(check):
    answers = all_clear(is_corticosteroid=True)
    del answers[check]
    result = run(answers, cs=True, overrides={check: REASON})
    assert not result.can_start
    (blocker,) = result.blockers
    assert blocker.check == check.value and blocker.message.startswith("Not answered:")
    assert not blocker.overridable
    assert result.answers[check.value] is None


@pytest.mark.parametrize("junk", [None, "yes", 1, 0, "no"])
def test_anything_but_a_bool_counts_as_unanswered(junk):
    result = run({**all_clear(), Check.PACEMAKER: junk})
    assert not result.can_start
    assert result.blockers[0].message.startswith("Not answered:")


def test_patient_not_informed_blocks_even_with_a_reason():
    result = run({**all_clear(), Check.PATIENT_INFORMED: False}, overrides={Check.PATIENT_INFORMED: REASON})
    assert not result.can_start
    (blocker,) = result.blockers
    assert not blocker.overridable and "stop the treatment at any time" in blocker.message


def test_string_keys_work_like_enum_keys():
    answers = {k.value: v for k, v in all_clear().items()}
    assert run(answers).can_start


# --- corticosteroid rules ------------------------------------------------------------


def test_last_session_two_days_ago_warns_with_the_date():
    result = run(all_clear(True), cs=True, last=date(2026, 11, 19))
    assert result.can_start
    assert [w.message for w in result.warnings] == ["Last corticosteroid session: 2 days ago (2026-11-19)."]
    assert result.blockers == ()


def test_next_day_blocks_unless_overridden():
    blocked = run(all_clear(True), cs=True, last=TODAY - timedelta(days=1))
    assert not blocked.can_start
    (blocker,) = blocked.blockers
    assert blocker.check == Check.CORTICOSTEROID_INTERVAL.value and blocker.overridable
    assert "2026-11-20" in blocker.message and "consecutive days" in blocker.message
    assert "yesterday" in blocker.message
    assert blocked.warnings == (), "one fact, one message: the blocker, not also a warning"

    allowed = run(all_clear(True), cs=True, last=TODAY - timedelta(days=1),
                  overrides={Check.CORTICOSTEROID_INTERVAL: "Prescriber ordered daily for 3 days"})
    assert allowed.can_start
    assert allowed.overridden[0].reason == "Prescriber ordered daily for 3 days"
    assert "yesterday" in allowed.overridden[0].message, "the fact stays in the record with the override"


def test_same_day_blocks():
    result = run(all_clear(True), cs=True, last=TODAY)
    assert not result.can_start
    assert "today" in result.blockers[0].message


def test_date_in_the_future_blocks_with_a_clear_message():
    result = run(all_clear(True), cs=True, last=TODAY + timedelta(days=3))
    assert not result.can_start
    assert "after today" in result.blockers[0].message and "2026-11-24" in result.blockers[0].message


def test_interval_rules_do_not_apply_to_other_drugs():
    result = run(all_clear(), cs=False, last=TODAY)
    assert result.can_start and result.warnings == ()


def test_first_corticosteroid_session_has_no_interval_warning():
    assert run(all_clear(True), cs=True, last=None).warnings == ()


@given(today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
       days=st.integers(min_value=-400, max_value=400))
def test_corticosteroid_interval_property(today, days):
    last = today - timedelta(days=days)
    result = run(all_clear(True), cs=True, last=last, today=today)
    assert result.can_start == (days >= 2)
    if days >= 2:
        assert last.isoformat() in result.warnings[0].message and result.blockers == ()
    if days < 2:
        assert result.warnings == ()  # one fact, one message: the blocker
        (blocker,) = result.blockers
        assert blocker.check == Check.CORTICOSTEROID_INTERVAL.value and blocker.overridable
        assert last.isoformat() in blocker.message
        overridden = run(all_clear(True), cs=True, last=last, today=today,
                         overrides={Check.CORTICOSTEROID_INTERVAL: REASON})
        assert overridden.can_start and overridden.overridden[0].reason == REASON


@pytest.mark.parametrize(("check", "caution"), [
    (Check.INFANT, Caution.CORTICOSTEROID_INFANT),
    (Check.INSULIN_DEPENDENT_DIABETES, Caution.CORTICOSTEROID_DIABETES),
])
def test_caution_needs_explicit_confirmation(check, caution):
    pending = run({**all_clear(True), check: True}, cs=True)
    assert not pending.can_start and pending.blockers == ()
    assert checks(pending.confirmations_needed) == {caution.value}

    done = run({**all_clear(True), check: True}, cs=True, confirmed=[caution])
    assert done.can_start and checks(done.confirmed) == {caution.value}


def test_pregnancy_with_corticosteroid_needs_override_and_confirmation():
    answers = {**all_clear(True), Check.PREGNANCY: True}
    only_override = run(answers, cs=True, overrides={Check.PREGNANCY: REASON})
    assert not only_override.can_start
    assert checks(only_override.confirmations_needed) == {Caution.CORTICOSTEROID_PREGNANCY.value}
    both = run(answers, cs=True, overrides={Check.PREGNANCY: REASON}, confirmed=["corticosteroid_pregnancy"])
    assert both.can_start


def test_confirmation_for_a_caution_that_does_not_apply_is_ignored():
    result = run(all_clear(True), cs=True, confirmed=[Caution.CORTICOSTEROID_INFANT])
    assert result.can_start and result.confirmed == ()


@given(answers=st.fixed_dictionaries({q.check: st.one_of(st.none(), st.booleans())
                                      for q in questions_for(is_corticosteroid=True)}),
       cs=st.booleans(), override_all=st.booleans(), confirm_all=st.booleans())
def test_can_start_only_when_nothing_blocks_property(answers, cs, override_all, confirm_all):
    overrides = {c: REASON for c in Check} if override_all else None
    confirmed = list(Caution) if confirm_all else []
    result = run(answers, cs=cs, overrides=overrides, confirmed=confirmed)
    asked = questions_for(is_corticosteroid=cs)
    unanswered = any(answers[q.check] is None for q in asked)
    not_informed = answers[Check.PATIENT_INFORMED] is False
    contraindicated = any(answers[c] for c in CONTRAINDICATIONS)
    expected = not unanswered and not not_informed and (override_all or not contraindicated)
    if cs and not confirm_all and any(answers[c] for c in (Check.PREGNANCY, Check.INFANT,
                                                           Check.INSULIN_DEPENDENT_DIABETES)):
        expected = False
    assert result.can_start == expected
    # The record always round-trips through JSON.
    record = result.as_record()
    assert PrecheckResult.model_validate(json.loads(json.dumps(record))) == result
