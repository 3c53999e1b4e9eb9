"""Compact storage of the sample series: one BLOB per chunk, column arrays of float32.

WHY this layout (``LAYOUT_V1``): a sample is 22 bytes (five float32 + a
uint16 of ICD flags), a 30-minute 1000 Hz session is ~40 MB raw and ~9,000
rows at the writer's 200 ms chunks; decoding is one ``numpy.frombuffer`` per
column per chunk, so replaying 1.8 M samples is a few tens of milliseconds.
Times are stored as float32 *offsets* from the chunk's float64 ``t0``: a
float32 seconds count would lose sub-millisecond resolution after ~30 min.

Units (as the treatment engine uses them): t in seconds since the session
start, current and target in mA, voltage in V, impedance in kΩ (NaN when the
current is too small to tell), flags = ICD TELEMETRY flags.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import numpy.typing as npt

LAYOUT_V1 = 1
FLOAT = np.dtype("<f4")
FLAGS = np.dtype("<u2")
FLOAT_COLUMNS = ("t", "current_ma", "voltage_v", "impedance_kohm", "target_ma")
BYTES_PER_SAMPLE = FLOAT.itemsize * len(FLOAT_COLUMNS) + FLAGS.itemsize


@dataclass(frozen=True)
class SampleSeries:
    """A session's samples as numpy arrays of equal length (float64 time, float32 values)."""

    t: npt.NDArray[np.float64]
    current_ma: npt.NDArray[np.float32]
    voltage_v: npt.NDArray[np.float32]
    impedance_kohm: npt.NDArray[np.float32]
    target_ma: npt.NDArray[np.float32]
    flags: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @classmethod
    def empty(cls) -> "SampleSeries":
        return cls(np.empty(0), *(np.empty(0, FLOAT) for _ in range(4)), np.empty(0, FLAGS))  # type: ignore[arg-type]

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[float | None]]) -> "SampleSeries":
        """From (t, current, voltage, impedance or None, target, flags) tuples."""
        if not rows:
            return cls.empty()
        try:
            table = np.array(rows, dtype=np.float64)  # fast path: all numeric (the writer stores None as NaN)
        except TypeError:
            table = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)
        return cls(table[:, 0].copy(), table[:, 1].astype(FLOAT), table[:, 2].astype(FLOAT),
                   table[:, 3].astype(FLOAT), table[:, 4].astype(FLOAT), table[:, 5].astype(FLAGS))

    def downsample(self, max_points: int) -> "SampleSeries":
        """At most ``max_points`` samples keeping each bucket's min and max current (peaks survive)."""
        n = len(self)
        if n <= max_points or max_points < 2:
            return self
        buckets = max_points // 2
        edges = np.linspace(0, n, buckets + 1).astype(np.int64)
        picks: list[int] = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi <= lo:
                continue
            seg = self.current_ma[lo:hi]
            if np.isfinite(seg).any():
                low, high = lo + int(np.nanargmin(seg)), lo + int(np.nanargmax(seg))
            else:
                low, high = lo, hi - 1
            picks.extend(sorted({low, high}))
        idx = np.asarray(picks, dtype=np.int64)
        return SampleSeries(self.t[idx], self.current_ma[idx], self.voltage_v[idx], self.impedance_kohm[idx],
                            self.target_ma[idx], self.flags[idx])


def encode_chunk(series: SampleSeries) -> tuple[float, int, bytes]:
    """(t0, n, blob) for one chunk."""
    n = len(series)
    if n == 0:
        raise ValueError("an empty chunk is not stored")
    t0 = float(series.t[0])
    parts = [np.asarray(series.t - t0, FLOAT).tobytes()]
    for name in FLOAT_COLUMNS[1:]:
        parts.append(np.asarray(getattr(series, name), FLOAT).tobytes())
    parts.append(np.asarray(series.flags, FLAGS).tobytes())
    return t0, n, b"".join(parts)


def decode_chunks(chunks: Iterable[tuple[float, int, int, bytes]]) -> SampleSeries:
    """Join (t0, n, layout, blob) chunks, in order, into one series (preallocated, one copy)."""
    chunks = list(chunks)
    total = sum(c[1] for c in chunks)
    t = np.empty(total, np.float64)
    floats = [np.empty(total, FLOAT) for _ in range(4)]
    flags = np.empty(total, FLAGS)
    pos = 0
    for t0, n, layout, blob in chunks:
        if layout != LAYOUT_V1:
            raise ValueError(f"unknown sample chunk layout {layout}")
        if len(blob) != n * BYTES_PER_SAMPLE:
            raise ValueError(f"sample chunk is {len(blob)} bytes, expected {n * BYTES_PER_SAMPLE}")
        step = n * FLOAT.itemsize
        t[pos:pos + n] = np.frombuffer(blob, FLOAT, n, 0)
        t[pos:pos + n] += t0
        for i, column in enumerate(floats, start=1):
            column[pos:pos + n] = np.frombuffer(blob, FLOAT, n, i * step)
        flags[pos:pos + n] = np.frombuffer(blob, FLAGS, n, 5 * step)
        pos += n
    return SampleSeries(t, floats[0], floats[1], floats[2], floats[3], flags)


def decode_chunks_checked(chunks: Iterable[tuple[float, int, int, bytes]]) -> tuple[SampleSeries, list[str]]:
    """Like ``decode_chunks`` but a damaged chunk is left out and described instead of raised.

    WHY: start-up recovery must close a crashed session even when one of its chunks was
    damaged on disk; one bad row must never stop the console from starting."""
    good: list[tuple[float, int, int, bytes]] = []
    damage: list[str] = []
    for index, chunk in enumerate(chunks):
        t0, n, layout, blob = chunk
        try:
            if layout != LAYOUT_V1:
                raise ValueError(f"unknown layout {layout}")
            if n is None or n <= 0 or blob is None or len(blob) != n * BYTES_PER_SAMPLE:
                raise ValueError(f"{0 if blob is None else len(blob)} bytes, expected {(n or 0) * BYTES_PER_SAMPLE}")
            float(t0)
        except (TypeError, ValueError) as exc:
            damage.append(f"sample chunk {index}: {exc}")
            continue
        good.append(chunk)
    return decode_chunks(good), damage


def chunks_digest(blobs: Iterable[bytes]) -> str:
    """SHA-256 over the stored chunk blobs in order: recorded in the audit trail when a session closes."""
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    return digest.hexdigest()
