"""The last corticosteroid session: one fact, one message, one severity, in plain words (issue 14).

The new-user pass read both "Blocked: … not given on consecutive days" and
"Warning: Last corticosteroid session was … (today)" on one checklist, a
"Reminder" of the same fact on the set-up form, and "0 day(s) after the
previous one" in a course reminder.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.corticosteroids import corticosteroid_interval
from ionto_console.core.day_words import days_after, days_ago
from ionto_console.core.prechecks import Check, evaluate, questions_for

TODAY = dt.date(2026, 11, 30)


def _all_clear() -> dict[str, bool]:
    return {q.check.value: q.check is Check.PATIENT_INFORMED for q in questions_for(is_corticosteroid=True)}


@given(st.integers(min_value=-30, max_value=400), st.booleans())
def test_the_checklist_says_the_fact_once_and_blocks_exactly_the_same_and_next_day(days, override):
    last = TODAY - dt.timedelta(days=days)
    overrides = {Check.CORTICOSTEROID_INTERVAL: "Prescriber ordered two days in a row"} if override else {}
    result = evaluate(_all_clear(), is_corticosteroid=True, last_corticosteroid_session=last, today=TODAY,
                      overrides=overrides)
    said = [f.message for f in (*result.blockers, *result.warnings, *result.overridden)
            if f.check == Check.CORTICOSTEROID_INTERVAL.value]
    assert len(said) == 1, said
    blocks = days <= 1
    assert result.can_start is (not blocks or override)
    assert (len(result.overridden) == 1) is (blocks and override)
    assert "day(s)" not in said[0] and last.isoformat() in said[0]
    assert corticosteroid_interval(last, TODAY).blocks is blocks


def test_plain_words_for_days():
    assert [days_ago(d) for d in (0, 1, 2, -1, -3)] == ["today", "yesterday", "2 days ago", "tomorrow", "in 3 days"]
    assert [days_after(d) for d in (0, 1, 5)] == ["on the same day as", "the day after", "5 days after"]
    today = corticosteroid_interval(TODAY, TODAY)
    assert today.blocks and today.message.startswith("Last corticosteroid session: today (2026-11-30).")
    older = corticosteroid_interval(TODAY - dt.timedelta(days=3), TODAY)
    assert not older.blocks and older.message == "Last corticosteroid session: 3 days ago (2026-11-27)."
