"""Calibration lapse: one status (due date, lapsed, the words) for the desk, the panel and the runner."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core import calibration
from ionto_console.core.calibration_due import calibration_status, next_due

CAL = int(dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone.utc).timestamp())


def test_valid_until_and_including_the_due_day():
    status = calibration_status(CAL, 365, dt.date(2027, 3, 1))
    assert status.valid and not status.lapsed and status.blocker == ""
    assert (status.calibrated_on, status.due) == (dt.date(2026, 3, 1), dt.date(2027, 3, 1))
    assert status.text == "Calibration valid until 2027-03-01 (calibrated 2026-03-01)"


def test_lapsed_the_day_after():
    status = calibration_status(CAL, 365, dt.date(2027, 3, 2))
    assert status.lapsed and not status.valid
    assert "lapsed on 2027-03-01" in status.text and status.blocker == "The board's calibration lapsed on 2027-03-01."


def test_core_calibration_offers_the_same_rule():
    assert calibration.calibration_status is calibration_status and calibration.next_due is next_due


def test_never_calibrated():
    status = calibration_status(0, 365, dt.date(2027, 3, 2))
    assert status.lapsed and status.due is None and status.calibrated_on is None
    assert "never calibrated" in status.text and status.blocker == "The board has never been calibrated."


@given(days_ago=st.integers(-30, 2000), interval=st.integers(1, 3650))
def test_lapsed_exactly_when_today_is_past_next_due(days_ago, interval):
    calibrated = dt.date(2026, 3, 1)
    today = calibrated + dt.timedelta(days=days_ago)
    status = calibration_status(CAL, interval, today)
    allowed = min(interval, 365)  # issue 13: an interval can shorten the standard 365 days, never lengthen them
    assert status.due == next_due(calibrated, allowed)
    assert status.lapsed is (days_ago > allowed)
    assert (status.blocker == "") is status.valid


def test_the_line_says_when_the_last_certificate_was_issued_beside_the_boards_own_date():
    """Issue 14: after a new calibration the header still said "calibrated 2026-10-01" (the board's
    IDENT date) and the new certificate was nowhere. The records' newest passing certificate is named."""
    from ionto_console.core.calibration_due import Certificate

    newer = Certificate(issued=dt.date(2026, 11, 30), due=dt.date(2027, 11, 30))
    status = calibration_status(CAL, 365, dt.date(2026, 12, 1), certificate=newer)
    # the due date is still the rule's (nothing lengthens it past the board's own date + interval)
    assert status.due == dt.date(2027, 3, 1)
    assert status.text == ("Calibration valid until 2027-03-01 "
                           "(last certificate 2026-11-30; board's own date 2026-03-01)")
    same = Certificate(issued=dt.date(2026, 3, 1), due=dt.date(2027, 2, 1))
    status = calibration_status(CAL, 365, dt.date(2026, 12, 1), certificate=same)
    assert status.due == dt.date(2027, 2, 1)  # the certificate's due date, when earlier, wins as before
    assert status.text == "Calibration valid until 2027-02-01 (calibrated 2026-03-01, certificate in the records)"
    lapsed = calibration_status(CAL, 365, dt.date(2027, 3, 2), certificate=newer)
    assert lapsed.lapsed and "last certificate 2026-11-30" in lapsed.text
    assert calibration_status(CAL, 365, dt.date(2026, 12, 1), newer.due, certificate=newer) == \
        calibration_status(CAL, 365, dt.date(2026, 12, 1), certificate=newer)
