"""The plots' min/max envelope equals a brute-force min/max per column, for any stream and any zoom."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from ionto_console.control.envelope import BASE, FACTOR, Envelope, RawTail, columns

CHANNELS = ("a", "b")

values = st.one_of(st.floats(-1e3, 1e3, allow_nan=False, width=32), st.just(float("nan")))


@st.composite
def streams(draw):
    n = draw(st.integers(0, 3000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n).astype(np.float32)
    b = rng.normal(5, 2, n).astype(np.float32)
    # gaps (NaN) in runs and alone, and single-sample spikes: what an envelope must never lose
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, max(n - 1, 0)))
        b[start : start + draw(st.integers(1, 200))] = np.nan
    for _ in range(draw(st.integers(0, 5))):
        if n:
            a[draw(st.integers(0, n - 1))] = draw(values)
    chunks = draw(st.lists(st.integers(1, 700), max_size=30))
    return np.cumsum(rng.uniform(0.5, 1.5, n)), {"a": a, "b": b}, chunks


def feed(t, data, chunks) -> Envelope:
    envelope = Envelope(CHANNELS)
    i = 0
    for size in chunks + [len(t)]:
        envelope.extend(t[i : i + size], {name: data[name][i : i + size] for name in CHANNELS})
        i += size
        if i >= len(t):
            break
    return envelope


def brute(t, data, first, stop, size):
    n = len(t)
    cols = [c for c in range(first, stop) if c * size < n]
    xs = np.array([t[c * size] for c in cols])
    mins = {name: np.array([np.fmin.reduce(data[name][c * size : (c + 1) * size]) for c in cols], np.float32)
            for name in CHANNELS}
    maxs = {name: np.array([np.fmax.reduce(data[name][c * size : (c + 1) * size]) for c in cols], np.float32)
            for name in CHANNELS}
    return xs, mins, maxs


@settings(max_examples=300, deadline=None)
@given(stream=streams(), log_size=st.integers(0, 12), first=st.integers(0, 400), span=st.integers(0, 400),
       dropped=st.floats(0, 1))
def test_every_column_is_the_min_and_max_of_its_samples(stream, log_size, first, span, dropped):
    t, data, chunks = stream
    envelope = feed(t, data, chunks)
    view = envelope.snapshot()
    assert envelope.samples == len(t)
    size = 1 << log_size
    # the raw history may have dropped its oldest samples (the all-day station): it still holds
    # every sample after the envelope's complete level-0 buckets, and all of them below BASE zoom
    start = 0 if size < BASE else int(dropped * view.covered)
    tail = RawTail(start, t[start:], {name: data[name][start:] for name in CHANNELS})
    x, mins, maxs = columns(view, tail, first, first + span, size)
    want_x, want_min, want_max = brute(t, data, first, first + span, size)
    np.testing.assert_array_equal(x, want_x)
    for name in CHANNELS:
        np.testing.assert_array_equal(mins[name], want_min[name])
        np.testing.assert_array_equal(maxs[name], want_max[name])


@settings(max_examples=50, deadline=None)
@given(stream=streams())
def test_each_level_is_the_min_and_max_of_its_buckets(stream):
    t, data, chunks = stream
    view = feed(t, data, chunks).snapshot()
    for level in view.levels:
        assert level.count == len(t) // level.size  # every complete bucket, at every level
        for name in CHANNELS:
            blocks = data[name][: level.count * level.size].reshape(-1, level.size)
            np.testing.assert_array_equal(level.mins[name][: level.count], np.fmin.reduce(blocks, axis=1))
            np.testing.assert_array_equal(level.maxs[name][: level.count], np.fmax.reduce(blocks, axis=1))
    assert all(b.size == a.size * FACTOR for a, b in zip(view.levels, view.levels[1:]))


def test_a_redraw_reads_in_proportion_to_columns_not_samples():
    """2^20 samples shown in 512 columns: the chosen level has at most FACTOR buckets per column."""
    n = 1 << 20
    envelope = Envelope(CHANNELS)
    t = np.arange(n, dtype=np.float64)
    envelope.extend(t, {"a": np.sin(t).astype(np.float32), "b": np.cos(t).astype(np.float32)})
    view = envelope.snapshot()
    size = n // 512
    level = view.level_for(size)
    assert size // level.size <= FACTOR
