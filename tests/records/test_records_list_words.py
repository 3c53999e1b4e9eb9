"""The Records list names an "Other…" side effect by the therapist's own words (issue 14: it said "other")."""

from __future__ import annotations

from ionto_console.control.records_views import session_row
from ionto_console.records import finish_session, record_side_effect, start_session
from ionto_console.records.queries import search_sessions

from records_helpers import new_patient, session_start


def test_the_list_shows_the_typed_words_of_an_other_side_effect(db):
    sid = start_session(db, session_start(new_patient(db)))
    record_side_effect(db, sid, kind="dizziness", who="dana")
    record_side_effect(db, sid, kind="other", who="dana", note="metallic taste")
    finish_session(db, sid, state="stopped", reason="Other side effect: metallic taste", dose_delivered_ma_min=1.0,
                   who="dana")
    (item,) = search_sessions(db)
    assert item.side_effects == ("dizziness", "other") and item.side_effect_notes == ("", "metallic taste")
    assert session_row(item).cells[-1] == "dizziness, metallic taste"
