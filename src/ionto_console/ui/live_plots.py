"""Live current and impedance plots, refreshed from a telemetry history.

Refresh happens on a GUI timer that reads the history (never one Qt signal per
sample, never a pyqtgraph call off the GUI thread).

WHY our own decimation: a 30-minute 1000 Hz session is 1.8 M points per
channel. pyqtgraph's clip-to-view + peak downsampling re-scan (and copy) the
whole arrays on every frame, for bounds, finiteness and the downsampling
itself: hundreds of milliseconds per frame on a 2-core machine. Here the
visible part of the history is reduced to a min/max ("peak") envelope of about
two buckets per pixel column before pyqtgraph sees it, so every single-sample
spike stays visible. The envelope of completed buckets is cached per bucket
size (the history only grows), so a frame only reduces the newest samples; a
frame with no new sample and the same visible range does nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..control.telemetry_buffer import TelemetryView

MEASURED_PEN = pg.mkPen("#1f6fb2", width=2)
TARGET_PEN = pg.mkPen("#e07b00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
IMPEDANCE_PEN = pg.mkPen("#2e7d32", width=2)
#: grid lines: an opaque light grey, because pyqtgraph's default translucent grid
#: (showGrid alpha) costs about as much to paint as all the curves together
GRID_PEN = pg.mkPen("#e6e6e6")

#: min/max buckets per pixel column, at least: one bucket never spans two columns, so
#: the envelope is exact at screen resolution (2 to 4 points per column)
BUCKETS_PER_PIXEL = 1
#: smaller buckets are reduced from the raw visible slice each time (it is short
#: then: under 2 * BUCKETS_PER_PIXEL * width * 16 samples); larger ones are cached
CACHE_MIN_BUCKET = 16
#: plot width assumed before the widget has been laid out
FALLBACK_WIDTH_PX = 1000

CHANNELS = ("current_ma", "target_ma", "impedance_kohm")


@dataclass
class _Level:
    """Cached min and max of every completed bucket of one size, for one channel."""

    mins: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    maxs: np.ndarray = field(default_factory=lambda: np.empty(0, np.float32))
    done: int = 0  # buckets computed so far


def _reduce(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of consecutive buckets of ``size`` samples (len(values) is a multiple).
    fmin/fmax skip NaN, so a bucket is a gap (NaN) only when all of it is a gap."""
    blocks = values.reshape(-1, size)
    return np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)


class PeakEnvelope:
    """Min/max envelope of one append-only channel, cached per bucket size. Qt-free."""

    def __init__(self) -> None:
        self._levels: dict[int, _Level] = {}

    def reset(self) -> None:
        self._levels.clear()

    def buckets(self, values: np.ndarray, first: int, stop: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Min and max of buckets ``first`` .. ``stop - 1`` of ``size`` samples; all of them
        must be complete in ``values`` (stop * size <= len(values))."""
        if size < CACHE_MIN_BUCKET:
            return _reduce(values[first * size : stop * size], size)
        level = self._levels.setdefault(size, _Level())
        complete = len(values) // size
        if complete > level.done:
            if complete > len(level.mins):
                capacity = max(complete, 2 * len(level.mins), 64)
                level.mins = np.resize(level.mins, capacity)
                level.maxs = np.resize(level.maxs, capacity)
            lo, hi = _reduce(values[level.done * size : complete * size], size)
            level.mins[level.done : complete] = lo
            level.maxs[level.done : complete] = hi
            level.done = complete
        return level.mins[first:stop], level.maxs[first:stop]


def bucket_size(samples: int, width_px: int) -> int:
    """Samples per min/max bucket: a power of two (so caches are reused while the
    history grows) giving BUCKETS_PER_PIXEL to twice that many buckets per pixel column."""
    per_bucket = samples / max(1, BUCKETS_PER_PIXEL * width_px)
    return 1 if per_bucket <= 1 else 1 << math.floor(math.log2(per_bucket))


def _drop_flat_runs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop points inside runs of equal y: the drawn line is the same, but a stepwise
    target becomes a few dozen points instead of thousands (fewer segments to paint,
    and a dash pattern that is not restarted on every tiny segment). NaN never
    equals anything, so gaps are kept."""
    if len(y) < 3:
        return x, y
    keep = np.ones(len(y), dtype=bool)
    keep[1:-1] = (y[1:-1] != y[:-2]) | (y[1:-1] != y[2:])
    return x[keep], y[keep]


def _configure(plot: pg.PlotItem, y_label: str, units: str) -> None:
    # We hand pyqtgraph an already decimated, already clipped envelope (see module doc).
    plot.setClipToView(False)
    plot.setDownsampling(ds=1, auto=False)
    plot.showGrid(x=True, y=True)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setTickPen(GRID_PEN)
        axis.setStyle(tickAlpha=255, maxTickLevel=1)
    plot.setLabel("left", y_label, units=units)
    plot.setMenuEnabled(False)
    plot.getAxis("left").enableAutoSIPrefix(False)


class LivePlots(QWidget):
    """Current (measured and target) above impedance, sharing the time axis."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="#333")
        self._graphics = pg.GraphicsLayoutWidget()
        self.current_plot = self._graphics.addPlot(row=0, col=0)
        self.impedance_plot = self._graphics.addPlot(row=1, col=0)
        _configure(self.current_plot, "Current", "mA")
        _configure(self.impedance_plot, "Impedance", "kΩ")
        self.impedance_plot.setXLink(self.current_plot)
        self.impedance_plot.setLabel("bottom", "Time", units="s")
        self.impedance_plot.getAxis("bottom").enableAutoSIPrefix(False)  # seconds, not "ks"
        # the legend in one row along the top, over headroom kept free of data (it used to cover the trace)
        self.current_plot.addLegend(offset=(10, 2), colCount=2, brush=(255, 255, 255, 160))
        self.current_plot.getViewBox().setDefaultPadding(0.12)
        self.measured_curve = self.current_plot.plot(pen=MEASURED_PEN, name="measured")
        self.target_curve = self.current_plot.plot(pen=TARGET_PEN, name="target")
        self.impedance_curve = self.impedance_plot.plot(pen=IMPEDANCE_PEN)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)
        self._envelopes = {name: PeakEnvelope() for name in CHANNELS}
        self._generation: int | None = None
        self._cached_count = 0
        self._shown_key: tuple | None = None
        self._last_view: TelemetryView | None = None
        self._redraw_pending = False
        # a pan/zoom by the user changes what is visible: redraw that range at its resolution
        self.current_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)

    def clear(self) -> None:
        for curve in (self.measured_curve, self.target_curve, self.impedance_curve):
            curve.setData([], [])
        self._forget()

    def _forget(self) -> None:
        for envelope in self._envelopes.values():
            envelope.reset()
        self._generation = None
        self._cached_count = 0
        self._shown_key = None
        self._last_view = None

    def show_history(self, view: TelemetryView) -> None:
        """Redraw from the history (nothing to do when it and the visible range are unchanged)."""
        count = len(view)
        if count == 0:
            if self._shown_key is not None or self._last_view is not None:
                self.clear()
            return
        if view.generation != self._generation or count < self._cached_count:
            self._forget()  # another history, or this one was cleared: the cached buckets are stale
            self._generation = view.generation
        self._cached_count = count
        self._last_view = view
        lo, hi = self._visible_indices(view.t)
        size = bucket_size(hi - lo, self._width_px())
        key = (view.generation, count, lo, hi, size)
        if key == self._shown_key:
            return
        self._shown_key = key
        x, ys = self._decimate(view, lo, hi, size)
        self.measured_curve.setData(*_drop_flat_runs(x, ys["current_ma"]), skipFiniteCheck=True)
        self.target_curve.setData(*_drop_flat_runs(x, ys["target_ma"]), skipFiniteCheck=True)
        # NaN where the current is too small for an impedance; connect="finite" leaves a gap.
        self.impedance_curve.setData(*_drop_flat_runs(x, ys["impedance_kohm"]), connect="finite")

    def curve_points(self) -> int:
        data = self.measured_curve.getData()[0]
        return 0 if data is None else int(np.size(data))

    # --- decimation -----------------------------------------------------------------

    def _width_px(self) -> int:
        width = self.current_plot.getViewBox().width()
        return int(width) if width >= 50 else FALLBACK_WIDTH_PX

    def _visible_indices(self, t: np.ndarray) -> tuple[int, int]:
        """Index range to draw: all of it while the x axis follows the data, else the
        visible time range plus one sample either side so lines reach the edges."""
        box = self.current_plot.getViewBox()
        if box.autoRangeEnabled()[0]:
            return 0, len(t)
        x0, x1 = box.viewRange()[0]
        lo = max(0, int(np.searchsorted(t, x0, side="left")) - 1)
        hi = min(len(t), int(np.searchsorted(t, x1, side="right")) + 1)
        return (lo, hi) if hi > lo else (max(0, hi - 1), hi)

    def _decimate(self, view: TelemetryView, lo: int, hi: int, size: int) -> tuple[np.ndarray, dict]:
        """x and per-channel y of the envelope of samples lo..hi-1: for each bucket its
        min then its max at the bucket's first time; raw samples when size is 1."""
        if size == 1:
            return view.t[lo:hi], {name: getattr(view, name)[lo:hi] for name in CHANNELS}
        first, stop = lo // size, hi // size  # complete buckets; hi may end inside a partial one
        starts = np.arange(first, stop) * size
        partial = hi > stop * size
        if partial:
            starts = np.append(starts, stop * size)
        x = np.repeat(view.t[starts], 2)
        ys = {}
        for name in CHANNELS:
            values = getattr(view, name)
            mins, maxs = self._envelopes[name].buckets(values, first, stop, size)
            if partial:
                tail = values[stop * size : hi]
                mins = np.append(mins, np.fmin.reduce(tail))
                maxs = np.append(maxs, np.fmax.reduce(tail))
            y = np.empty(2 * len(mins), np.float32)
            y[0::2], y[1::2] = mins, maxs
            ys[name] = y
        return x, ys

    def _on_x_range_changed(self, *_args) -> None:
        if self._last_view is None or self.current_plot.getViewBox().autoRangeEnabled()[0]:
            return  # following the data: the next show_history draws it all anyway
        if not self._redraw_pending:
            self._redraw_pending = True
            QTimer.singleShot(0, self, self._redraw_last)  # dropped if this widget is deleted first

    def _redraw_last(self) -> None:
        self._redraw_pending = False
        if self._last_view is not None:
            self.show_history(self._last_view)
