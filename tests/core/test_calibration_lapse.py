"""A board's calibration lapse date: the certificate's due date wins, nothing lengthens it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from ionto_console.core.calibration import DEFAULT_INTERVAL_DAYS, lapse_date

days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 1, 1))


@given(days, st.one_of(st.none(), days), st.integers(min_value=-10, max_value=100_000))
def test_no_interval_ever_lengthens_the_certificate_or_the_standard_interval(calibrated, certificate, interval):
    due = lapse_date(calibrated, certificate, interval)
    assert due is not None and due <= calibrated + dt.timedelta(days=DEFAULT_INTERVAL_DAYS)
    if certificate is not None:
        assert due <= certificate
    assert due > calibrated or (certificate is not None and certificate <= calibrated)


def test_tried_3650_days_do_not_let_a_board_calibrated_three_years_ago_treat():
    three_years_ago = dt.date(2023, 11, 30)
    assert lapse_date(three_years_ago, None, 3650) == dt.date(2024, 11, 29)
    assert lapse_date(None, None, 3650) is None
    assert lapse_date(dt.date(2026, 1, 1), dt.date(2026, 6, 1), 365) == dt.date(2026, 6, 1)
    assert lapse_date(dt.date(2026, 1, 1), dt.date(2026, 12, 1), 90) == dt.date(2026, 4, 1)
