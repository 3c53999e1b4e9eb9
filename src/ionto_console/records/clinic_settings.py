"""The clinic's settings, kept in the records database: idle lock, sign-in lockout, co-signature, calibration.

WHY in the records database and not in the environment or a settings file:
these settings guard patients and records, so they must be the same at every
station of the clinic, changed only by an administrator, and every change must
land in the hash-chained audit trail (who, when, before, after, why). A local
environment variable could otherwise quietly weaken them (issue 13: an
``IONTO_CALIBRATION_INTERVAL_DAYS=3650`` let a lapsed board treat).

The bounds below are the safe range: nothing here can lengthen a board's
calibration beyond its certificate, and the lockout cannot be switched off.
Who may change them is ``accounts.change_clinic_setting``'s rule; this module
stores and validates.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from .audit import append_audit, utc_now
from .database import Database
from .errors import InvalidRecord
from .models import ClinicSetting


class ClinicSettings(BaseModel):
    """Every clinic setting with its default (a setting never stored has its default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idle_lock_minutes: float = Field(default=5.0, ge=0.5, le=60,
                                     description="a station nobody touches locks after this (never while output is on)")
    lockout_failures: int = Field(default=5, ge=2, le=20,
                                  description="failed sign-ins within the window that lock the account")
    lockout_window_minutes: float = Field(default=15.0, ge=1, le=1440)
    lockout_minutes: float = Field(default=15.0, ge=1, le=1440, description="how long a locked account stays locked")
    override_cosignature: bool = Field(default=False, description="a contraindication override needs a second "
                                       "account's co-signature")
    calibration_interval_days: int = Field(default=365, ge=1, le=365,
                                           description="may shorten a board's certificate interval, never lengthen it")


SETTING_NAMES = tuple(ClinicSettings.model_fields)


def load_clinic_settings(db: Database) -> ClinicSettings:
    """The clinic's settings (defaults for any not stored)."""
    with db.read() as s:
        stored = {row.key: row.value for row in s.scalars(select(ClinicSetting))}
    known = {key: value for key, value in stored.items() if key in SETTING_NAMES}
    try:
        return ClinicSettings.model_validate(known)
    except ValidationError:  # a row edited by hand outside the bounds: the safe defaults, never the bad value
        return ClinicSettings()


def parse_setting(key: str, text: Any) -> Any:
    """Validate one value (from a command line: text) against its field; InvalidRecord with a plain message."""
    if key not in SETTING_NAMES:
        raise InvalidRecord(f"Unknown clinic setting {key!r}; the settings are: {', '.join(SETTING_NAMES)}.")
    try:
        checked = ClinicSettings.model_validate({key: text})
    except ValidationError as exc:
        raise InvalidRecord(f"{key}: {exc.errors()[0]['msg']}") from None
    return getattr(checked, key)


def store_clinic_setting(db: Database, key: str, value: Any, *, who: str, why: str = "",
                         at: dt.datetime | None = None) -> None:
    """Store one validated setting with its audit entry (before and after) in one transaction."""
    checked = parse_setting(key, value)
    with db.write() as s:
        row = s.get(ClinicSetting, key)
        before = row.value if row is not None else getattr(ClinicSettings(), key)
        when = at or utc_now()
        if row is None:
            s.add(ClinicSetting(key=key, value=checked, changed_at=when, changed_by=who))
        else:
            row.value, row.changed_at, row.changed_by = checked, when, who
        s.flush()
        append_audit(s, who=who, action="change setting", entity="clinic_setting", entity_id=key,
                     before={key: before}, after={key: checked}, why=why or "clinic setting changed")
