"""Step-marker labels on the live plot do not stack on each other (issue 14 minor 13, new-user pass item 6).

Several steps within a few seconds, at the widget's own size: every marker keeps its line, and
no two visible labels' rectangles intersect on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from ionto_console.control.telemetry_buffer import TelemetryView
from ionto_console.control.treatment import Marker

STEPS = [Marker(60.0 + 1.5 * i, f"+0.5 mA → {1.0 + 0.5 * i:.1f} mA", "action") for i in range(6)]


class Steps:
    """A controller's markers, as the treatment screen asks for them."""

    def markers(self, since: int = 0):
        return STEPS[since:]


def visible_label_rects(plot: pg.PlotItem):
    """Scene rectangles of every marker label shown on the plot (the layer's labels, in its lane)."""
    rects = []
    for item in plot.scene().items():
        if (isinstance(item, QGraphicsSimpleTextItem) and item.isVisible() and item.text().strip()
                and item.text() not in ("measured", "target")):  # the key names the curves, it is no label
            rects.append((item.text(), item.sceneBoundingRect()))
    return rects


def test_steps_seconds_apart_keep_their_lines_and_their_labels_do_not_overlap(qtbot, window):
    treatment = window.treatment
    window.resize(1366, 728)
    plots = treatment.plots
    t = np.arange(0, 300, 0.1)
    current = np.minimum(3.0, t / 40)
    plots.show_history(TelemetryView(t=t, current_ma=current, voltage_v=np.full_like(t, 18.0), target_ma=current,
                                     impedance_kohm=np.full_like(t, 6.0)))
    treatment._add_markers(Steps())
    # the plot on screen (pyqtgraph ranges its axes when it paints; the readouts above may push it below the fold)
    treatment.scroll.ensureWidgetVisible(plots)
    qtbot.wait(50)
    plot = plots.current_plot
    lines = [item for item in plot.items if isinstance(item, pg.InfiniteLine)]
    assert sorted(line.value() for line in lines) == [m.t for m in STEPS]  # every step keeps its line
    rects = visible_label_rects(plot)
    assert rects, "no marker label shown at all"
    area = plot.getViewBox().sceneBoundingRect()
    key = [item.sceneBoundingRect() for item in plot.scene().items()
           if isinstance(item, QGraphicsSimpleTextItem) and item.text() in plots.markers.key_names()]
    assert len(key) == 2 and all(not k.intersects(area) for k in key)  # the curves' names, above the data too
    for text, rect in rects:
        # above the plot's area: over no trace, and beside the curves' names, whatever the plot's height
        assert not rect.intersects(area) and not any(rect.intersects(k) for k in key), f"{text!r} covers something"
        assert area.left() <= rect.left() and rect.right() <= area.right() + 0.5, f"{text!r} is cut at an edge"
        line_x = plot.getViewBox().mapViewToScene(pg.Point(next(m.t for m in STEPS if m.label == text), 0)).x()
        assert min(abs(rect.left() - line_x), abs(rect.right() - line_x)) < 10, f"{text!r} is not beside its line"
    for i, (text_a, a) in enumerate(rects):
        for text_b, b in rects[i + 1:]:
            assert not a.intersects(b), f"{text_a!r} overlaps {text_b!r}"
    # zooming in gives the thinned labels room again, still without overlap
    plot.getViewBox().setXRange(59, 69, padding=0)
    qtbot.wait(50)
    zoomed = visible_label_rects(plot)
    assert len(zoomed) > len(rects)
    for i, (_ta, a) in enumerate(zoomed):
        for _tb, b in zoomed[i + 1:]:
            assert not a.intersects(b)


def test_a_marker_scrolled_out_of_view_leaves_its_place_to_those_in_view(qtbot):
    from ionto_console.ui.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.resize(800, 520)  # two rows of labels
    plots.show()
    plots.current_plot.getViewBox().setRange(xRange=(0, 100), yRange=(0, 4), padding=0)
    for at in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 40.0):  # six early steps, then one in view
        plots.markers.add(at, "+0.5 mA", "#546e7a")
    plots.current_plot.getViewBox().setXRange(39, 139, padding=0)  # the early ones scrolled away
    qtbot.wait(20)
    boxes = plots.markers.label_boxes()
    assert boxes[:6] == [None] * 6 and boxes[6] is not None
    assert len(plots.markers) == 7  # every line stays


def test_labels_are_laid_out_again_only_when_the_x_range_changes(qtbot, monkeypatch):
    """Issue 15: the labels were items in the plot's data coordinates, laid out again on every range
    change, so on every frame of a ramp (the y range follows the current). In their lane a y-range change
    moves nothing; an x-range change lays them out once."""
    from ionto_console.ui import plot_markers
    from ionto_console.ui.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.resize(800, 400)
    plots.show()
    box = plots.current_plot.getViewBox()
    box.setRange(xRange=(0, 100), yRange=(0, 4), padding=0)
    for at in (10.0, 50.0, 90.0):
        plots.markers.add(at, "+0.5 mA", "#546e7a")
    qtbot.wait(20)
    where = [label.scenePos() for label in plots.markers.label_items()]
    calls = []
    real = plot_markers.place_labels
    monkeypatch.setattr(plot_markers, "place_labels", lambda *a, **k: calls.append(1) or real(*a, **k))
    for top in (4.5, 5.0, 3.0, 6.0):  # a ramp's y ranges
        box.setYRange(0, top, padding=0)
    qtbot.wait(20)
    assert calls == []
    assert [label.scenePos() for label in plots.markers.label_items()] == where
    box.setXRange(5, 105, padding=0)
    qtbot.wait(20)
    assert len(calls) == 1


def test_a_short_plot_keeps_its_height_for_the_data(qtbot):
    """The Records tab's replay is short on a laptop: the lane gives up rows there rather than take the
    height of the data (a label then lives on as its line's tooltip)."""
    from ionto_console.ui.live_plots import LivePlots

    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show()
    plots.markers.add(10.0, "dizziness", "#c62828")
    sizes = {}
    for height in (700, 260, 130):
        plots.resize(800, height)
        qtbot.wait(20)
        sizes[height] = (plots.markers.rows, plots.markers.lane.isVisible())
    assert sizes[700] == (2, True)
    assert sizes[260] == (1, True)
    assert sizes[130] == (1, True)  # the row that names the curves stays
    plots.current_plot.getViewBox().setXRange(0, 100, padding=0)
    for at in (1.0, 2.0, 3.0):  # beside the curves' names at the start of the only row: no room there
        plots.markers.add(at, "+0.5 mA", "#546e7a")
    qtbot.wait(20)
    key = plots.markers._place_key(plots.markers._view()[3])[0]
    boxes = plots.markers.label_boxes()
    assert boxes[1:].count(None) >= 2
    assert not any(box is not None and box.intersects(key) for box in boxes)
    assert [line.toolTip() for line in plots.current_plot.items if hasattr(line, "value")] == ["dizziness"] + ["+0.5 mA"] * 3
