"""Which protocols deliver a corticosteroid: the one home of that rule.

Three things hang on the answer: the checklist's caution questions and its
"not on consecutive days" rule (``corticosteroid_interval`` below, applied by ``core.prechecks``), the course view's
consecutive-day warning (``records.course``) and the coverage note of the
billing report (``records.billing``). WHY one home: when each layer kept its
own word list, a prednisolone protocol was a corticosteroid in the course
view but not on the checklist, so the day rule that protects the patient
was skipped exactly where it is enforced.

WHY this list: it is the WHO ATC group H02A, "corticosteroids for systemic
use, plain" (H02AA mineralocorticoids, H02AB glucocorticoids), by INN. The
checklist's cautions (pregnancy, infants, insulin-dependent diabetes) and
the day rule are about the steroid reaching the tissue and the blood, which
is what iontophoresis does, so the systemic group is the right one; a brand
name or an agent outside it counts when its protocol sets ``corticosteroid``.
A name matches as a substring of the solution, case-insensitive, so salts and
esters count ("dexamethasone sodium phosphate", "triamcinolone acetonide"),
and so do the class words ("corticosteroid", "glucocorticoid",
"mineralocorticoid", "corticoid") when a solution is named by its class.

Qt-free and I/O-free; works on a validated ``Protocol`` and on a protocol as
the records store it (a JSON mapping), so old records are judged by today's rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from .day_words import days_ago

#: ATC H02AA (mineralocorticoids) and H02AB (glucocorticoids), by INN, lower case.
CORTICOSTEROIDS: tuple[str, ...] = (
    # H02AA
    "aldosterone", "fludrocortisone", "desoxycortone",
    # H02AB
    "betamethasone", "dexamethasone", "fluocortolone", "methylprednisolone", "paramethasone", "prednisolone",
    "prednisone", "triamcinolone", "hydrocortisone", "cortisone", "prednylidene", "rimexolone", "deflazacort",
    "cortivazol", "meprednisone", "cloprednol",
)
#: A solution named by its class rather than its drug.
CLASS_WORDS: tuple[str, ...] = ("corticosteroid", "corticoid")


def corticosteroid_named(solution: str) -> str | None:
    """The corticosteroid (or class word) a solution's name mentions, or None.

    The longest match wins, so "methylprednisolone" is named as such, not as "prednisolone".
    """
    text = solution.lower()
    found = [name for name in (*CORTICOSTEROIDS, *CLASS_WORDS) if name in text]
    return max(found, key=len) if found else None


def is_corticosteroid(protocol: Any) -> bool:
    """Does this protocol deliver a corticosteroid?

    ``protocol`` is a ``core.protocols.Protocol`` or its stored JSON form (a mapping).
    True when its ``corticosteroid`` flag is set (a stored copy is believed even where
    today's validation would refuse it: erring towards the warnings is the safe side),
    or when its agent is not tap water and its solution names one (``corticosteroid_named``).
    """
    if isinstance(protocol, Mapping):
        flagged = bool(protocol.get("corticosteroid"))
        agent = protocol.get("agent") or {}
        kind = str(agent.get("kind", "")) if isinstance(agent, Mapping) else ""
        solution = str(agent.get("solution", "")) if isinstance(agent, Mapping) else ""
    else:
        flagged = bool(getattr(protocol, "corticosteroid", False))
        agent = getattr(protocol, "agent", None)
        kind = str(getattr(getattr(agent, "kind", ""), "value", getattr(agent, "kind", "")))
        solution = str(getattr(agent, "solution", ""))
    return flagged or (kind != "tap_water" and corticosteroid_named(solution) is not None)


@dataclass(frozen=True)
class CorticosteroidInterval:
    """The one fact about the last corticosteroid session, with its one message and severity.

    WHY one message: the checklist said both "Blocked: … not given on consecutive
    days" and "Warning: Last corticosteroid session was … (today)", and the set-up
    form called the same fact a "Reminder". ``blocks`` (the same day, the next day,
    or a date after today) means the checklist refuses the start unless the therapist
    overrides it with a written reason; otherwise the date is a note to read.
    """

    days: int
    blocks: bool
    message: str
    #: "today (2026-11-30)", "3 days ago (2026-11-27)"
    when: str


def corticosteroid_interval(last: dt.date, today: dt.date) -> CorticosteroidInterval:
    """Judge the date of the patient's last corticosteroid session against today: corticosteroids
    are not given on the same or consecutive days."""
    days = (today - last).days
    when = f"{days_ago(days)} ({last.isoformat()})"
    if days < 0:
        return CorticosteroidInterval(days, True, when=when, message=(
            f"The last corticosteroid session is dated {last.isoformat()}, after today "
            f"({today.isoformat()}): check the date on this station and in the record."))
    if days <= 1:
        return CorticosteroidInterval(days, True, when=when, message=(
            f"Last corticosteroid session: {when}. Corticosteroids are not given on the same "
            "or consecutive days."))
    return CorticosteroidInterval(days, False, when=when, message=f"Last corticosteroid session: {when}.")
