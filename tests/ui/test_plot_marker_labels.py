"""Step-marker labels on the live plot do not stack on each other (issue 14 minor 13, new-user pass item 6).

Several steps within a few seconds, at the widget's own size: every marker keeps its line, and
no two visible labels' rectangles intersect on screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ionto_console.control.telemetry_buffer import TelemetryView
from ionto_console.control.treatment import Marker

STEPS = [Marker(60.0 + 1.5 * i, f"+0.5 mA → {1.0 + 0.5 * i:.1f} mA", "action") for i in range(6)]


class Steps:
    """A controller's markers, as the treatment screen asks for them."""

    def markers(self, since: int = 0):
        return STEPS[since:]


def visible_label_rects(plot: pg.PlotItem):
    """Scene rectangles of every text shown over the plot area (markers' labels, however drawn)."""
    area = plot.getViewBox().sceneBoundingRect()
    rects = []
    for item in plot.scene().items():
        if isinstance(item, pg.TextItem) and item.isVisible() and item.textItem.toPlainText().strip():
            rect = item.sceneBoundingRect()
            if rect.intersects(area):
                rects.append((item.textItem.toPlainText(), rect))
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
    legend = plot.legend.sceneBoundingRect()
    assert not any(rect.intersects(legend) for _text, rect in rects)  # nor under the legend
    for i, (text_a, a) in enumerate(rects):
        for text_b, b in rects[i + 1:]:
            assert not a.intersects(b), f"{text_a!r} overlaps {text_b!r}"
    # zooming in gives the thinned labels room again, still without overlap
    plot.getViewBox().setXRange(55, 75, padding=0)
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
    plots.resize(800, 400)
    plots.show()
    plots.current_plot.getViewBox().setRange(xRange=(0, 100), yRange=(0, 4), padding=0)
    for at in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 40.0):  # six early steps, then one in view
        plots.markers.add(at, "+0.5 mA", "#546e7a")
    plots.current_plot.getViewBox().setXRange(39, 139, padding=0)  # the early ones scrolled away
    qtbot.wait(20)
    boxes = plots.markers.label_boxes()
    assert boxes[:6] == [None] * 6 and boxes[6] is not None
    assert len(plots.markers) == 7  # every line stays
