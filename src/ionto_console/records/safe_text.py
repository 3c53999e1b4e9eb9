"""Text leaving the console for other programs: spreadsheet-safe CSV cells, control-free FHIR strings.

WHY: a patient name, a note or a diagnosis code is typed by people and ends
up in a clinic's spreadsheet or EHR. A CSV cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CSV/formula injection, e.g.
``=HYPERLINK(...)`` or ``+cmd|...``). The OWASP remedy: prefix such a cell
with a single quote, which spreadsheets show as text and never evaluate.
Numbers the console formats itself (``-1.5``) stay numbers.

FHIR strings may hold no control characters (NUL, ESC, BEL ...); an EHR
may refuse the whole bundle or, worse, pass them on to a terminal.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from typing import Any, Iterable

#: A cell starting with one of these is evaluated as a formula by common spreadsheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: Full-width look-alikes some spreadsheets also accept as a formula start.
_WIDE_TRIGGERS = ("\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Kept in FHIR strings: the whitespace the FHIR string type allows.
_FHIR_KEPT = {"\t", "\n", "\r"}
BLANK_AFTER_CLEANING = "(control characters removed)"


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (a plain number is not)."""
    if not text:
        return False
    stripped = text.lstrip(" ")
    if text[0] in FORMULA_TRIGGERS or stripped[:1] in FORMULA_TRIGGERS or stripped[:1] in _WIDE_TRIGGERS:
        return _PLAIN_NUMBER.fullmatch(text.strip()) is None
    return False


def safe_cell(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates: formula-like text gets a leading single quote."""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def csv_writer(out: Any) -> Any:
    """A CSV writer with RFC 4180 line ends (CRLF).

    WHY not ``lineterminator="\\n"``: the csv module quotes a cell only when it holds a character
    of the line terminator, so with a bare LF a carriage return inside a note went out unquoted and
    split the row in a spreadsheet."""
    return csv.writer(out, lineterminator="\r\n")


def fhir_text(text: str) -> str:
    """``text`` without control characters (Unicode category Cc, except tab, LF, CR).

    A string left blank becomes a short marker: FHIR forbids empty strings."""
    cleaned = "".join(ch for ch in text if ch in _FHIR_KEPT or unicodedata.category(ch) != "Cc")
    return cleaned if cleaned.strip() else BLANK_AFTER_CLEANING


def fhir_clean(value: Any) -> Any:
    """Every string in a JSON-like structure through ``fhir_text`` (keys are the exporter's own)."""
    if isinstance(value, str):
        return fhir_text(value)
    if isinstance(value, dict):
        return {k: fhir_clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fhir_clean(v) for v in value]
    return value
