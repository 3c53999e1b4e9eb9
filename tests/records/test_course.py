"""Course numbering and schedule warnings (hyperhidrosis series, corticosteroid on consecutive days)."""

from __future__ import annotations

import datetime as dt

from ionto_console.records import course_view, finish_session, start_session
from ionto_console.records.course import CourseSession, build_course, corticosteroid_warnings

from records_helpers import DEXA, TAP_WATER, UTC, load_protocol, new_patient, session_start

D0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _hh(days: list[int]) -> list[CourseSession]:
    return [CourseSession(i + 1, D0 + dt.timedelta(days=d), "hh", "Tap water", True, False)
            for i, d in enumerate(days)]


def test_regular_hyperhidrosis_course_has_no_warnings():
    # 6 initial sessions every 2-4 days, then maintenance every 14 (and 12, 16) days
    entries, warnings = build_course(_hh([0, 2, 5, 9, 12, 15, 29, 41, 57]))
    assert warnings == []
    assert [e.phase for e in entries] == ["initial"] * 6 + ["maintenance"] * 3
    assert [e.interval_days for e in entries] == [None, 2, 3, 4, 3, 3, 14, 12, 16]
    assert [e.number for e in entries] == list(range(1, 10))


def test_too_short_and_interrupted_initial_series():
    _, warnings = build_course(_hh([0, 1, 4, 12]))
    assert len(warnings) == 2
    assert "Session 2 is the day after the previous one" in warnings[0].message and warnings[0].session_id == 2
    assert "day(s)" not in warnings[0].message
    assert "interrupted" in warnings[1].message and "3 of at least 5" in warnings[1].message


def test_more_than_ten_initial_sessions_and_off_maintenance():
    days = [3 * i for i in range(11)]  # 11 sessions every 3 days
    _, warnings = build_course(_hh(days + [days[-1] + 30]))
    assert [w.session_id for w in warnings] == [11, 12]
    assert "More than 10" in warnings[0].message and "maintenance is every 14" in warnings[1].message


def test_calendar_days_in_the_clinic_time_zone():
    # 23:30 and 00:30 UTC next day are the same day in UTC-2, so 2 days become 1 day in that zone
    tz = dt.timezone(dt.timedelta(hours=-2))
    sessions = [CourseSession(1, dt.datetime(2026, 3, 2, 23, 30, tzinfo=UTC), "hh", "t", True, False),
                CourseSession(2, dt.datetime(2026, 3, 4, 0, 30, tzinfo=UTC), "hh", "t", True, False)]
    assert build_course(sessions)[0][1].interval_days == 2
    assert build_course(sessions, tz)[0][1].interval_days == 1


def test_corticosteroid_consecutive_days_across_courses():
    sessions = [CourseSession(1, D0, "achilles", "Dexa", False, True),
                CourseSession(2, D0 + dt.timedelta(days=1, hours=5), "shoulder", "Dexa", False, True),
                CourseSession(3, D0 + dt.timedelta(days=4), "achilles", "Dexa", False, True),
                CourseSession(4, D0 + dt.timedelta(days=5), "hh", "Tap water", True, False)]
    warnings = corticosteroid_warnings(sessions)
    assert [w.session_id for w in warnings] == [2]
    assert "consecutive days" in warnings[0].message


def test_course_view_from_the_database_with_a_planned_session(db):
    pid = new_patient(db)
    for day in (0, 7):
        sid = start_session(db, session_start(pid, DEXA, started_at=D0 + dt.timedelta(days=day),
                                              course_planned_sessions=6))
        finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=40, who="dana")
    hh = start_session(db, session_start(pid, TAP_WATER, started_at=D0 + dt.timedelta(days=1)))
    finish_session(db, hh, state="complete", reason="", dose_delivered_ma_min=300, who="dana")
    view = course_view(db, pid, planned_at=D0 + dt.timedelta(days=8, hours=2), planned_protocol=load_protocol(DEXA))
    courses = {c.name: c for c in view.courses}
    dexa = courses[DEXA].entries
    assert [e.label for e in dexa] == ["Session 1 of 6", "Session 2 of 6", "Session 3 of 6"]
    assert dexa[-1].session_id is None and dexa[-1].interval_days == 1
    assert [e.label for e in courses[TAP_WATER].entries] == ["First session"]  # no planned number: said plainly
    assert view.last_corticosteroid_at == D0 + dt.timedelta(days=7)
    # the planned session the day after a corticosteroid one: the checklist's rule says so (once), not the course
    assert view.warnings == ()


def test_a_course_reads_as_its_protocol_name_and_the_id_stays_the_grouping_key(db):
    """Issue 14 item 21: the therapist read "course dexamethasone-4mgml-40"; the course keeps the
    protocol id as its key, and the screen, the summary line and the PDF show the protocol's name."""
    from ionto_console.control.records_views import course_html, position_line
    from ionto_console.records import load_session, report_data

    pid = new_patient(db)
    sids = []
    for day in (0, 7):
        sid = start_session(db, session_start(pid, DEXA, started_at=D0 + dt.timedelta(days=day),
                                              course_planned_sessions=6))
        finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=40, who="dana")
        sids.append(sid)
    name = load_protocol(DEXA)["name"]
    view = course_view(db, pid)
    (course,) = view.courses
    assert course.name == DEXA and course.title == name
    page = course_html(view, sids[1])
    line, _ = position_line(load_session(db, sids[1]), view)
    for text in (page, line):
        assert DEXA not in text
    assert f"Course: {name}" in page
    assert line.endswith(f"Session 2 of 6 of the course {name}")
    assert report_data(db, sids[1], plot_points=50)["session"]["course_position"] == "Session 2 of 6"
