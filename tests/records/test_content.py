"""The canonical content digest of a session (the contract signatures bind to)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ionto_console.records import (
    RecordNotFound,
    SampleWriter,
    add_note,
    finish_session,
    record_side_effect,
    sign_session,
    start_session,
    update_patient,
)
from ionto_console.records.content import session_content_digest

from records_helpers import account, new_patient, session_start


def _session(db) -> int:
    pid = new_patient(db)
    sid = start_session(db, session_start(pid))
    writer = SampleWriter(db, sid)
    for i in range(30):
        writer.add(i * 0.01, 1.0, 5.0, 5.0, 1.0, 1)
    writer.add_event("state", "treating", {"x": 1})
    writer.close()
    finish_session(db, sid, state="complete", reason="", dose_delivered_ma_min=3, who="dana")
    return sid


def test_digest_is_stable_and_ignores_signatures(db):
    sid = _session(db)
    first = session_content_digest(db, sid)
    assert len(first) == 64 and int(first, 16) >= 0
    assert session_content_digest(db, sid) == first
    sign_session(db, sid, username=account(db, "dana", "Dana"), meaning="performed")
    assert session_content_digest(db, sid) == first


@pytest.mark.parametrize("change", ["note", "side_effect", "patient", "sample", "dose"])
def test_every_part_changes_the_digest(db, change):
    sid = _session(db)
    before = session_content_digest(db, sid)
    if change == "note":
        add_note(db, sid, "later", author="dana")
    elif change == "side_effect":
        record_side_effect(db, sid, kind="tingling", who="dana")
    elif change == "patient":
        update_patient(db, 1, who="dana", why="typo", name="Anne Example")
    else:
        sql = ("UPDATE sample_chunks SET t0 = t0 + 1" if change == "sample"
               else "UPDATE sessions SET dose_delivered_ma_min = 99")
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    assert session_content_digest(db, sid) != before


def test_unknown_session(db):
    with pytest.raises(RecordNotFound):
        session_content_digest(db, 999)
