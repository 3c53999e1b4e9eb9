"""When a board's calibration is due and whether it has lapsed: the one home of that rule.

The treatment desk refuses a start with a lapsed calibration, the connection
panel says so in one line, and a verification run fails a lapsed board; all
three ask ``calibration_status``. ``core.calibration`` re-exports everything
here, so ``core.calibration.calibration_status`` is the same function.

WHY its own small module: the desk and the connection panel load at every
start of the console, and the rest of ``core.calibration`` (the sweep plans
and results as pydantic models, numpy fits) is for engineers only; importing
it at start-up would cost the therapist's console its start time for nothing.
Qt-free, I/O-free, no clock: the caller passes today.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_INTERVAL_DAYS = 365


class CalibrationRuleError(ValueError):
    """A plan, a fit or a measurement that the rules refuse (message in plain words)."""


def next_due(calibrated: dt.date | dt.datetime, interval_days: int = DEFAULT_INTERVAL_DAYS) -> dt.date:
    """The date the calibration lapses."""
    if interval_days < 1:
        raise CalibrationRuleError(f"calibration interval must be at least 1 day, got {interval_days}")
    day = calibrated.date() if isinstance(calibrated, dt.datetime) else calibrated
    return day + dt.timedelta(days=interval_days)


def lapse_date(board_calibrated: dt.date | None, certificate_due: dt.date | None,
               interval_days: int = DEFAULT_INTERVAL_DAYS) -> dt.date | None:
    """The day a board's calibration lapses (None: never calibrated).

    WHY nothing lengthens it (issue 13: ``IONTO_CALIBRATION_INTERVAL_DAYS=3650`` let a board calibrated
    three years ago treat): the due date on the board's certificate, set by the engineer who calibrated
    it and kept in the records, is the limit; a clinic's (or a station's) interval can only bring it
    earlier, and without a certificate in the records the standard interval is the most allowed."""
    if board_calibrated is None:
        return None
    by_interval = board_calibrated + dt.timedelta(days=max(1, min(interval_days, DEFAULT_INTERVAL_DAYS)))
    return by_interval if certificate_due is None else min(certificate_due, by_interval)


@dataclass(frozen=True)
class Certificate:
    """A board's newest passing calibration certificate as the records keep it: when it was issued
    (the day the engineer's run ended, UTC) and the due date printed on it."""

    issued: dt.date
    due: dt.date


@dataclass(frozen=True)
class CalibrationStatus:
    """Whether a board's calibration is in force on a given day, with the words to say so.

    ``lapsed`` is True for a board never calibrated too (``calibrated_on`` None): either
    way it may not treat. The due day itself is still valid; the day after, it lapsed.
    """

    calibrated_on: dt.date | None
    due: dt.date | None
    lapsed: bool
    #: One plain line for the connection panel.
    text: str
    #: Why a treatment may not start, as the desk's blocker list says it ("" when valid).
    blocker: str

    @property
    def valid(self) -> bool:
        return not self.lapsed


def calibration_status(cal_date_unix: int, interval_days: int, today: dt.date,
                       certificate_due: dt.date | None = None, *,
                       certificate: Certificate | None = None) -> CalibrationStatus:
    """The one home of the calibration lapse rule (desk blocker, connection panel, verification run).

    ``cal_date_unix`` is the board's stored calibration time (ICD IDENT/READ_CAL: Unix
    seconds, 0 = never calibrated); its calendar day is taken in UTC, as it was written.
    ``today`` is the caller's day (core takes time as an argument). ``certificate_due``: the due date
    on the board's newest passing certificate in the records, which wins (``lapse_date``: nothing
    lengthens it, an interval only shortens it). ``certificate``: that certificate whole (its due date
    is ``certificate_due`` when that is not given); the line then says when it was issued, beside the
    board's own date when they differ (issue 14: after a new calibration the header still read
    "calibrated 2026-10-01", the date the board reports, with the new certificate nowhere).
    """
    if certificate is not None and certificate_due is None:
        certificate_due = certificate.due
    if cal_date_unix <= 0:
        return CalibrationStatus(
            None, None, True,
            "Calibration: never calibrated. Treatments are blocked until an engineer calibrates it.",
            "The board has never been calibrated.")
    calibrated = dt.datetime.fromtimestamp(cal_date_unix, dt.timezone.utc).date()
    due = lapse_date(calibrated, certificate_due, interval_days)
    assert due is not None
    if certificate is None:
        when = f"calibrated {calibrated.isoformat()}"
    elif certificate.issued == calibrated:
        when = f"calibrated {calibrated.isoformat()}, certificate in the records"
    else:
        when = f"last certificate {certificate.issued.isoformat()}; board's own date {calibrated.isoformat()}"
    if today > due:
        return CalibrationStatus(
            calibrated, due, True,
            f"Calibration lapsed on {due.isoformat()} ({when}). Treatments are blocked until it is recalibrated.",
            f"The board's calibration lapsed on {due.isoformat()}.")
    return CalibrationStatus(calibrated, due, False, f"Calibration valid until {due.isoformat()} ({when})", "")
