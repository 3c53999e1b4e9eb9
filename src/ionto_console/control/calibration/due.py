"""When a verified board's calibration lapses: the one lapse decision the runner makes.

WHY its own small function: the lapse rule has one home in ``core`` (the due
date, ``core.calibration.next_due``); a verification only asks it about the
constants it found on the board and compares with today. Kept apart so the
rule's home can change without touching the runner.
"""

from __future__ import annotations

import datetime as dt

from ...core.calibration import next_due


def due_date_of(cal_date_unix: int, interval_days: int) -> dt.date | None:
    """The date constants written at ``cal_date_unix`` lapse (None: never calibrated)."""
    if not cal_date_unix:
        return None
    return next_due(dt.datetime.fromtimestamp(cal_date_unix, dt.timezone.utc), interval_days)


def lapsed(due: dt.date | None, today: dt.date) -> bool:
    """A verification on ``today`` of constants due on ``due`` finds them lapsed."""
    return due is not None and due < today
