"""A multi-resolution min/max envelope of a telemetry history, extended as samples arrive.

Qt-free, numpy only. WHY: a plot is a few hundred to two thousand pixel
columns wide, but a 30-minute 1 kHz history is 1.8 M samples per channel and
an all-day one 28.8 M. Reducing the samples to min/max per column on the GUI
thread costs in proportion to the samples, and it delays every click queued
behind it. Here the writer thread (the treatment controller, or the link's
reader for the station) extends a pyramid of min/max buckets as samples
arrive: level 0 holds buckets of ``BASE`` samples, each next level buckets
``FACTOR`` times larger, built from the level below as soon as it completes.
A redraw then takes, for its column size, the level whose bucket divides it
and reduces ``columns * FACTOR`` numbers at most: a cost in proportion to the
pixel columns, not to the samples (plus one partial column from the newest
raw samples).

Columns are aligned to multiples of their size on the absolute sample index
(since the history began), so a column's min/max is exactly the min/max of
its samples, at any zoom (the hypothesis test in
``tests/control/test_envelope.py`` checks that against brute force).
NaN (an impedance that cannot be measured) is skipped by ``fmin``/``fmax``: a
bucket is NaN only when all of it is.

Concurrency: one writer, any number of readers, no lock on the read path. A
level's arrays are replaced (never resized in place) when they grow, and the
writer fills slots before it publishes the new count; a reader takes the
counts first, then the arrays (``snapshot``), so what it slices is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: samples per level-0 bucket (a power of two: column sizes are powers of two). 64 samples
#: are 64 ms at 1 kHz: finer columns are drawn from the raw samples, which a history keeps
#: for at least its newest half hour; the envelope then costs 0.5 byte per sample
#: (8-byte time and three 4-byte min/max pairs per 64 samples): 14 MB for 8 hours at 1 kHz
BASE = 64
#: buckets of one level per bucket of the next (a power of two)
FACTOR = 4
#: first capacity of a level, in buckets
_INITIAL_CAPACITY = 1024


class _Level:
    """One resolution: start time and per-channel min/max of each complete bucket."""

    __slots__ = ("size", "count", "t", "mins", "maxs")

    def __init__(self, size: int, channels: tuple[str, ...]) -> None:
        self.size = size
        self.count = 0
        self.t = np.empty(_INITIAL_CAPACITY, np.float64)
        self.mins = {name: np.empty(_INITIAL_CAPACITY, np.float32) for name in channels}
        self.maxs = {name: np.empty(_INITIAL_CAPACITY, np.float32) for name in channels}

    def reserve(self, needed: int) -> None:
        """Room for ``needed`` buckets: new arrays (a reader's old ones stay valid)."""
        capacity = len(self.t)
        if needed <= capacity:
            return
        capacity = max(needed, capacity + capacity // 2)  # 1.5x: less unused room in an all-day history

        def grown(old: np.ndarray) -> np.ndarray:
            new = np.empty(capacity, old.dtype)
            new[: self.count] = old[: self.count]
            return new

        self.t = grown(self.t)
        self.mins = {name: grown(values) for name, values in self.mins.items()}
        self.maxs = {name: grown(values) for name, values in self.maxs.items()}


@dataclass(frozen=True)
class LevelView:
    """A level as one reader saw it: ``count`` complete buckets of ``size`` samples."""

    size: int
    count: int
    t: np.ndarray
    mins: dict[str, np.ndarray]
    maxs: dict[str, np.ndarray]


@dataclass(frozen=True)
class EnvelopeView:
    """The envelope at one instant: its levels, finest first (level 0: ``BASE`` samples)."""

    levels: tuple[LevelView, ...]
    channels: tuple[str, ...]
    #: every sample the envelope has been given (complete buckets and the pending remainder)
    samples_fed: int = 0

    @property
    def covered(self) -> int:
        """Samples inside complete level-0 buckets (absolute index of the first one that is not)."""
        return self.levels[0].count * self.levels[0].size if self.levels else 0

    def level_for(self, size: int) -> LevelView:
        """The coarsest level whose bucket size divides ``size`` (a power of two >= BASE)."""
        chosen = self.levels[0]
        for level in self.levels:
            if level.size <= size and size % level.size == 0:
                chosen = level
        return chosen

    def time_at(self, index: int) -> float:
        """Time of the first sample of the level-0 bucket holding absolute sample ``index``."""
        return float(self.levels[0].t[index // self.levels[0].size])

    def index_of(self, t: float, side: str = "left") -> int:
        """Absolute index of the level-0 bucket start at or after ``t`` (bucket resolution)."""
        level = self.levels[0]
        return int(np.searchsorted(level.t[: level.count], t, side=side)) * level.size


@dataclass(frozen=True)
class RawTail:
    """Raw samples ``start`` .. ``start + len(t) - 1`` (absolute indices): at least every sample
    after the envelope's complete level-0 buckets."""

    start: int
    t: np.ndarray
    values: dict[str, np.ndarray]

    @property
    def stop(self) -> int:
        return self.start + len(self.t)


class Envelope:
    """Min/max pyramid of several channels of one history; one writer thread."""

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = tuple(channels)
        self._levels: list[_Level] = [_Level(BASE, self.channels)]
        self._pending_t = np.empty(0, np.float64)
        self._pending = {name: np.empty(0, np.float32) for name in self.channels}
        #: every sample given to ``extend`` (complete buckets and the pending remainder)
        self.samples = 0

    # --- writer -----------------------------------------------------------------------

    def extend(self, t: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Append a block of samples (any length); complete buckets are reduced at once."""
        n = len(t)
        if n == 0:
            return
        self.samples += n
        if len(self._pending_t):
            t = np.concatenate((self._pending_t, t))
            values = {name: np.concatenate((self._pending[name], values[name])) for name in self.channels}
        complete = (len(t) // BASE) * BASE
        if complete:
            self._append_level(0, t[:complete:BASE],
                               {name: values[name][:complete].reshape(-1, BASE) for name in self.channels})
        self._pending_t = np.array(t[complete:], np.float64)
        self._pending = {name: np.array(values[name][complete:], np.float32) for name in self.channels}

    def _append_level(self, index: int, t: np.ndarray, blocks: dict[str, np.ndarray]) -> None:
        """Add buckets to level ``index`` (``blocks[name]``: one row per bucket), then cascade."""
        level = self._levels[index]
        n = len(t)
        start = level.count
        level.reserve(start + n)
        level.t[start : start + n] = t
        for name in self.channels:
            level.mins[name][start : start + n] = np.fmin.reduce(blocks[name], axis=1)
            level.maxs[name][start : start + n] = np.fmax.reduce(blocks[name], axis=1)
        level.count = start + n  # published after the slots are filled
        self._cascade(index)

    def _cascade(self, index: int) -> None:
        level = self._levels[index]
        if level.count < FACTOR:
            return
        if index + 1 == len(self._levels):
            self._levels.append(_Level(level.size * FACTOR, self.channels))
        upper = self._levels[index + 1]
        first, stop = upper.count * FACTOR, (level.count // FACTOR) * FACTOR
        if stop <= first:
            return
        n = (stop - first) // FACTOR
        start = upper.count
        upper.reserve(start + n)
        upper.t[start : start + n] = level.t[first:stop:FACTOR]
        for name in self.channels:
            upper.mins[name][start : start + n] = np.fmin.reduce(level.mins[name][first:stop].reshape(n, FACTOR),
                                                                 axis=1)
            upper.maxs[name][start : start + n] = np.fmax.reduce(level.maxs[name][first:stop].reshape(n, FACTOR),
                                                                 axis=1)
        upper.count = start + n
        self._cascade(index + 1)

    # --- readers ------------------------------------------------------------------------

    def snapshot(self) -> EnvelopeView:
        """The levels as they are now (counts read before arrays: see the module doc)."""
        samples = self.samples
        levels = list(self._levels)
        counts = [level.count for level in levels]
        return EnvelopeView(tuple(LevelView(level.size, count, level.t, dict(level.mins), dict(level.maxs))
                                  for level, count in zip(levels, counts)), self.channels, samples)


def columns(view: EnvelopeView, tail: RawTail, first: int, stop: int, size: int,
            ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Start time, min and max per channel of columns ``first`` .. ``stop - 1`` of ``size`` samples.

    Column ``c`` is the absolute samples ``c * size`` .. ``(c + 1) * size - 1`` that
    exist (the newest column may be partial). ``size`` is a power of two; below
    ``BASE`` the raw tail must hold the columns' samples. Columns with no sample
    are left out. Costs O(columns * FACTOR) plus one partial column."""
    total = tail.stop
    stop = min(stop, -(-total // size))
    if stop <= first:
        empty = np.empty(0, np.float32)
        return np.empty(0), {n: empty for n in view.channels}, {n: empty for n in view.channels}
    if size < BASE:
        return _raw_columns(tail, first, stop, size, view.channels)
    level = view.level_for(size)
    per_column = size // level.size
    full_stop = max(first, min(stop, level.count // per_column))
    t_parts, min_parts, max_parts = [], {n: [] for n in view.channels}, {n: [] for n in view.channels}
    if full_stop > first:
        a, b = first * per_column, full_stop * per_column
        t_parts.append(level.t[a:b:per_column])
        for name in view.channels:
            min_parts[name].append(np.fmin.reduce(level.mins[name][a:b].reshape(-1, per_column), axis=1))
            max_parts[name].append(np.fmax.reduce(level.maxs[name][a:b].reshape(-1, per_column), axis=1))
    for column in range(full_stop, stop):  # the newest columns, beyond the chosen level's complete buckets
        lo, hi = column * size, min((column + 1) * size, total)
        t0, lows, highs = _range_minmax(view, tail, lo, hi)
        t_parts.append(np.array([t0]))
        for name in view.channels:
            min_parts[name].append(np.array([lows[name]], np.float32))
            max_parts[name].append(np.array([highs[name]], np.float32))
    join = np.concatenate
    return (join(t_parts), {n: join(min_parts[n]) for n in view.channels},
            {n: join(max_parts[n]) for n in view.channels})


def _range_minmax(view: EnvelopeView, tail: RawTail, lo: int, hi: int,
                  ) -> tuple[float, dict[str, float], dict[str, float]]:
    """Min and max of absolute samples lo .. hi - 1 (lo a multiple of BASE): level-0 buckets
    where complete, raw samples after them."""
    level0 = view.levels[0]
    split = max(lo, min(hi, view.covered))
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    a, b = lo // BASE, split // BASE
    r0, r1 = split - tail.start, hi - tail.start
    t0 = float(level0.t[a]) if b > a else float(tail.t[lo - tail.start])
    for name in view.channels:
        parts = []
        if b > a:
            parts += [level0.mins[name][a:b], level0.maxs[name][a:b]]
        if r1 > r0:
            parts.append(tail.values[name][r0:r1])
        lows[name] = float(np.fmin.reduce([np.fmin.reduce(p) for p in parts]))
        highs[name] = float(np.fmax.reduce([np.fmax.reduce(p) for p in parts]))
    return t0, lows, highs


def _raw_columns(tail: RawTail, first: int, stop: int, size: int, channels: tuple[str, ...],
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    lo = max(first * size, tail.start)
    lo -= (lo % size)
    lo = max(lo, tail.start)
    hi = min(stop * size, tail.stop)
    a, b = lo - tail.start, hi - tail.start
    whole = ((b - a) // size) * size
    starts = np.arange(a, b, size)
    t = tail.t[starts]
    mins, maxs = {}, {}
    for name in channels:
        values = tail.values[name][a:b]
        blocks = values[:whole].reshape(-1, size)
        low, high = np.fmin.reduce(blocks, axis=1), np.fmax.reduce(blocks, axis=1)
        if whole < len(values):
            low = np.append(low, np.fmin.reduce(values[whole:]))
            high = np.append(high, np.fmax.reduce(values[whole:]))
        mins[name], maxs[name] = low.astype(np.float32), high.astype(np.float32)
    return t, mins, maxs
