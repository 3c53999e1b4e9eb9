"""Patient identity rules: one spelling of an identifier, plausible birth dates.

WHY here: "  p-1001  " became a second patient beside P-1001 (a duplicate
record, and the course and corticosteroid checks ran on an empty history).
Every path that reads or writes a patient identifier normalises it with
``normalise_patient_id`` first: the set-up screen, the look-up, the recorder.
"""

from __future__ import annotations

import datetime as dt

#: Nobody treated today was born more than this many years ago.
OLDEST_YEARS = 130


def normalise_patient_id(text: str) -> str:
    """Surrounding spaces dropped, inner runs of spaces made one, letters upper case."""
    return " ".join(text.split()).upper()


def same_person_details(recorded_name: str, typed_name: str) -> bool:
    """Whether a typed name is the recorded one (ignoring case and extra spaces)."""
    return " ".join(recorded_name.split()).casefold() == " ".join(typed_name.split()).casefold()


def birth_date_problem(text: str, today: dt.date) -> str:
    """Why ``text`` is not a usable birth date, in plain words ("" when it is, or when empty)."""
    text = text.strip()
    if not text:
        return ""
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return f"The date of birth \"{text}\" is not a date: write it as year-month-day, e.g. 1970-12-31."
    if value > today:
        return "The date of birth is in the future."
    if value.year < today.year - OLDEST_YEARS:
        return f"The date of birth {value.isoformat()} is more than {OLDEST_YEARS} years ago: check it."
    return ""
