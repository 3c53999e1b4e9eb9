"""Where a recorded session's plot gets its markers, and what they say: the one home of that rule.

The Records tab's replay and the PDF treatment report draw the same vertical
lines on the current plot: each side effect the patient reported, and each
alarm the console raised. WHY one home: the two drew them from two copies of
the same arithmetic (seconds since the start, the label's wording), and a
therapist comparing the screen with the filed page must see the same marks
at the same times. The drawing (pens, colours, fonts) stays with each caller;
positions, labels, kinds and where the labels go without overlapping
(``place_labels``, used by the live plots, the replay and the PDF) are decided
here.

Qt-free and I/O-free: callers pass plain values from their records.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Iterable, Sequence


class MarkerKind(str, enum.Enum):
    SIDE_EFFECT = "side_effect"
    ALARM = "alarm"


@dataclass(frozen=True, slots=True)
class PlotMarker:
    """A vertical line at ``t_s`` seconds after the session's start, labelled ``label``."""

    t_s: float
    label: str
    kind: MarkerKind


#: Interlock trip kinds whose code names are engineering words, in the words a therapist reads
#: on a plot (the alarm banner has the whole sentence). WHY here: the live plot, the Records
#: replay and the PDF must say the same; a kind not listed reads as its name with spaces.
TRIP_WORDS: dict[str, str] = {
    "compliance": "voltage limit",
    "impedance_low": "resistance too low",
    "impedance_falling": "resistance falling fast",
    "current_deviation": "current off target",
    "overcurrent": "current too high",
    "density": "current density too high",
    "density_warning": "current density high",
    "polarity": "wrong polarity",
    "board_clock": "board clock jumped",
    "dose_cap": "dose limit reached",
}


def kind_words(kind: str) -> str:
    """A recorded kind in words: ``"trip:open_circuit"`` -> ``"open circuit"``,
    ``"trip:compliance"`` -> ``"voltage limit"`` (``TRIP_WORDS``)."""
    name = kind.removeprefix("trip:")
    return TRIP_WORDS.get(name, name.replace("_", " "))


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


# --- label layout -------------------------------------------------------------------------------

#: Space kept between a label and its line, and between two labels (pixels or points).
LABEL_PAD = 3.0


@dataclass(frozen=True, slots=True)
class LabelBox:
    """Where one marker's label is drawn: a rectangle in the plot's drawing units (y grows down)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def intersects(self, other: "LabelBox", gap: float = 0.0) -> bool:
        """Whether the two rectangles overlap (or come closer than ``gap``)."""
        return (self.left < other.right + gap and other.left < self.right + gap
                and self.top < other.bottom + gap and other.top < self.bottom + gap)


def place_labels(anchors: Sequence[float], sizes: Sequence[tuple[float, float]], *, left: float, right: float,
                 top: float, rows: int, gap: float = LABEL_PAD,
                 avoid: Sequence[LabelBox] = ()) -> list[LabelBox | None]:
    """Where to print each marker's label so that no two labels overlap: the one rule of the live
    plots, the Records tab's replay and the PDF report.

    ``anchors[i]`` is marker i's line position across the plot and ``sizes[i]`` its label's
    (width, height), in the caller's drawing units (pixels on screen, points on the page);
    ``left``/``right`` bound the plot area, ``top`` is where the first row of labels starts.

    Each label goes beside its line (right of it, else left of it; only left of it where it
    would cross the right edge, so a late side effect is not cut off), in the first of
    ``rows`` rows where it overlaps no label placed before it (markers are taken in the order given: oldest first)
    nor any of the ``avoid`` rectangles (a legend).
    A label that fits in no row is thinned: ``None`` (the caller keeps the marker's line, and
    may offer the text elsewhere, e.g. a tooltip). WHY thin rather than shrink: labels
    seconds apart used to print over each other into an unreadable stack.
    """
    if len(anchors) != len(sizes):
        raise ValueError("one size per anchor")
    row_height = max((h for _w, h in sizes), default=0.0) + gap
    placed: list[LabelBox] = list(avoid)
    result: list[LabelBox | None] = []
    for anchor, (width, height) in zip(anchors, sizes):
        beside = anchor + gap  # right of the line, else left of it (never past the right edge)
        before = anchor - gap - width
        sides = [beside, before] if beside + width <= right else [before]
        box = None
        for row in range(max(0, rows)):
            for x in sides:
                x = max(left, min(x, right - width))
                candidate = LabelBox(x, top + row * row_height, width, height)
                if not any(candidate.intersects(other, gap) for other in placed):
                    box = candidate
                    break
            if box is not None:
                break
        if box is not None:
            placed.append(box)
        result.append(box)
    return result
