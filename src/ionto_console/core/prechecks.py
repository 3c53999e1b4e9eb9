"""Pre-treatment checks: the checklist the therapist answers before current may flow.

WHY a pure function over plain arguments: the UI asks the questions, the engine
refuses to start on a failed checklist, and the record stores what was answered.
All three must agree, so the rules live here once, with no Qt, no I/O and no
clock (``today`` is an argument). The protocol is passed as the two facts the
rules need (``is_corticosteroid``, ``drug_name``) so this module does not depend
on the protocol model.

Rules (see ``evaluate``):
- Every question shown must be answered; an unanswered question blocks.
- One "yes" to a contraindication blocks the start unless the therapist
  overrides it with a written reason (at least ``MIN_OVERRIDE_REASON_CHARS``
  characters). The override and its reason are part of the result, for the record.
- The patient must have been informed of the possible side effects and of the
  right to stop at any time; "no" blocks and cannot be overridden (inform them).
- Corticosteroids are not given on consecutive days (``core.corticosteroids``):
  the same day or the next day blocks unless overridden; an older date is shown
  as a note (a warning in the result), never both. Pregnancy, infants and severe insulin-dependent
  diabetes are cautions that need an explicit confirmation.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from .corticosteroids import corticosteroid_interval

#: Shortest written reason accepted for an override (after trimming spaces):
#: long enough that "ok" or "yes" cannot pass as a justification.
MIN_OVERRIDE_REASON_CHARS = 10


class Check(str, enum.Enum):
    """Identity of a question or rule; also the key of an override."""

    PACEMAKER = "pacemaker"
    PREGNANCY = "pregnancy"
    METAL_IMPLANT = "metal_implant"
    BROKEN_SKIN = "broken_skin"
    IMPAIRED_SENSATION = "impaired_sensation"
    DRUG_ALLERGY = "drug_allergy"
    RISKY_PLACEMENT = "risky_placement"
    PATIENT_INFORMED = "patient_informed"
    INFANT = "infant"
    INSULIN_DEPENDENT_DIABETES = "insulin_dependent_diabetes"
    CORTICOSTEROID_INTERVAL = "corticosteroid_interval"


class Caution(str, enum.Enum):
    """A corticosteroid caution: does not block, but needs an explicit confirmation."""

    CORTICOSTEROID_PREGNANCY = "corticosteroid_pregnancy"
    CORTICOSTEROID_INFANT = "corticosteroid_infant"
    CORTICOSTEROID_DIABETES = "corticosteroid_diabetes"


class QuestionKind(str, enum.Enum):
    CONTRAINDICATION = "contraindication"  # "yes" blocks (overridable with a reason)
    CONSENT = "consent"  # must be "yes"
    CAUTION = "caution"  # corticosteroids only; "yes" needs a confirmation


@dataclass(frozen=True, slots=True)
class Question:
    """One yes/no question as the UI shows it. ``text`` is the plain-language wording."""

    check: Check
    kind: QuestionKind
    text: str


@dataclass(frozen=True, slots=True)
class _Rule:
    check: Check
    kind: QuestionKind
    text: str  # may contain {drug}
    finding: str  # the blocker (contraindication/consent) or caution message, may contain {drug}
    caution: Caution | None = None


_GENERIC_DRUG = "the drug"

_RULES: tuple[_Rule, ...] = (
    _Rule(Check.PACEMAKER, QuestionKind.CONTRAINDICATION,
          "Does the patient have a pacemaker, defibrillator or other implanted electronic device?",
          "Contraindication: pacemaker or other implanted electronic device."),
    _Rule(Check.PREGNANCY, QuestionKind.CONTRAINDICATION,
          "Is the patient pregnant, or could she be?",
          "Contraindication: pregnancy.",
          caution=Caution.CORTICOSTEROID_PREGNANCY),
    _Rule(Check.METAL_IMPLANT, QuestionKind.CONTRAINDICATION,
          "Is there a metal implant (plate, screw, joint replacement) in the path of the current?",
          "Contraindication: metal implant in the path of the current."),
    _Rule(Check.BROKEN_SKIN, QuestionKind.CONTRAINDICATION,
          "Is the skin at the electrode site broken, cut, scraped or raw?",
          "Contraindication: broken or raw skin at the electrode site."),
    _Rule(Check.IMPAIRED_SENSATION, QuestionKind.CONTRAINDICATION,
          "Is feeling reduced or numb at the electrode site?",
          "Contraindication: impaired sensation at the electrode site "
          "(the patient may not feel a burn coming)."),
    _Rule(Check.DRUG_ALLERGY, QuestionKind.CONTRAINDICATION,
          "Is the patient known to be allergic to {drug}?",
          "Contraindication: known allergy to {drug}."),
    _Rule(Check.RISKY_PLACEMENT, QuestionKind.CONTRAINDICATION,
          "Would the current cross the head, the eyes, the chest or the side of the neck (carotid sinus)?",
          "Contraindication: electrodes placed across the head, eyes, chest or carotid sinus."),
    _Rule(Check.PATIENT_INFORMED, QuestionKind.CONSENT,
          "Has the patient been told that tingling, nausea, headache, dizziness or more pain can happen, "
          "and that the treatment can be stopped at any time?",
          "Tell the patient that tingling, nausea, headache, dizziness or more pain can happen "
          "and that they can stop the treatment at any time, then answer yes."),
    _Rule(Check.INFANT, QuestionKind.CAUTION,
          "Is the patient an infant?",
          "Corticosteroid in an infant: confirm that the prescriber has approved it.",
          caution=Caution.CORTICOSTEROID_INFANT),
    _Rule(Check.INSULIN_DEPENDENT_DIABETES, QuestionKind.CAUTION,
          "Does the patient have severe insulin-dependent diabetes?",
          "Corticosteroid with severe insulin-dependent diabetes: blood sugar can rise; "
          "confirm that the prescriber has approved it.",
          caution=Caution.CORTICOSTEROID_DIABETES),
)

_PREGNANCY_CAUTION = "Corticosteroid in pregnancy: confirm that the prescriber has approved it."

#: Tap water has no drug to be allergic to ("allergic to tap water?" reads as nonsense to a therapist):
#: the allergy question asks about the real risks of tap-water trays in plain words: a skin reaction to
#: earlier treatments, or to the metal of the electrodes and trays. Same check key, so records stay comparable.
_TAP_WATER_ALLERGY = (
    "Has the patient's skin reacted badly (rash, blisters, burns) to an earlier tap-water treatment, "
    "or is the patient allergic to metal such as nickel?",
    "Contraindication: skin reaction to an earlier tap-water treatment or allergy to metal (electrodes, trays).",
)


def _wording(rule: _Rule, drug: str, tap_water: bool) -> tuple[str, str]:
    """The rule's question and finding as the therapist reads them for this protocol."""
    if tap_water and rule.check is Check.DRUG_ALLERGY:
        return _TAP_WATER_ALLERGY
    return rule.text.format(drug=drug), rule.finding.format(drug=drug)


def _asked(is_corticosteroid: bool) -> tuple[_Rule, ...]:
    return tuple(r for r in _RULES if is_corticosteroid or r.kind is not QuestionKind.CAUTION)


def questions_for(*, is_corticosteroid: bool, drug_name: str | None = None,
                  tap_water: bool = False) -> tuple[Question, ...]:
    """The questions to ask, in order: caution questions only for a corticosteroid; ``tap_water``
    (a tap-water protocol) asks about skin and metal reactions instead of a drug allergy."""
    drug = drug_name or _GENERIC_DRUG
    return tuple(Question(r.check, r.kind, _wording(r, drug, tap_water)[0]) for r in _asked(is_corticosteroid))


# --- result model ----------------------------------------------------------------------

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Finding(BaseModel):
    """A blocker, warning or caution, in words the therapist reads as they are."""

    model_config = _FROZEN

    check: str  # a Check or Caution value
    message: str
    overridable: bool = False


class AppliedOverride(BaseModel):
    """A blocker the therapist overrode, with the written reason (kept in the record)."""

    model_config = _FROZEN

    check: str
    message: str
    reason: str


class PrecheckResult(BaseModel):
    """Everything the checklist decided, and on what; ``as_record()`` is what gets stored."""

    model_config = _FROZEN

    can_start: bool
    blockers: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    confirmations_needed: tuple[Finding, ...]
    confirmed: tuple[Finding, ...]
    overridden: tuple[AppliedOverride, ...]
    answers: dict[str, bool | None]
    is_corticosteroid: bool
    drug_name: str | None
    last_corticosteroid_session: date | None
    today: date

    def as_record(self) -> dict[str, Any]:
        """JSON-serialisable dict (dates as ISO strings); ``PrecheckResult.model_validate`` reads it back."""
        return self.model_dump(mode="json")


# --- evaluation ------------------------------------------------------------------------


def _key(value: Any) -> str:
    return value.value if isinstance(value, enum.Enum) else str(value)


def _override_reason(overrides: Mapping[str, str | None], check: str) -> tuple[str | None, str | None]:
    """(accepted reason, refusal note): a missing or too-short reason is not an override."""
    raw = overrides.get(check)
    if raw is None:
        return None, None
    reason = raw.strip() if isinstance(raw, str) else ""
    if len(reason) < MIN_OVERRIDE_REASON_CHARS:
        return None, (f" Override refused: write a reason of at least "
                      f"{MIN_OVERRIDE_REASON_CHARS} characters.")
    return reason, None


def _corticosteroid_interval(last: date, today: date) -> tuple[Finding | None, Finding | None]:
    """(note, overridable blocker) for the date of the last corticosteroid session: exactly one of the
    two, with the message of the rule's home (``core.corticosteroids``)."""
    fact = corticosteroid_interval(last, today)
    finding = Finding(check=Check.CORTICOSTEROID_INTERVAL.value, message=fact.message, overridable=fact.blocks)
    return (None, finding) if fact.blocks else (finding, None)


def evaluate(
    answers: Mapping[Check | str, bool | None],
    *,
    is_corticosteroid: bool,
    last_corticosteroid_session: date | None,
    today: date,
    overrides: Mapping[Check | str, str | None] | None = None,
    confirmed: Iterable[Caution | str] = (),
    drug_name: str | None = None,
    tap_water: bool = False,
) -> PrecheckResult:
    """Judge the checklist. Never raises on bad answers: whatever is not a bool counts as unanswered.

    ``answers`` maps each ``Check`` (or its value) to True (yes), False (no) or None
    (not answered). ``overrides`` maps a blocked ``Check`` to the therapist's written
    reason. ``confirmed`` lists the ``Caution``s the therapist has explicitly
    confirmed. Overrides or confirmations for something that did not apply are ignored.
    ``can_start`` is True only with no blockers left and no confirmation pending.
    ``tap_water``: the protocol uses tap water; the allergy question is worded for it.
    """
    given = {_key(k): v for k, v in answers.items()}
    reasons = {_key(k): v for k, v in (overrides or {}).items()}
    confirmed_keys = {_key(c) for c in confirmed}
    drug = drug_name or _GENERIC_DRUG

    blockers: list[Finding] = []
    warnings: list[Finding] = []
    needed: list[Finding] = []
    done: list[Finding] = []
    overridden: list[AppliedOverride] = []
    asked: dict[str, bool | None] = {}

    def block(finding: Finding) -> None:
        reason, refusal = _override_reason(reasons, finding.check) if finding.overridable else (None, None)
        if reason is not None:
            overridden.append(AppliedOverride(check=finding.check, message=finding.message, reason=reason))
        elif refusal is not None:
            blockers.append(finding.model_copy(update={"message": finding.message + refusal}))
        else:
            blockers.append(finding)

    def caution(which: Caution, message: str) -> None:
        finding = Finding(check=which.value, message=message)
        (done if which.value in confirmed_keys else needed).append(finding)

    for rule in _asked(is_corticosteroid):
        value = given.get(rule.check.value)
        answer = value if isinstance(value, bool) else None
        asked[rule.check.value] = answer
        text, finding = _wording(rule, drug, tap_water)
        if answer is None:
            blockers.append(Finding(check=rule.check.value, message=f"Not answered: {text}"))
        elif rule.kind is QuestionKind.CONTRAINDICATION and answer:
            block(Finding(check=rule.check.value, message=finding, overridable=True))
        elif rule.kind is QuestionKind.CONSENT and not answer:
            blockers.append(Finding(check=rule.check.value, message=rule.finding))
        if is_corticosteroid and answer and rule.caution is not None:
            message = _PREGNANCY_CAUTION if rule.check is Check.PREGNANCY else rule.finding
            caution(rule.caution, message)

    if is_corticosteroid and last_corticosteroid_session is not None:
        warning, blocker = _corticosteroid_interval(last_corticosteroid_session, today)
        if warning is not None:
            warnings.append(warning)
        if blocker is not None:
            block(blocker)

    return PrecheckResult(
        can_start=not blockers and not needed,
        blockers=tuple(blockers),
        warnings=tuple(warnings),
        confirmations_needed=tuple(needed),
        confirmed=tuple(done),
        overridden=tuple(overridden),
        answers=asked,
        is_corticosteroid=is_corticosteroid,
        drug_name=drug_name,
        last_corticosteroid_session=last_corticosteroid_session,
        today=today,
    )
