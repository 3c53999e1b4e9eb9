"""What the Records tab shows, as plain view models built from the records (no Qt, no database handles).

WHY here and not in the widget: the tab only shows text and curves; which
rows, which words, which markers on the replay is decided once, on the
records worker thread (``records_service``), so the GUI thread never holds a
database type. The marker and side-effect rules are kept as they were in the
tab until core gives them one home (issue 11, part 2).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.markers import kind_words, plot_markers
from ..core.outcomes import outcome_words, state_words
from ..core.session import SIDE_EFFECT_KINDS
from ..records import FINAL_STATES, PatientCourses, SessionListItem, SessionSummary
from ..records.queries import EventInfo
from ..records.report import coverage_of
from ..reports.treatment_report import clock, coverage_line, diagnosis_line, dose_text, overrides_lines, when
from .telemetry_buffer import TelemetryView

#: Outcomes a search can ask for (the records' final states).
OUTCOMES: tuple[str, ...] = tuple(FINAL_STATES)
#: Side-effect kinds as the treatment screen records them (core's list, never a copy).
SIDE_EFFECTS: tuple[str, ...] = SIDE_EFFECT_KINDS
COLUMNS = ("Date", "Patient", "Protocol", "Outcome", "Dose (mA·min)", "Side effects")


#: A recorded kind in words (core's wording, the same as the PDF report's).
words = kind_words


@dataclass(frozen=True)
class SessionRow:
    """One line of the search results."""

    id: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class SearchResult:
    rows: tuple[SessionRow, ...]
    message: str
    error: bool = False


@dataclass(frozen=True)
class Marker:
    """A labelled vertical line on the replay: ``kind`` is "side_effect" or "alarm"."""

    t_s: float
    label: str
    kind: str


@dataclass(frozen=True)
class SessionView:
    """One session as the tab shows it; ``samples`` None (with ``replay_error``) when they cannot be read."""

    id: int
    patient_identifier: str
    started_at: dt.datetime
    summary_html: str
    course_html: str
    position: str
    warning: bool
    samples: TelemetryView | None = None
    markers: tuple[Marker, ...] = ()
    replay_message: str = ""
    replay_error: str = ""


@dataclass(frozen=True)
class AuditView:
    ok: bool
    text: str


@dataclass(frozen=True)
class SearchCriteria:
    """The search fields; empty/None fields are not applied."""

    patient: str = ""
    protocol: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    outcome: str = ""
    side_effect: str = ""

    def as_kwargs(self) -> dict:
        """``records.search_sessions`` keyword arguments (empty fields left out)."""
        found: dict = {}
        for key in ("patient", "protocol", "outcome", "side_effect"):
            value = getattr(self, key).strip()
            if value:
                found[key] = value
        for key in ("date_from", "date_to"):
            if getattr(self, key) is not None:
                found[key] = getattr(self, key)
        return found


def session_row(item: SessionListItem) -> SessionRow:
    return SessionRow(item.id, (
        item.started_at.astimezone().strftime("%Y-%m-%d %H:%M"), f"{item.patient_name} ({item.patient_identifier})",
        item.protocol_name, outcome_words(item.state, item.reason),
        f"{item.dose_delivered_ma_min:.1f} / {item.dose_target_ma_min:.1f}",
        side_effects_line(item)))


def side_effects_line(item: SessionListItem) -> str:
    """A session's side effects in one line ("dizziness, skin itching"): the Records list and a patient's history
    on the set-up read the same ("Other…" by the therapist's words; the history said "other")."""
    notes = item.side_effect_notes or ("",) * len(item.side_effects)
    return ", ".join(side_effect_words(k, n) for k, n in zip(item.side_effects, notes))


def side_effect_words(kind: str, note: str) -> str:
    """A side effect as the list shows it: "Other…" by the therapist's own words, the rest by name."""
    return note if kind == "other" and note.strip() else words(kind)


def summary_html(summary: SessionSummary) -> str:
    """The session as the therapist reads it (plain HTML for a QTextBrowser).

    The board's calibration constants (gain, offset) are an engineer's detail: the summary says which
    board and when it was calibrated; the constants are on the PDF's technical line."""
    e = html.escape
    cal = summary.calibration
    flag, flagged = coverage_line(summary.diagnosis_code, coverage_of(summary))
    rows = [
        ("Patient", f"{summary.patient.name} ({summary.patient.identifier})"),
        ("Protocol", summary.protocol_name),
        ("Site", summary.site_text or "—"),
        ("Diagnosis", diagnosis_line(summary.diagnosis_code)),
        ("Coverage", flag),
        ("Outcome", outcome_words(summary.state, summary.reason)),
        ("Dose", dose_text({"delivered_ma_min": summary.dose_delivered_ma_min,
                            "target_ma_min": summary.dose_target_ma_min,
                            "percent": (100 * summary.dose_delivered_ma_min / summary.dose_target_ma_min
                                        if summary.dose_target_ma_min else None)})),
        ("Started", when(summary.started_at, seconds=True)),
        ("Ended", when(summary.ended_at, seconds=True)),
        ("Operator", summary.operator),
        ("Station", summary.station or "—"),
        ("Board", f"{summary.board_serial or '—'}, calibrated {when(cal.date)}"),
        ("Samples", f"{summary.sample_count:,}"),
    ]
    parts = ["<table cellspacing='2'>"]
    red = " style='color:#b71c1c'"  # a coverage flag is read before billing
    parts += [f"<tr><td><b>{e(k)}</b>&nbsp;&nbsp;</td><td{red if k == 'Coverage' and flagged else ''}>{e(v)}</td></tr>"
              for k, v in rows]
    parts.append("</table>")

    def section(title: str, lines: Sequence[str], empty: str) -> None:
        parts.append(f"<p><b>{e(title)}</b></p>")
        if lines:
            parts.append("<ul style='margin-top:0'>" + "".join(f"<li>{e(x)}</li>" for x in lines) + "</ul>")
        else:
            parts.append(f"<p style='color:#555'>{e(empty)}</p>")

    section("Side effects", [f"{clock(s.at, summary.started_at)}  {words(s.kind)}" + (f" — {s.note}" if s.note else "")
                             for s in summary.side_effects], "None reported.")
    section("Checklist overrides", overrides_lines(summary.overrides), "None.")
    section("Notes", [f"{clock(n.at, summary.started_at)}  {n.author}: {n.text}"
                      + (f" (amends an earlier note: {n.why})" if n.amends_id is not None else "")
                      for n in summary.current_notes], "None.")
    section("Signatures", [g.manifestation for g in summary.signatures], "Not signed yet.")
    if summary.amendments:
        section("Corrections", [correction_line(a) for a in summary.amendments], "")
    return "".join(parts)


#: The correctable session fields (``records.store.AMENDABLE_FIELDS``) as a therapist names them.
FIELD_WORDS = {"diagnosis_code": "Diagnosis code", "coverage_answers": "Coverage answers",
               "reason": "Reason for the outcome", "dose_delivered_ma_min": "Dose delivered (mA·min)"}


def correction_line(amendment: Any) -> str:
    """One correction in words ("Diagnosis code → L74.510 by …"), never the column's name."""
    field = FIELD_WORDS.get(amendment.field, amendment.field.replace("_", " ").capitalize())
    return f"{field} → {amendment.value} by {amendment.who} ({amendment.why}), {when(amendment.at)}"


def course_html(courses: PatientCourses, session_id: int) -> str:
    """The patient's courses, the selected session in bold, warnings in red."""
    e = html.escape
    parts = []
    for course in courses.courses:
        parts.append(f"<p><b>Course: {e(course.title or course.name)}</b></p><ul style='margin-top:0'>")
        for entry in course.entries:
            interval = "" if entry.interval_days is None else f", {entry.interval_days} day(s) after the previous"
            line = (f"{entry.label}: {when(entry.started_at)}{interval} — {state_words(entry.state).lower()}, "
                    f"{entry.dose_delivered_ma_min:.1f} mA·min")
            parts.append(f"<li><b>{e(line)} ◀ this session</b></li>" if entry.session_id == session_id
                         else f"<li>{e(line)}</li>")
        parts.append("</ul>")
    if courses.warnings:
        parts.append("<p><b>Schedule warnings</b></p><ul style='margin-top:0'>")
        parts += [f"<li style='color:#b71c1c'>{e(w.message)}</li>" for w in courses.warnings]
        parts.append("</ul>")
    else:
        parts.append("<p style='color:#555'>No schedule warnings.</p>")
    return "".join(parts)


def course_position(courses: PatientCourses, session_id: int) -> str:
    """'Session 3 of 6' for the given session ('' when it is not in any course)."""
    for course in courses.courses:
        for entry in course.entries:
            if entry.session_id == session_id:
                return entry.label
    return ""


def course_title(courses: PatientCourses, summary: SessionSummary) -> str:
    """The name of the session's course as a therapist reads it: its protocol's name, never the grouping id."""
    for course in courses.courses:
        if course.name == summary.course and course.title:
            return course.title
    return summary.protocol_name


def position_line(summary: SessionSummary, courses: PatientCourses) -> tuple[str, bool]:
    """The bold line above the summary, and whether it carries a schedule warning for this session."""
    position = course_position(courses, summary.id)
    mine = [w.message for w in courses.warnings if w.session_id == summary.id]
    course = f"the demo course {course_title(courses, summary)} (simulated)" if summary.simulated else \
        f"the course {course_title(courses, summary)}"
    return (f"{summary.patient.name} — {position or 'Session'} of {course}"
            + (f" — ⚠ {mine[0]}" if mine else "")), bool(mine)


def markers(summary: SessionSummary, alarms: Sequence[EventInfo]) -> tuple[Marker, ...]:
    """Side effects and alarms as labelled times on the replay (seconds from the session's start),
    placed and worded by ``core.markers.plot_markers``, as on the PDF report."""
    marks = plot_markers(summary.started_at, [(e.at, e.kind) for e in summary.side_effects],
                         [(a.at, a.t, a.kind) for a in alarms])
    return tuple(Marker(mark.t_s, mark.label, mark.kind.value) for mark in marks)
