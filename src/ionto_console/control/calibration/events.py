"""What a calibration run reports, as small frozen events.

WHY events: the runner works on its own thread and never touches Qt. A GUI
puts these on a queue and drains it on a QTimer; a CLI prints them. Their
shape is the whole contract between the runner and whoever shows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ...core.calibration import CalibrationResult, Constants, Fit, PointResult


class Phase(str, enum.Enum):
    CONNECTING = "connecting"
    AS_FOUND = "as-found sweep"
    FIT = "fit"
    AWAITING_APPROVAL = "waiting for approval to write"
    WRITING = "writing constants"
    VERIFICATION = "verification sweep"
    SAFE_OFF = "output off"
    DONE = "done"


@dataclass(frozen=True)
class Identified:
    board_serial: str
    board_firmware: str
    constants: Constants
    instruments: dict[str, str]


@dataclass(frozen=True)
class ConnectFailed:
    reason: str


@dataclass(frozen=True)
class PhaseChanged:
    phase: Phase
    text: str


@dataclass(frozen=True)
class PointMeasured:
    sweep: str  # "as-found" or "as-left"
    point: PointResult
    index: int  # 1-based within the sweep
    total: int


@dataclass(frozen=True)
class FitReady:
    fit: Fit
    old: Constants
    new: Constants


@dataclass(frozen=True)
class RunFinished:
    result: CalibrationResult


RunEvent = Identified | ConnectFailed | PhaseChanged | PointMeasured | FitReady | RunFinished
