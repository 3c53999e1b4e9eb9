"""Cost of laying out the plot's step-marker labels (``ui/plot_markers.py``) on the GUI thread.

    python benchmarks/marker_layout.py [--markers 40] [--frames 200] [--size 1280x560]

The live plot's labels (in their lane above the plot) are laid out again
(``core.markers.place_labels``) each time the visible x range or the plot's
width changes; while a treatment runs the x axis follows the data in steps. A 20-minute history at
100 Hz is on the plot; ``--markers`` steps are added in clusters a second
apart (a therapist pressing + several times). Each frame pans the view by a
little (a range change: one layout) and paints the plots (``grab()``, offscreen).
Prints the layout time per range change and the paint time per frame with and
without the markers; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from _common import summary, summary_line  # noqa: E402


def frames(plots, count: int) -> list[float]:
    """Pan by 0.1 s per frame and paint: milliseconds per frame."""
    box = plots.current_plot.getViewBox()
    x0, x1 = box.viewRange()[0]
    spent = []
    for i in range(count):
        start = time.perf_counter()
        box.setXRange(x0 + 0.1 * i, x1 + 0.1 * i, padding=0)
        plots.grab()
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markers", type=int, default=40)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="1280x560")
    parser.add_argument("--line-labels", action="store_true",
                        help="for comparison: each label on its own line, as before the layout (no layout, "
                             "labels at three fixed heights, overlapping)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from PySide6.QtWidgets import QApplication

    from ionto_console.control.telemetry_buffer import TelemetryView
    from ionto_console.ui.live_plots import LivePlots

    app = QApplication.instance() or QApplication([])
    plots = LivePlots(min_redraw_s=0.0)
    plots.resize(width, height)
    plots.show()
    t = np.arange(0, 1200, 0.01)
    current = np.minimum(3.0, t / 100).astype(np.float32)
    plots.show_history(TelemetryView(t=t, current_ma=current, voltage_v=np.full_like(current, 18.0),
                                     target_ma=current, impedance_kohm=np.full_like(current, 6.0)))
    plots.current_plot.getViewBox().setXRange(0, 1200, padding=0)
    app.processEvents()
    bare = frames(plots, args.frames)

    # clusters of 5 steps a second apart, spread over the session
    times = [150.0 * (i // 5) + 1.0 * (i % 5) for i in range(args.markers)]
    layout = []
    if args.line_labels:
        import pyqtgraph as pg

        for i, at in enumerate(times):
            plots.current_plot.addItem(pg.InfiniteLine(
                pos=at, angle=90, pen=pg.mkPen("#546e7a"), label=f"+0.5 mA → {0.5 * (i + 1):.1f} mA",
                labelOpts={"position": (0.95, 0.7, 0.45)[i % 3], "rotateAxis": (1, 0), "anchors": [(1, 1), (1, 1)]}))
        shown = args.markers
    else:
        for i, at in enumerate(times):
            plots.markers.add(at, f"+0.5 mA → {0.5 * (i + 1):.1f} mA", "#546e7a")
        app.processEvents()
        for _ in range(args.frames):
            plots.markers._laid_out_for = None  # a layout that must run (an x-range change)
            start = time.perf_counter()
            plots.markers._layout()
            layout.append((time.perf_counter() - start) * 1000)
        shown = sum(1 for box in plots.markers.label_boxes() if box is not None)
    app.processEvents()
    marked = frames(plots, args.frames)

    print(f"{args.markers} markers ({shown} labels shown, the rest thinned) on a {args.size} plot, "
          f"{args.frames} frames")
    if layout:
        print(summary_line("label layout per range change", layout))
    print(summary_line("frame (pan + paint), no markers", bare))
    print(summary_line("frame (pan + paint), with markers", marked))
    for name, values in (("label layout p99", layout), ("frame p99 without markers", bare),
                         ("frame p99 with markers", marked)):
        if values:
            print(f"RESULT {name}: {summary(values)[1]:.2f} ms")


if __name__ == "__main__":
    main()
