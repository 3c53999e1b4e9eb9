"""The treatment desk takes a board's due date from its certificate in the records; the station's
IONTO_CALIBRATION_INTERVAL_DAYS can no longer lengthen it (issue 13 "Tried")."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from ionto_console.app import calibration_interval
from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.records import record_calibration
from ionto_console.records.audit import audit_history
from ionto_console.settings import Settings

UTC = dt.timezone.utc


def due_after_lookup(desk: TreatmentDesk) -> dt.date | None:
    """The desk's due date once its worker has looked the certificate up (off the GUI thread)."""
    desk.calibration_due_date()
    assert desk.worker.wait_idle(10)
    desk.worker.drain()
    return desk.calibration_due_date()


def station_with(serial: str, calibrated: dt.date) -> SimpleNamespace:
    stamp = int(dt.datetime(calibrated.year, calibrated.month, calibrated.day, tzinfo=UTC).timestamp())
    return SimpleNamespace(link=SimpleNamespace(ident=SimpleNamespace(serial_number=serial, cal_date=stamp)))


def test_tried_a_long_station_interval_does_not_let_an_old_board_treat(db, monkeypatch):
    monkeypatch.setenv("IONTO_CALIBRATION_INTERVAL_DAYS", "3650")
    interval, notice = calibration_interval(Settings.from_sources({}), db, who="dana")
    assert interval == 365
    # refused in plain words (the window shows it) and audited with who started the console
    assert "IONTO_CALIBRATION_INTERVAL_DAYS=3650 is refused" in notice and "365 days" in notice
    entries = [e for e in audit_history(db, "entry point") if e["action"] == "refused"]
    assert len(entries) == 1 and entries[0]["who"] == "dana" and "3650" in entries[0]["entity_id"]
    desk = TreatmentDesk(station_with("B-1", dt.date(2023, 11, 30)), db=db, calibration_interval_days=interval)
    assert due_after_lookup(desk) == dt.date(2024, 11, 29)


def test_a_shorter_station_interval_is_taken_without_a_word(db, monkeypatch):
    monkeypatch.setenv("IONTO_CALIBRATION_INTERVAL_DAYS", "180")
    assert calibration_interval(Settings.from_sources({}), db, who="dana") == (180, "")
    assert not [e for e in audit_history(db, "entry point") if e["action"] == "refused"]


def test_the_certificate_due_date_in_the_records_wins(db):
    record_calibration(db, {"board_serial": "B-2", "mode": "calibrate", "verdict": "pass", "engineer": "Ravi Menon",
                            "finished_at": "2026-03-01T09:00:00+00:00", "due_date": "2026-09-01", "written": True},
                       who="ravi")
    desk = TreatmentDesk(station_with("B-2", dt.date(2026, 3, 1)), db=db, calibration_interval_days=365)
    assert desk.calibration_due_date() == dt.date(2027, 3, 1)  # not known yet: the start waits for it
    assert desk._certificate_pending
    assert due_after_lookup(desk) == dt.date(2026, 9, 1) and not desk._certificate_pending
    other = TreatmentDesk(station_with("B-3", dt.date(2026, 3, 1)), db=db, calibration_interval_days=365)
    assert due_after_lookup(other) == dt.date(2027, 3, 1)
