"""Step and event markers on a plot: a vertical line each, and their labels in a lane above the plot.

WHY a lane: the treatment screen's live plot and the Records tab's replay
drew each marker as a pyqtgraph ``InfiniteLine`` with its own label, at one of
three fixed heights; steps a few seconds apart stacked their labels into an
unreadable block over the trace, and a late side effect's label was cut at the
right edge. Laid out together inside the plot they still printed over the
trace and beside the legend wherever the plot was short (new-user passes at
1366x768 and 1280x720), and being items in the plot's data coordinates they
moved, and were laid out again, whenever the y range changed: every frame of
a ramp. Now the lines stay in the plot, and the labels are in a lane of their
own in the plot's title row (two rows of labels, one on a short plot, none on a
very short one): they cover no data and no legend, and they are laid out (``core.markers.place_labels``,
the same rule as the PDF report) only when the x range, the lane's width or the
markers change. Each label goes beside its line in the first free row; a label
that fits nowhere is thinned (its line keeps the text as a tooltip).
"""

from __future__ import annotations

from typing import Sequence

import pyqtgraph as pg
from PySide6.QtGui import QBrush, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsSimpleTextItem, QSizePolicy

from ..core.markers import LabelBox, place_labels

#: Rows of labels in the lane (its height; more rows would take height from the plot itself).
LABEL_ROWS = 2
#: The lane's rows by the plot's whole height (pixels): a short plot keeps its height for the data, with
#: one row or none (then every label is thinned and each line keeps its text as a tooltip).
ROWS_FROM_PLOT_HEIGHT = ((200.0, 2), (80.0, 1))
#: Marker lines are never thinner than this (pixels), so a grid line cannot hide one.
MIN_LINE_PX = 2.0
#: Pixels above the first row and below the last.
LANE_MARGIN_PX = 2.0
#: The key's line samples (pixels long) and the space after each name.
KEY_SAMPLE_PX = 22.0
KEY_GAP_PX = 12.0


class _Lane(pg.GraphicsWidget):
    """The strip above a plot's view box that holds the labels (no painting of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.line_height = QFontMetricsF(self.font()).height()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def height_for(self, rows: int) -> float:
        return rows * (self.line_height + 2.0) + 2 * LANE_MARGIN_PX if rows > 0 else 0.0


class MarkerLayer:
    """The markers of one ``pg.PlotItem``: ``add`` a line with its label, ``clear`` them all."""

    def __init__(self, plot: pg.PlotItem, rows: int = LABEL_ROWS) -> None:
        self._plot = plot
        self._max_rows = rows
        self._rows = -1  # set by _fit_lane
        self._lines: list[pg.InfiniteLine] = []
        self._labels: list[QGraphicsSimpleTextItem] = []
        self._texts: list[str] = []
        self._key: list[tuple[QGraphicsLineItem, QGraphicsSimpleTextItem]] = []
        self._laid_out_for: tuple | None = None
        self.lane = _Lane()
        # the lane takes the title's row (this project's plots have no title; their axes say what they show)
        plot.layout.removeItem(plot.titleLabel)
        plot.titleLabel.setVisible(False)
        plot.layout.addItem(self.lane, 0, 1)
        self._fit_lane()
        box = plot.getViewBox()
        box.sigXRangeChanged.connect(self._layout)
        box.sigResized.connect(self._layout)
        self.lane.geometryChanged.connect(self._layout)
        # the plot item's own height is set by the page around it, never by the lane: no feedback loop
        plot.geometryChanged.connect(self._fit_lane)

    @property
    def rows(self) -> int:
        """Rows of labels the lane has now (by the plot's height, at most the layer's ``rows``)."""
        return self._rows

    def set_key(self, entries: Sequence[tuple[str, QPen]]) -> None:
        """Name the plot's curves (``("measured", pen)``, ...) at the start of the lane's first row.

        WHY here and not pyqtgraph's legend: a legend lives inside the data area and covered the trace
        wherever the plot was short (the Records tab's replay on a laptop); in the lane it covers nothing,
        and the labels go around it. A plot with a key keeps at least one row, however short."""
        for line, text in self._key:
            for item in (line, text):
                item.setParentItem(None)
                if item.scene() is not None:
                    item.scene().removeItem(item)
        self._key = []
        for name, pen in entries:
            line = QGraphicsLineItem(0.0, 0.0, KEY_SAMPLE_PX, 0.0, self.lane)
            line.setPen(pg.mkPen(pen))
            self._key.append((line, QGraphicsSimpleTextItem(name, self.lane)))
        self._rows = -1
        self._fit_lane()

    def key_names(self) -> list[str]:
        return [text.text() for _line, text in self._key]

    def _fit_lane(self) -> None:
        height = self._plot.geometry().height()
        rows = next((n for least, n in ROWS_FROM_PLOT_HEIGHT if height >= least), 0)
        rows = max(min(rows, self._max_rows), 1 if self._key else 0)
        if rows == self._rows:
            return
        self._rows = rows
        lane_height = self.lane.height_for(rows)
        self.lane.setMinimumHeight(lane_height)
        self.lane.setMaximumHeight(lane_height)
        self.lane.setVisible(rows > 0)
        self._plot.layout.setRowFixedHeight(0, lane_height)
        self._laid_out_for = None
        self._layout()

    def add(self, t_s: float, label: str, pen) -> pg.InfiniteLine:
        """A vertical line at ``t_s`` seconds with ``label`` above it (laid out with the others)."""
        pen = pg.mkPen(pen)
        # at least 2 pixels: the axes paint their opaque grid above the plot's items, and a 1-pixel
        # line on a grid column (a step at a whole second, zoomed in) vanished under it
        pen.setWidthF(max(pen.widthF(), MIN_LINE_PX))
        line = pg.InfiniteLine(pos=t_s, angle=90, pen=pen, movable=False)
        line.setToolTip(label)
        text = QGraphicsSimpleTextItem(label, self.lane)
        text.setBrush(QBrush(pen.color()))
        text.setToolTip(label)
        text.setVisible(False)  # until laid out
        self._plot.addItem(line)
        self._lines.append(line)
        self._labels.append(text)
        self._texts.append(label)
        self._laid_out_for = None
        self._layout()
        return line

    def clear(self) -> None:
        for line in self._lines:
            self._plot.removeItem(line)
        scene = self.lane.scene()
        for text in self._labels:
            text.setParentItem(None)
            if scene is not None:
                scene.removeItem(text)
        self._lines.clear()
        self._labels.clear()
        self._texts.clear()
        self._laid_out_for = None

    def markers(self) -> list[tuple[float, str]]:
        """(time in s, label) of every marker drawn, in the order added."""
        return [(float(line.value()), text) for line, text in zip(self._lines, self._texts)]

    def __len__(self) -> int:
        return len(self._lines)

    def label_boxes(self) -> list[LabelBox | None]:
        """Where each label is, in the lane's pixels (None: thinned, not shown); for tests and tools."""
        return self._boxes() if self._lines else []

    def label_items(self) -> list[QGraphicsSimpleTextItem]:
        return list(self._labels)

    def _view(self) -> tuple[float, float, float, float] | None:
        """(x0, x1, the view box's width, its left edge in the lane's pixels), or None while it has no size."""
        box = self._plot.getViewBox()
        (x0, x1), _ = box.viewRange()
        width = box.width()
        if width <= 0 or x1 <= x0:
            return None
        offset = self.lane.mapFromScene(box.mapToScene(0.0, 0.0)).x()
        return x0, x1, width, offset

    def _place_key(self, left: float) -> list[LabelBox]:
        """The key's items in a row from ``left``; the rectangle they take (labels go around it)."""
        if not self._key:
            return []
        x, height = left, 0.0
        for line, text in self._key:
            rect = text.boundingRect()
            line.setPos(x, LANE_MARGIN_PX + rect.height() / 2)
            text.setPos(x + KEY_SAMPLE_PX + 4.0, LANE_MARGIN_PX)
            x += KEY_SAMPLE_PX + 4.0 + rect.width() + KEY_GAP_PX
            height = max(height, rect.height())
        return [LabelBox(left, LANE_MARGIN_PX, x - left, height)]

    def _boxes(self) -> list[LabelBox | None]:
        view = self._view()
        if view is None:
            return [None] * len(self._lines)
        x0, x1, width, offset = view
        key = self._place_key(offset)
        per_px = (x1 - x0) / width
        # only lines in view get a label (one out of view must not take a place at the edge)
        at = {i: offset + (float(line.value()) - x0) / per_px for i, line in enumerate(self._lines)}
        right = offset + width
        order = sorted((i for i, px in at.items() if offset <= px <= right), key=at.__getitem__)
        placed = place_labels([at[i] for i in order], [self._size(self._labels[i]) for i in order],
                              left=offset, right=right, top=LANE_MARGIN_PX, rows=self._rows, avoid=key)
        boxes: list[LabelBox | None] = [None] * len(self._lines)
        for index, where in zip(order, placed):
            boxes[index] = where
        return boxes

    @staticmethod
    def _size(text: QGraphicsSimpleTextItem) -> tuple[float, float]:
        rect = text.boundingRect()
        return rect.width(), rect.height()

    def _layout(self, *_args) -> None:
        """Put every label where ``place_labels`` says, unless nothing it depends on has changed."""
        if not self._lines:
            view = self._view()
            if view is not None:
                self._place_key(view[3])
            return
        view = self._view()
        key = (view, len(self._lines), self.lane.size().toTuple(), self._rows)
        if key == self._laid_out_for:
            return  # the y range changed, or the same range was set again: the labels stay where they are
        self._laid_out_for = key
        for text, where in zip(self._labels, self._boxes()):
            if where is None:
                text.setVisible(False)
                continue
            if (text.pos().x(), text.pos().y()) != (where.left, where.top):
                text.setPos(where.left, where.top)
            text.setVisible(True)
