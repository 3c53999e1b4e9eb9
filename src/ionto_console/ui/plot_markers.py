"""Step and event markers on a plot: a vertical line each, and labels that never print over each other.

WHY a layer of its own: the treatment screen's live plot and the Records tab's
replay drew each marker as a pyqtgraph ``InfiniteLine`` with its own label, at
one of three fixed heights; steps a few seconds apart stacked their labels into
an unreadable block over the trace, and a late side effect's label was cut at
the right edge. Here the lines stay exactly as they were, and the labels are
laid out together by ``core.markers.place_labels`` (the same rule as the PDF
report) in the plot's pixels, again whenever the visible range or the plot's
size changes: each label beside its line in the first free row, a label that
fits nowhere thinned (its line keeps the text as a tooltip). The labels have no
background, so the trace stays visible under them.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF

from ..core.markers import LabelBox, place_labels

#: Rows of labels below the top of the plot (more would reach down into the trace).
LABEL_ROWS = 3
#: Marker lines are never thinner than this (pixels), so a grid line cannot hide one.
MIN_LINE_PX = 2.0
#: Pixels between the plot's top edge and the first row of labels.
TOP_MARGIN_PX = 4.0


class MarkerLayer:
    """The markers of one ``pg.PlotItem``: ``add`` a line with its label, ``clear`` them all."""

    def __init__(self, plot: pg.PlotItem, rows: int = LABEL_ROWS) -> None:
        self._plot = plot
        self._rows = rows
        self._lines: list[pg.InfiniteLine] = []
        self._labels: list[pg.TextItem] = []
        self._texts: list[str] = []
        box = plot.getViewBox()
        box.sigRangeChanged.connect(self._layout)
        box.sigResized.connect(self._layout)

    def add(self, t_s: float, label: str, pen) -> pg.InfiniteLine:
        """A vertical line at ``t_s`` seconds with ``label`` beside it (laid out with the others)."""
        pen = pg.mkPen(pen)
        # at least 2 pixels: the axes paint their opaque grid above the plot's items, and a 1-pixel
        # line on a grid column (a step at a whole second, zoomed in) vanished under it
        pen.setWidthF(max(pen.widthF(), MIN_LINE_PX))
        line = pg.InfiniteLine(pos=t_s, angle=90, pen=pen, movable=False)
        line.setToolTip(label)
        text = pg.TextItem(label, color=pen.color(), anchor=(0, 0))
        self._plot.addItem(line)
        self._plot.addItem(text, ignoreBounds=True)  # a label never widens the plot's range
        self._lines.append(line)
        self._labels.append(text)
        self._texts.append(label)
        self._layout()
        return line

    def clear(self) -> None:
        for item in (*self._lines, *self._labels):
            self._plot.removeItem(item)
        self._lines.clear()
        self._labels.clear()
        self._texts.clear()

    def markers(self) -> list[tuple[float, str]]:
        """(time in s, label) of every marker drawn, in the order added."""
        return [(float(line.value()), text) for line, text in zip(self._lines, self._texts)]

    def __len__(self) -> int:
        return len(self._lines)

    def label_boxes(self) -> list[LabelBox | None]:
        """Where each label is, in the plot's pixels (None: thinned, not shown); for tests and tools."""
        return self._boxes() if self._lines else []

    def label_items(self) -> list[pg.TextItem]:
        return list(self._labels)

    def _boxes(self) -> list[LabelBox | None]:
        box = self._plot.getViewBox()
        (x0, x1), _ = box.viewRange()
        width = box.width()
        if width <= 0 or x1 <= x0:
            return [None] * len(self._lines)
        per_px = (x1 - x0) / width
        # only lines in view get a label (one out of view must not take a place at the edge)
        at = {i: (float(line.value()) - x0) / per_px for i, line in enumerate(self._lines)}
        order = sorted((i for i, px in at.items() if 0.0 <= px <= width), key=at.__getitem__)
        placed = place_labels([at[i] for i in order], [self._size(self._labels[i]) for i in order],
                              left=0.0, right=width, top=TOP_MARGIN_PX, rows=self._rows, avoid=self._legend_box())
        boxes: list[LabelBox | None] = [None] * len(self._lines)
        for index, where in zip(order, placed):
            boxes[index] = where
        return boxes

    def _legend_box(self) -> list[LabelBox]:
        """The legend's rectangle in the plot's pixels: labels go around it, not under it."""
        legend = getattr(self._plot, "legend", None)
        if legend is None or not legend.isVisible():
            return []
        view = self._plot.getViewBox().sceneBoundingRect()
        rect = legend.sceneBoundingRect()
        return [LabelBox(rect.left() - view.left(), rect.top() - view.top(), rect.width(), rect.height())]

    @staticmethod
    def _size(text: pg.TextItem) -> tuple[float, float]:
        rect: QRectF = text.textItem.boundingRect()
        return rect.width(), rect.height()

    def _layout(self, *_args) -> None:
        """Put every label where ``place_labels`` says, in data coordinates of the current view."""
        if not self._lines:
            return
        box = self._plot.getViewBox()
        (x0, x1), (y0, y1) = box.viewRange()
        width, height = box.width(), box.height()
        if width <= 0 or height <= 0:
            return
        per_px_x, per_px_y = (x1 - x0) / width, (y1 - y0) / height
        for text, where in zip(self._labels, self._boxes()):
            if where is None:
                text.setVisible(False)
                continue
            position = (x0 + where.left * per_px_x, y1 - where.top * per_px_y)
            shown = text.pos()
            if (shown.x(), shown.y()) != position:
                text.setPos(*position)
            text.setVisible(True)
