"""Live current and impedance plots, refreshed from a telemetry history.

Refresh happens on a GUI timer that reads the history (never one Qt signal per
sample, never a pyqtgraph call off the GUI thread).

WHY the envelope: a 30-minute 1000 Hz session is 1.8 M points per channel (an
all-day board monitor 28.8 M). pyqtgraph's clip-to-view + peak downsampling
re-scan the whole arrays on every frame. Here the history's writer thread has
already reduced it to a multi-resolution min/max envelope
(``control/envelope.py``); a frame takes the visible range at about one or two
buckets per pixel column from the level that fits, so it costs in proportion
to the pixel columns, not to the samples, and every single-sample spike stays
visible. Zoomed in to fewer samples than columns, the raw samples are drawn. A
frame with no new sample and the same visible range does nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..control.envelope import BASE, columns
from ..control.telemetry_buffer import PLOTTED as CHANNELS, TelemetryBuffer, TelemetryView, envelope_of
from .plot_markers import MarkerLayer
from .wheel_guard import send_wheel_to_page

#: WHY 1-pixel pens for the dense curves: pyqtgraph draws a pen wider than 1 pixel through
#: its thick-line path (QPainter.drawLines per segment, pyqtgraph #533 / #2011), which
#: measured twice the GUI thread's CPU per frame with ~3,500 points (8 ms against 4 ms,
#: ``benchmarks/plot_frame_time.py``). The min/max envelope draws a noisy current as a
#: band of vertical strokes, legible at 1 pixel in a dark colour. The target (a step
#: line of a few dozen points once flat runs are dropped) keeps its 2-pixel dashes.
MEASURED_PEN = pg.mkPen("#0d47a1", width=1)
TARGET_PEN = pg.mkPen("#e07b00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
IMPEDANCE_PEN = pg.mkPen("#1b5e20", width=1)
#: grid lines: an opaque light grey, because pyqtgraph's default translucent grid
#: (showGrid alpha) costs about as much to paint as all the curves together
GRID_PEN = pg.mkPen("#e6e6e6")

#: min/max buckets per pixel column, at least: one bucket never spans two columns, so
#: the envelope is exact at screen resolution (2 to 4 points per column)
BUCKETS_PER_PIXEL = 1
#: plot width assumed before the widget has been laid out
FALLBACK_WIDTH_PX = 1000
#: shortest time between two redraws of the curves while data arrives (a pan or zoom by the
#: user redraws at once). WHY: the screens poll at 30 Hz for their numbers, but a plot's
#: column spans 67 ms of a 1-minute view and 2 s of a 30-minute one, and each repaint of
#: the plots is the GUI thread's longest task (a Stop click queued behind it waits)
MIN_REDRAW_S = 0.1
#: while the x axis follows the data, its right end moves in steps of about this share of the
#: shown span (1-2-5 rounded). WHY: pyqtgraph's auto-range moved the x range with every redraw,
#: and each new range rebuilds both time axes' ticks and labels (text layout) and repaints the
#: whole plot: the GUI thread's longest task in ``benchmarks/stop_latency.py --profile``. In
#: steps, a 30-minute view keeps its axes for about 100 s (up to 1/20 of it empty at the right)
FOLLOW_STEP_SHARE = 1 / 20
#: while following, new samples are drawn at most once per pixel column's worth of time, up to
#: this long. WHY: a column of a 30-minute view is about 1.4 s of samples; redrawing it ten times
#: a second repainted the whole plot (the GUI thread's longest task) to move one column's min/max
MAX_REDRAW_S = 1.0


def follow_range(first: float, last: float) -> tuple[float, float]:
    """The x range that shows ``first``..``last`` while following the data: from ``first`` to
    ``last`` rounded up to a step of a 1-2-5 multiple near FOLLOW_STEP_SHARE of the span, so
    the range stays put while samples arrive inside it (a pure function: tested alone)."""
    span = max(last - first, 1e-3)
    raw = span * FOLLOW_STEP_SHARE
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    end = first + math.floor(span / step + 1) * step
    while end <= last:  # always beyond ``last`` (the division may round down): the newest sample shows
        end += step
    return first, end


def bucket_size(samples: int, width_px: int) -> int:
    """Samples per min/max bucket: a power of two (so caches are reused while the
    history grows) giving BUCKETS_PER_PIXEL to twice that many buckets per pixel column."""
    per_bucket = samples / max(1, BUCKETS_PER_PIXEL * width_px)
    return 1 if per_bucket <= 1 else 1 << math.floor(math.log2(per_bucket))


def _index_at(view: TelemetryView, t: float, side: str) -> int:
    """Absolute index of time ``t``: exact among the raw samples, to the envelope's finest
    bucket before them (an all-day history keeps only its newest samples raw)."""
    if len(view.t) and (t >= view.t[0] or view.envelope is None):
        return view.offset + int(np.searchsorted(view.t, t, side=side))
    assert view.envelope is not None
    return min(view.envelope.index_of(t, side), view.offset)


def _with_envelope(view: TelemetryView) -> TelemetryView:
    """``view`` with an envelope reduced from its raw samples (a view that came without one)."""
    return replace(view, envelope=envelope_of(view.t, view.current_ma, view.target_ma, view.impedance_kohm))


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


class _WheelToPage(QObject):
    """Hands the plots' wheel events to the page's scroll area, so a wheel over a fixed plot
    scrolls the page as anywhere else on it (and never zooms the plot)."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self._view = view  # the plots' own graphics view (itself a scroll area: skipped)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.Wheel or not isinstance(event, QWheelEvent):
            return False
        send_wheel_to_page(self._view, event)
        return True  # never to pyqtgraph: its ViewBox would take the wheel even with the mouse disabled


class LivePlots(QWidget):
    """Current (measured and target) above impedance, sharing the time axis.

    ``inspect``: an engineer's plot (Board monitor, Records replay): the mouse pans and zooms,
    and a "Reset view" button (also applied by ``clear``, i.e. for every new session) brings
    the whole trace back. Without it (the treatment screen) the view is fixed: no pan, zoom or
    menu, and the wheel scrolls the page. WHY: a therapist never needs to zoom, and a wheel
    meant for the page used to zoom the live trace into an empty 0.1 s that stayed stuck
    through later runs and patients."""

    def __init__(self, parent: QWidget | None = None, *, min_redraw_s: float = MIN_REDRAW_S,
                 max_redraw_s: float = MAX_REDRAW_S, inspect: bool = True) -> None:
        super().__init__(parent)
        self.inspect = inspect
        self.min_redraw_s = min_redraw_s
        self.max_redraw_s = max_redraw_s
        #: the history ``follow`` reads (its newest view is taken only when a redraw is due)
        self._source: TelemetryBuffer | None = None
        self._drawn_at = -float("inf")
        self._deferred = QTimer(self)
        self._deferred.setSingleShot(True)
        self._deferred.timeout.connect(self._redraw_last)
        pg.setConfigOptions(antialias=False, background="w", foreground="#333")
        self._graphics = pg.GraphicsLayoutWidget()
        self.current_plot = self._graphics.addPlot(row=0, col=0)
        self.impedance_plot = self._graphics.addPlot(row=1, col=0)
        _configure(self.current_plot, "Current", "mA")
        _configure(self.impedance_plot, "Impedance", "kΩ")
        self.impedance_plot.setXLink(self.current_plot)
        self.impedance_plot.setLabel("bottom", "Time", units="s")
        self.impedance_plot.getAxis("bottom").enableAutoSIPrefix(False)  # seconds, not "ks"
        self.measured_curve = self.current_plot.plot(pen=MEASURED_PEN, name="measured")
        self.target_curve = self.current_plot.plot(pen=TARGET_PEN, name="target")
        self.impedance_curve = self.impedance_plot.plot(pen=IMPEDANCE_PEN)
        #: Step and event markers on the current plot, labels laid out so they never overlap, in a lane
        #: above the data that also names the two curves (a legend inside the plot covered the trace)
        self.markers = MarkerLayer(self.current_plot)
        self.markers.set_key([("measured", MEASURED_PEN), ("target", TARGET_PEN)])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)
        self.reset_button: QPushButton | None = None
        if inspect:
            self.reset_button = QPushButton("Reset view")
            self.reset_button.setToolTip("Show the whole trace again after zooming or panning")
            self.reset_button.clicked.connect(self.reset_view)
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(self.reset_button)
            layout.addLayout(row)
        else:
            self._fix_view()
        self._shown_key: tuple | None = None
        self._shown_points: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._adopted: tuple[tuple, TelemetryView] | None = None
        self._last_view: TelemetryView | None = None
        self._redraw_pending = False
        #: the x axis follows the data (set here in steps, see FOLLOW_STEP_SHARE) until the user pans
        #: or zooms; pyqtgraph's own x auto-range (at start, or its "A" button) asks to follow again
        self._following = True
        self._followed: tuple[float, float] | None = None
        # a pan/zoom by the user changes what is visible: redraw that range at its resolution
        self.current_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)

    def _fix_view(self) -> None:
        """No pan, zoom, menu or autoscale button; wheel events go to the page (``_WheelToPage``)."""
        for plot in (self.current_plot, self.impedance_plot):
            box = plot.getViewBox()
            box.setMouseEnabled(x=False, y=False)
            box.setMenuEnabled(False)
            plot.hideButtons()
        self._wheel_to_page = _WheelToPage(self._graphics)
        self._graphics.viewport().installEventFilter(self._wheel_to_page)

    def reset_view(self) -> None:
        """The whole trace again: both plots back to following the data."""
        for plot in (self.current_plot, self.impedance_plot):
            plot.getViewBox().enableAutoRange()
        self._take_auto_range()  # the x axis follows the data again, in its steps: at once
        self._shown_key = None
        self._redraw_last()

    def clear(self) -> None:
        for curve in (self.measured_curve, self.target_curve, self.impedance_curve):
            curve.setData([], [])
        self._source = None  # a redraw still due must not bring the cleared history back
        self._deferred.stop()
        self._forget()
        self.reset_view()  # a new session starts with the whole trace, whatever the last one was zoomed to

    def _forget(self) -> None:
        self._shown_key = None
        self._shown_points.clear()
        self._last_view = None
        self._followed = None

    @property
    def following(self) -> bool:
        """The x axis follows the data (not panned or zoomed by the user since it last did)."""
        self._take_auto_range()
        return self._following

    def _take_auto_range(self) -> None:
        """pyqtgraph's x auto-range switched on (at start, by its "A" button, by a caller) means
        "follow the data": follow in steps here instead, with pyqtgraph's x auto-range off."""
        for plot in (self.current_plot, self.impedance_plot):
            box = plot.getViewBox()
            if box.autoRangeEnabled()[0] is not False:
                box.enableAutoRange(x=False)
                self._following = True
                self._followed = None

    def follow(self, history: TelemetryBuffer | None) -> None:
        """Show ``history`` (the screens' 30 Hz refresh calls this): it is read only when a redraw
        may be due, and not at all while this widget is hidden (a hidden tab does no work; it
        redraws when shown).

        WHY not ``show_history(history.view())`` every frame: a view of a long history takes a
        snapshot of its envelope's levels, and the redraw it leads to is the frame's longest task."""
        if history is not self._source:
            self._source = history
            self._deferred.stop()
        if history is None:
            self.clear()
            return
        if not self.isVisible() or self._deferred.isActive():
            return  # hidden, or a redraw of the newest samples is already due (it reads them then)
        self.show_history(history.view())

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._source is not None and not self._redraw_pending:
            self._redraw_pending = True
            QTimer.singleShot(0, self, self._redraw_last)  # what arrived while hidden

    def _redraw_interval(self, view: TelemetryView) -> float:
        """Shortest time between two redraws that only add samples (see MAX_REDRAW_S)."""
        if not self._following or not len(view.t) or self._followed is None:
            return self.min_redraw_s
        column_s = (self._followed[1] - self._followed[0]) / self._width_px()
        return max(self.min_redraw_s, min(column_s, self.max_redraw_s))

    def show_history(self, view: TelemetryView) -> None:
        """Redraw from the history (nothing to do when it and the visible range are unchanged)."""
        total = view.total
        if total == 0:
            if self._shown_key is not None or self._last_view is not None:
                self.clear()
            return
        if view.envelope is None:  # a view made without one (tests, tools): reduce it here once
            key = (view.generation, id(view.t), len(view.t))
            if self._adopted is None or self._adopted[0] != key:
                self._adopted = (key, _with_envelope(view))
            view = self._adopted[1]
        self._last_view = view
        lo, hi = self._visible_indices(view)
        size = bucket_size(hi - lo, self._width_px())
        if size < BASE and lo < view.offset:
            size = BASE  # older than the raw samples kept: the envelope's finest buckets
        key = (view.generation, total, lo, hi, size)
        if key == self._shown_key:
            return
        now = time.monotonic()
        wait = self._drawn_at + self._redraw_interval(view) - now
        if wait > 0 and self._only_new_samples(key):
            # only new samples since the last redraw, and it was recent: draw them a little later
            if not self._deferred.isActive():
                self._deferred.start(max(1, int(wait * 1000)))
            return
        self._drawn_at = now
        self._shown_key = key
        x, ys = self._decimate(view, lo, hi, size)
        self._set(self.measured_curve, *_drop_flat_runs(x, ys["current_ma"]), skipFiniteCheck=True)
        self._set(self.target_curve, *_drop_flat_runs(x, ys["target_ma"]), skipFiniteCheck=True)
        # NaN where the current is too small for an impedance; connect="finite" leaves a gap.
        self._set(self.impedance_curve, *_drop_flat_runs(x, ys["impedance_kohm"]), connect="finite")
        if self._following and len(x):
            last = float(view.t[-1]) if len(view.t) else float(x[-1])
            wanted = follow_range(float(x[0]), last)
            if wanted != self._followed:  # only when the step is passed: no new axes per frame
                self._followed = wanted
                self.current_plot.getViewBox().setXRange(*wanted, padding=0)

    def _set(self, curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray, **options) -> None:
        """``curve.setData`` only when the points differ from those it shows.

        WHY: a column of a 30-minute plot is about two seconds of samples; between two
        frames new samples rarely change the columns' min/max, and pyqtgraph's setData
        costs a bounds and auto-range pass, a scene update and a repaint of the plot
        with its axes even for identical points."""
        shown = self._shown_points.get(id(curve))
        if shown is not None and np.array_equal(shown[0], x) and np.array_equal(shown[1], y, equal_nan=True):
            return
        self._shown_points[id(curve)] = (x, y)
        curve.setData(x, y, **options)

    def _only_new_samples(self, key: tuple) -> bool:
        """Since the last redraw only samples arrived: the same history, and the same visible
        range (or the x axis follows the data); not a pan, a zoom or another session."""
        shown = self._shown_key
        if shown is None or key[0] != shown[0] or key[1] < shown[1]:
            return False
        return key[2:] == shown[2:] or self._following

    def curve_points(self) -> int:
        data = self.measured_curve.getData()[0]
        return 0 if data is None else int(np.size(data))

    # --- decimation -----------------------------------------------------------------

    def _width_px(self) -> int:
        width = self.current_plot.getViewBox().width()
        return int(width) if width >= 50 else FALLBACK_WIDTH_PX

    def _visible_indices(self, view: TelemetryView) -> tuple[int, int]:
        """Absolute index range to draw: all of it while the x axis follows the data, else the
        visible time range plus one sample either side so lines reach the edges."""
        box = self.current_plot.getViewBox()
        total = view.total
        if self.following:
            return 0, total
        x0, x1 = box.viewRange()[0]
        lo = _index_at(view, x0, "left") - 1
        hi = _index_at(view, x1, "right") + 1
        lo, hi = max(0, lo), min(total, hi)
        return (lo, hi) if hi > lo else (max(0, hi - 1), hi)

    def _decimate(self, view: TelemetryView, lo: int, hi: int, size: int) -> tuple[np.ndarray, dict]:
        """x and per-channel y of samples lo..hi-1 (absolute indices): raw samples when size
        is 1, else for each column of ``size`` samples its min then its max at the column's
        first time."""
        if size == 1:
            a, b = lo - view.offset, hi - view.offset
            return view.t[a:b], {name: getattr(view, name)[a:b] for name in CHANNELS}
        assert view.envelope is not None
        t, mins, maxs = columns(view.envelope, view.raw_tail(), lo // size, -(-hi // size), size)
        x = np.repeat(t, 2)
        ys = {}
        for name in CHANNELS:
            y = np.empty(2 * len(t), np.float32)
            y[0::2], y[1::2] = mins[name], maxs[name]
            ys[name] = y
        return x, ys

    def _on_x_range_changed(self, *_args) -> None:
        if self.following:
            followed = self._followed
            shown = self.current_plot.getViewBox().viewRange()[0]
            if followed is None or np.allclose(shown, followed, rtol=0.0, atol=1e-9 * max(1.0, abs(followed[1]))):
                return  # our own step (or pyqtgraph's before it): the next show_history draws it all
            # another range than ours: a pan or zoom (the mouse, the wheel, a linked plot, a caller)
            self._following = False
            self._followed = None
        if self._last_view is None:
            return
        if not self._redraw_pending:
            self._redraw_pending = True
            QTimer.singleShot(0, self, self._redraw_last)  # dropped if this widget is deleted first

    def _redraw_last(self) -> None:
        self._redraw_pending = False
        if self._source is not None:
            if self.isVisible():
                self.show_history(self._source.view())  # the newest samples, not those of the last call
        elif self._last_view is not None:
            self.show_history(self._last_view)
