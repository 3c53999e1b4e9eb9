"""Live plots: the decimated envelope still shows every peak, gaps stay gaps, edge cases draw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ionto_console.control.telemetry_buffer import TelemetryBuffer
from ionto_console.ui.live_plots import LivePlots, bucket_size

N_LONG = 1_800_000  # 30 minutes at 1000 Hz


@pytest.fixture
def plots(qtbot):
    widget = LivePlots(min_redraw_s=0.0, max_redraw_s=0.0)  # every call draws (the pacing has its own test)
    qtbot.addWidget(widget)
    widget.resize(1280, 560)
    widget.show()
    return widget


def long_buffer(current: np.ndarray, rate: float = 1000.0) -> TelemetryBuffer:
    buf = TelemetryBuffer()
    t = np.arange(len(current)) / rate
    buf.extend(t, current, np.abs(current) * 5.0, np.ones(len(current)))
    return buf


def plotted(curve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.getData()
    return np.asarray(x), np.asarray(y)


@pytest.mark.parametrize("where", [0, 777_777, N_LONG - 1, N_LONG - 3])
def test_a_single_sample_spike_in_a_30_minute_history_is_drawn(plots, where):
    current = np.ones(N_LONG, np.float32)
    current[where] = 5.0
    current[(where + N_LONG // 2) % N_LONG] = -2.0  # and a dip, elsewhere
    plots.show_history(long_buffer(current).view())
    plots.grab()
    _, y = plotted(plots.measured_curve)
    assert len(y) < 20_000, "the long history must reach pyqtgraph decimated"
    assert y.max() == 5.0
    assert y.min() == -2.0


def test_spike_still_drawn_after_more_samples_arrive(plots):
    current = np.ones(N_LONG, np.float32)
    current[123_456] = 5.0
    buf = long_buffer(current)
    plots.show_history(buf.view())
    for i in range(50):  # live appends: the cached envelope only gets new buckets
        buf.append(N_LONG / 1000 + i / 1000, 1.0, 5.0, 1.0)
    plots.show_history(buf.view())
    _, y = plotted(plots.measured_curve)
    assert y.max() == 5.0
    x, _ = plotted(plots.measured_curve)
    assert x.max() >= (N_LONG - 1024) / 1000  # the newest samples are on screen


def test_empty_and_one_point_histories_draw(plots):
    buf = TelemetryBuffer()
    plots.show_history(buf.view())
    plots.grab()
    assert plots.curve_points() == 0
    buf.append(0.0, 1.5, 9.0, 1.5)
    plots.show_history(buf.view())
    plots.grab()
    assert plots.curve_points() == 1
    _, y = plotted(plots.measured_curve)
    assert y[0] == np.float32(1.5)
    buf.clear()
    plots.show_history(buf.view())
    plots.grab()
    assert plots.curve_points() == 0


@pytest.mark.parametrize("n", [2_000, N_LONG])
def test_impedance_gaps_stay_gaps(plots, n):
    """Output off for the middle fifth: no impedance is drawn there, on both sides it is."""
    buf = TelemetryBuffer()
    t = np.arange(n) / 1000
    off = (t >= 0.4 * t[-1]) & (t < 0.6 * t[-1])
    current = np.where(off, 0.0, 2.0)
    buf.extend(t, current, current * 10.0, current, output_on=~off)
    plots.show_history(buf.view())
    plots.grab()
    x, y = plotted(plots.impedance_curve)
    inside = (x > 0.41 * t[-1]) & (x < 0.59 * t[-1])
    assert inside.any() and np.isnan(y[inside]).all()
    assert np.isfinite(y[x < 0.39 * t[-1]]).all() and np.isfinite(y[x > 0.61 * t[-1]]).all()
    assert plots.impedance_curve.opts["connect"] == "finite"
    np.testing.assert_allclose(y[np.isfinite(y)], 10.0)  # 20 V / 2 mA


def test_a_cleared_or_other_history_replaces_the_cached_envelope(plots):
    current = np.ones(N_LONG, np.float32)
    current[10] = 7.0
    first = long_buffer(current)
    plots.show_history(first.view())
    second = long_buffer(np.full(N_LONG, 2.0, np.float32))  # another session, same length
    plots.show_history(second.view())
    _, y = plotted(plots.measured_curve)
    assert y.max() == 2.0
    first.clear()
    first.extend(np.arange(N_LONG) / 1000, np.full(N_LONG, 3.0), np.full(N_LONG, 3.0), np.ones(N_LONG))
    plots.show_history(first.view())
    _, y = plotted(plots.measured_curve)
    assert y.max() == y.min() == 3.0


def test_zooming_in_shows_the_visible_range_at_full_resolution(plots, qtbot):
    current = np.linspace(1.0, 2.0, N_LONG, dtype=np.float32)  # no flat runs to merge
    current[900_500] = 4.0
    buf = long_buffer(current)
    plots.show_history(buf.view())
    plots.current_plot.setXRange(900.0, 901.0, padding=0)  # one second: 1000 raw samples
    plots.show_history(buf.view())
    x, y = plotted(plots.measured_curve)
    assert 1000 <= len(x) <= 1003
    assert x.min() < 900.0 + 1e-9 and x.max() > 901.0 - 1e-9
    assert y.max() == 4.0
    plots.current_plot.enableAutoRange(x=True)
    plots.show_history(buf.view())
    x, _ = plotted(plots.measured_curve)
    assert x.min() == 0.0 and x.max() > 1799.0


def test_an_unchanged_history_is_not_handed_to_pyqtgraph_again(plots, monkeypatch):
    buf = long_buffer(np.ones(10_000, np.float32))
    plots.show_history(buf.view())
    calls = []
    monkeypatch.setattr(plots.measured_curve, "setData", lambda *a, **k: calls.append(a))
    plots.show_history(buf.view())
    assert calls == []
    buf.append(10.0, 1.0, 5.0, 1.0)
    plots.show_history(buf.view())
    assert len(calls) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunks=st.lists(st.integers(1, 40_000), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_incremental_envelope_equals_a_fresh_one(plots, chunks, seed):
    """Appending in any chunking and redrawing gives exactly what a fresh widget draws."""
    rng = np.random.default_rng(seed)
    buf = TelemetryBuffer(initial_capacity=1024)
    total = 0
    for n in chunks:
        t = (total + np.arange(n)) / 1000
        current = rng.normal(1.0, 0.5, n)
        buf.extend(t, current, current * 4.0, np.ones(n), output_on=rng.random(n) > 0.1)
        total += n
        plots.show_history(buf.view())
    fresh = LivePlots(min_redraw_s=0.0)
    fresh.resize(plots.size())
    fresh.show()
    fresh.show_history(buf.view())
    for name in ("measured_curve", "target_curve", "impedance_curve"):
        np.testing.assert_array_equal(plotted(getattr(plots, name))[0], plotted(getattr(fresh, name))[0])
        np.testing.assert_array_equal(plotted(getattr(plots, name))[1], plotted(getattr(fresh, name))[1])
    _, y = plotted(plots.measured_curve)
    assert y.max() == np.float32(buf.view().current_ma.max())
    fresh.deleteLater()


def test_bucket_size_keeps_at_least_one_bucket_per_pixel_column():
    assert bucket_size(0, 1000) == 1
    assert bucket_size(1999, 1000) == 1
    for samples in (2000, 5000, 1_800_000, 50_000_000):
        size = bucket_size(samples, 1000)
        assert size & (size - 1) == 0  # a power of two
        assert 1000 <= samples / size < 2 * 1000 + 1


def test_new_samples_are_drawn_at_most_every_min_redraw_s_and_never_lost(qtbot):
    """Samples arriving faster than the pacing are drawn a little later, the newest included;
    a zoom by the user is drawn at once."""
    plots = LivePlots(min_redraw_s=0.2)
    qtbot.addWidget(plots)
    plots.resize(1280, 560)
    plots.show()
    buf = long_buffer(np.ones(5_000, np.float32))
    plots.show_history(buf.view())
    drawn = plotted(plots.measured_curve)[0].max()
    buf.append(5.0, 3.0, 15.0, 1.0)  # a new sample, right after the last redraw
    plots.show_history(buf.view())
    assert plotted(plots.measured_curve)[0].max() == drawn  # not yet
    qtbot.waitUntil(lambda: plotted(plots.measured_curve)[1].max() == 3.0, timeout=2_000)
    plots.current_plot.setXRange(1.0, 2.0, padding=0)
    plots.show_history(buf.view())
    x, _ = plotted(plots.measured_curve)
    assert x.min() >= 0.99 and x.max() <= 2.01  # the zoom did not wait


def test_identical_points_are_not_handed_to_pyqtgraph_again(plots, monkeypatch):
    """A new sample that changes no column's min or max costs no setData (and no repaint)."""
    current = np.ones(1_800_000, np.float32)
    current[::1000] = 2.0
    buf = long_buffer(current)
    plots.show_history(buf.view())
    calls = []
    monkeypatch.setattr(plots.measured_curve, "setData", lambda *a, **k: calls.append(a))
    n = len(buf)
    buf.append(n / 1000, 1.0, 5.0, 1.0)  # within the last column's min and max: nothing visible changes
    plots.show_history(buf.view())
    assert calls == []


@settings(max_examples=200, deadline=None)
@given(first=st.floats(-1e5, 1e5), span=st.floats(0.0, 1e5))
def test_the_followed_range_shows_the_newest_sample_with_little_room_to_spare(first, span):
    from ionto_console.ui.live_plots import FOLLOW_STEP_SHARE, follow_range

    last = first + span
    lo, hi = follow_range(first, last)
    assert lo == first
    assert hi > last  # the newest sample is inside the range
    # at most one step (a 1-2-5 rounding of the share, so under 2.5 shares) of empty room
    assert hi - lo <= max(span, 1e-3) * (1 + 2.5 * FOLLOW_STEP_SHARE) + 1e-9 * max(1.0, abs(hi))


def test_following_moves_the_x_range_in_steps_not_with_every_redraw(plots, monkeypatch):
    """New samples inside the shown range keep the range (and the axes' ticks) as they are."""
    n = N_LONG - 50_000  # 29 min 10 s: the range (a 100 s step) ends at 30 min, 50 s after the newest sample
    buf = long_buffer(np.linspace(1.0, 2.0, n, dtype=np.float32))
    plots.show_history(buf.view())
    box = plots.current_plot.getViewBox()
    first = box.viewRange()[0]
    assert first[0] == 0.0 and first[1] > (n - 1) / 1000
    ranges = []
    monkeypatch.setattr(box, "setXRange", lambda *a, **k: ranges.append(a))
    t = n / 1000
    for i in range(20):  # 2 s of new samples, a redraw every 0.1 s: within the 100 s step of a 30-min view
        for j in range(100):
            buf.append(t, 1.5 + 0.1 * (j % 2), 5.0, 1.5)
            t += 0.001
        plots.show_history(buf.view())
    assert ranges == []
    x, _ = plotted(plots.measured_curve)
    assert x.max() > n / 1000 + 1.0  # the new samples are drawn
    while t < first[1] + 1.0:  # past the range's end: one step further
        buf.extend(np.arange(t, t + 10.0, 0.001), np.ones(10_000), np.ones(10_000), np.ones(10_000))
        t += 10.0
    plots.show_history(buf.view())
    assert len(ranges) == 1 and ranges[0][1] > t - 0.01


def test_a_zoom_by_anyone_stops_following_and_auto_range_follows_again(plots):
    buf = long_buffer(np.ones(100_000, np.float32))
    plots.show_history(buf.view())
    assert plots.following
    plots.impedance_plot.setXRange(10.0, 20.0, padding=0)  # the linked plot: the same time axis
    assert not plots.following
    buf.extend(np.arange(100.0, 150.0, 0.001), np.ones(50_000), np.ones(50_000), np.ones(50_000))
    plots.show_history(buf.view())
    assert plots.current_plot.getViewBox().viewRange()[0] == pytest.approx([10.0, 20.0])  # left where put
    plots.current_plot.enableAutoRange(x=True)  # pyqtgraph's "A" button does this
    plots.show_history(buf.view())
    assert plots.following
    lo, hi = plots.current_plot.getViewBox().viewRange()[0]
    assert lo == 0.0 and hi > 149.99


class CountingBuffer(TelemetryBuffer):
    """A history that counts how often a screen reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.views = 0

    def view(self):
        self.views += 1
        return super().view()


def test_a_hidden_plot_reads_no_history_and_draws_what_came_when_shown(qtbot):
    plots = LivePlots(min_redraw_s=0.0, max_redraw_s=0.0)
    qtbot.addWidget(plots)
    plots.resize(1280, 560)
    buf = CountingBuffer()
    buf.extend(np.arange(1000) / 1000, np.ones(1000), np.ones(1000), np.ones(1000))
    for _ in range(30):  # a second of the screen's refresh while the tab is not shown
        plots.follow(buf)
    assert buf.views == 0 and plots.curve_points() == 0
    buf.append(1.0, 4.0, 4.0, 4.0)
    plots.show()
    qtbot.waitUntil(lambda: plots.curve_points() > 0, timeout=2_000)
    assert plotted(plots.measured_curve)[1].max() == 4.0  # the newest sample too


def test_following_a_long_history_redraws_about_once_per_pixel_column(qtbot):
    """A 30-minute view: a column is ~1.4 s of samples; new samples are drawn within that
    (MAX_REDRAW_S at most), not at the screen's 30 Hz, and the history is read only when due."""
    plots = LivePlots(min_redraw_s=0.1, max_redraw_s=0.5)
    qtbot.addWidget(plots)
    plots.resize(1280, 560)
    plots.show()
    buf = CountingBuffer()
    n = N_LONG
    buf.extend(np.arange(n) / 1000, np.ones(n), np.ones(n), np.ones(n))
    plots.follow(buf)
    drawn = plots.measured_curve.getData()
    buf.extend(np.arange(n, n + 100) / 1000, np.full(100, 3.0), np.ones(100), np.ones(100))
    views = buf.views
    for _ in range(10):  # ten refreshes right after the draw: one deferred redraw, one read
        plots.follow(buf)
    assert plots.measured_curve.getData()[1].max() == drawn[1].max() == 1.0
    assert buf.views - views == 1
    qtbot.waitUntil(lambda: plotted(plots.measured_curve)[1].max() == 3.0, timeout=3_000)


def test_a_cleared_plot_is_not_redrawn_by_a_redraw_that_was_still_due(qtbot):
    """A session ends (the screen clears its plots) while new samples waited for their redraw."""
    plots = LivePlots(min_redraw_s=0.2, max_redraw_s=0.2)
    qtbot.addWidget(plots)
    plots.resize(1280, 560)
    plots.show()
    buf = long_buffer(np.ones(5_000, np.float32))
    plots.follow(buf)
    buf.append(5.0, 3.0, 15.0, 1.0)
    plots.follow(buf)  # drawn 0.2 s later
    plots.clear()
    qtbot.wait(400)
    assert plots.curve_points() == 0
    plots.hide()  # another tab, then back: what is shown again is still nothing
    plots.show()
    qtbot.wait(100)
    assert plots.curve_points() == 0
