"""Days between two dates in the words a therapist says: "today", "yesterday", "3 days ago".

WHY one home: the checklist, the set-up form and the course reminders each
wrote their own ("0 day(s) after the previous one", an ISO date beside
"(today)"), and the same fact read differently on each screen.
"""

from __future__ import annotations


def days_ago(days: int) -> str:
    """How long ago, for ``days`` whole calendar days back (negative: in the future)."""
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days == -1:
        return "tomorrow"
    return f"{days} days ago" if days > 1 else f"in {-days} days"


def days_after(days: int) -> str:
    """Where a session falls relative to the previous one: "on the same day as", "the day after", ..."""
    if days == 0:
        return "on the same day as"
    if days == 1:
        return "the day after"
    return f"{days} days after"
