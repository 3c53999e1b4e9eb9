"""Where a recorded session's plot gets its markers, and what they say: the one home of that rule.

The Records tab's replay and the PDF treatment report draw the same vertical
lines on the current plot: each side effect the patient reported, and each
alarm the console raised. WHY one home: the two drew them from two copies of
the same arithmetic (seconds since the start, the label's wording), and a
therapist comparing the screen with the filed page must see the same marks
at the same times. The drawing (pens, colours, label placement) stays with
each caller; only positions, labels and kinds are decided here.

Qt-free and I/O-free: callers pass plain values from their records.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Iterable


class MarkerKind(str, enum.Enum):
    SIDE_EFFECT = "side_effect"
    ALARM = "alarm"


@dataclass(frozen=True, slots=True)
class PlotMarker:
    """A vertical line at ``t_s`` seconds after the session's start, labelled ``label``."""

    t_s: float
    label: str
    kind: MarkerKind


def kind_words(kind: str) -> str:
    """A recorded kind in words: ``"trip:open_circuit"`` -> ``"open circuit"``."""
    return kind.removeprefix("trip:").replace("_", " ")


def plot_markers(started_at: dt.datetime,
                 side_effects: Iterable[tuple[dt.datetime, str]],
                 alarms: Iterable[tuple[dt.datetime, float | None, str]]) -> list[PlotMarker]:
    """The markers of one session, oldest first.

    ``side_effects``: (when, kind) as recorded; placed at their wall-clock time since the start.
    ``alarms``: (when, t, kind); placed at ``t`` (the session's own time axis, the one the
    samples use) when the record has it, else at the wall-clock time since the start.
    """
    marks = [PlotMarker((at - started_at).total_seconds(), kind_words(kind), MarkerKind.SIDE_EFFECT)
             for at, kind in side_effects]
    marks += [PlotMarker(float(t) if t is not None else (at - started_at).total_seconds(), kind_words(kind),
                         MarkerKind.ALARM) for at, t, kind in alarms]
    return sorted(marks, key=lambda mark: mark.t_s)
