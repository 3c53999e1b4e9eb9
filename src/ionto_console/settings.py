"""Console settings: from the command line, then IONTO_* environment variables, then defaults.

Validated with pydantic so a wrong value is refused at start with the field
name, instead of surfacing later in the middle of a treatment.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

ENV_PREFIX = "IONTO_"


class Settings(BaseModel):
    """What the composition root needs to build the console."""

    demo: bool = Field(
        default=False, description="Demo mode (--demo, IONTO_DEMO=1): the simulated board, the demo database "
        "(marked as such inside itself), the public demo accounts; never on a station that treats patients"
    )
    board_port: str | None = Field(
        default=None, description="Serial port or pyserial URL of the board; none = choose one on the connection "
        "panel (demo mode: the simulated board)"
    )
    sim_load: str = Field(
        default="skin", pattern=r"^(skin|tray|resistor:[0-9.eE+]+)$",
        description="Simulated load: skin, tray (tap-water hyperhidrosis) or resistor:OHMS",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the records database; none = SQLite in the user data dir"
    )
    calibration_interval_days: int = Field(default=365, ge=1, le=3650)
    station_name: str = Field(default="station-1", min_length=1)
    protocols_dir: Path | None = Field(
        default=None, description="Folder of the clinic's own protocol files; none = 'protocols' in the user data dir"
    )
    export_dir: Path | None = Field(
        default=None, description="Folder the Records tab's save dialogs open in (reports, CSV, FHIR); none = the "
        "user's Documents folder. The last folder used is proposed again for the rest of the session"
    )

    @classmethod
    def from_sources(cls, overrides: dict[str, object]) -> "Settings":
        values: dict[str, object] = {}
        for name in cls.model_fields:
            env = os.environ.get(ENV_PREFIX + name.upper())
            if env is not None:
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
