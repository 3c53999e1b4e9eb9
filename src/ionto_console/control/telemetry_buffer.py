"""Append-only numeric history of telemetry for plots, written by one thread.

Besides the raw samples it keeps a min/max envelope of the plotted channels
(``control/envelope.py``), extended by the same writer thread every
``FEED_BATCH`` samples, so the GUI thread draws from buckets already reduced
instead of from millions of samples. The envelope covers the whole history even
where a bounded one (the station's all-day board monitor) has dropped its
oldest raw samples: the day stays drawable, decimated, and the newest minutes
at full resolution.

The reader thread appends every sample; the GUI thread reads on a timer. There
is no Qt signal per sample (DESIGN section 3). The arrays grow: when the
capacity is reached, new arrays of twice the size are allocated and the old
contents copied (or, with ``max_samples``, the newest half is copied into
fresh arrays), so a slice a reader took earlier stays valid. A reader takes
``count`` first and slices up to it, which is safe with a single writer because
the writer fills a slot before publishing the new count.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np

from ..core.samples import impedance_kohm, impedance_kohm_array
from .envelope import Envelope, EnvelopeView, RawTail

#: history identities unique across buffers in this process (see TelemetryView.generation)
_generations = itertools.count(1)

CHANNELS = ("t", "current_ma", "voltage_v", "target_ma", "impedance_kohm")
#: the channels the plots draw, and so the ones the envelope reduces
PLOTTED = ("current_ma", "target_ma", "impedance_kohm")
#: samples appended one by one before the envelope takes them as a block (numpy per block,
#: not per sample); the plots read the newest few from the raw arrays
FEED_BATCH = 64


@dataclass(frozen=True)
class TelemetryView:
    """Read-only slices of the history up to one instant."""

    t: np.ndarray
    current_ma: np.ndarray
    voltage_v: np.ndarray
    target_ma: np.ndarray
    impedance_kohm: np.ndarray
    #: identifies this history: differs between buffers and after each clear(), so
    #: a reader that caches per index knows when to drop it
    generation: int = 0
    #: absolute index (since the history began) of the first raw sample here
    offset: int = 0
    #: min/max buckets of the whole history (None: a reader builds one, see ``envelope_of``)
    envelope: EnvelopeView | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.t)

    @property
    def total(self) -> int:
        """Samples in the whole history, raw or only in the envelope."""
        return self.offset + len(self.t)

    def raw_tail(self) -> RawTail:
        return RawTail(self.offset, self.t, {name: getattr(self, name) for name in PLOTTED})


def envelope_of(t: np.ndarray, current_ma: np.ndarray, target_ma: np.ndarray,
                impedance_kohm: np.ndarray) -> EnvelopeView:
    """The envelope of a whole stored history at once (a replayed session, on a worker thread)."""
    envelope = Envelope(PLOTTED)
    envelope.extend(np.asarray(t, np.float64), {
        "current_ma": np.asarray(current_ma, np.float32), "target_ma": np.asarray(target_ma, np.float32),
        "impedance_kohm": np.asarray(impedance_kohm, np.float32)})
    return envelope.snapshot()


class TelemetryBuffer:
    """Growing float64 time and float32 value arrays for one session's plots."""

    def __init__(self, initial_capacity: int = 65_536, max_samples: int | None = None) -> None:
        """``max_samples``: a history that runs all day (the station's board monitor) keeps
        only its newest samples; at the limit the older half is dropped (new arrays, a new
        generation), so memory stays bounded. None: a session's history, kept whole."""
        self._lock = threading.Lock()  # only serialises writers and growth
        self._count = 0
        self._generation = next(_generations)
        self._max_samples = max_samples
        self._envelope = Envelope(PLOTTED)
        self._offset = 0  # absolute index of the raw arrays' first sample
        self._fed = 0  # raw samples already given to the envelope
        self._arrays = self._allocate(initial_capacity if max_samples is None else min(initial_capacity, max_samples))
        self._publish()

    def _publish(self) -> None:
        """What readers see, replaced as one tuple (writer, under the lock, after the slots are
        filled). WHY not a lock on the read path: the writer holds its lock while it drops the
        older half of a bounded history (allocating and copying tens of MB), and the GUI
        thread must never wait for that."""
        self._published = (self._arrays, self._count, self._offset, self._generation, self._envelope)

    @staticmethod
    def _allocate(capacity: int) -> dict[str, np.ndarray]:
        return {
            name: np.full(capacity, np.nan, dtype=np.float64 if name == "t" else np.float32)
            for name in CHANNELS
        }

    def append(
        self, t: float, current_ma: float, voltage_v: float, target_ma: float, output_on: bool = True
    ) -> None:
        impedance = impedance_kohm(current_ma, voltage_v, output_on)
        with self._lock:
            if self._count == len(self._arrays["t"]):
                self._make_room()
            i = self._count
            arrays = self._arrays
            arrays["t"][i] = t
            arrays["current_ma"][i] = current_ma
            arrays["voltage_v"][i] = voltage_v
            arrays["target_ma"][i] = target_ma
            arrays["impedance_kohm"][i] = np.nan if impedance is None else impedance
            self._count = i + 1
            if self._count - self._fed >= FEED_BATCH:
                self._feed()
            self._publish()

    def _feed(self) -> None:
        """Give the envelope the raw samples it has not had (writer, under the lock)."""
        a, b = self._fed, self._count
        if b > a:
            arrays = self._arrays
            self._envelope.extend(arrays["t"][a:b], {name: arrays[name][a:b] for name in PLOTTED})
            self._fed = b

    def extend(
        self,
        t: np.ndarray,
        current_ma: np.ndarray,
        voltage_v: np.ndarray,
        target_ma: np.ndarray,
        output_on: np.ndarray | bool = True,
    ) -> None:
        """Append a block of samples at once (replay of a stored session, benchmarks):
        the same result as calling :meth:`append` for each, without a Python loop."""
        t = np.asarray(t, dtype=np.float64)
        n = len(t)
        if n == 0:
            return
        current = np.asarray(current_ma, dtype=np.float64)
        voltage = np.asarray(voltage_v, dtype=np.float64)
        on = np.broadcast_to(np.asarray(output_on, dtype=bool), (n,))
        impedance = impedance_kohm_array(current, voltage, on)
        block = {"t": t, "current_ma": current, "voltage_v": voltage,
                 "target_ma": np.asarray(target_ma, dtype=np.float64), "impedance_kohm": impedance}
        with self._lock:
            self._feed()  # the envelope takes samples in order: first what append() left pending
            self._envelope.extend(block["t"], {name: block[name] for name in PLOTTED})
            if self._max_samples is not None and n > self._max_samples // 2:
                keep = self._max_samples // 2  # a block longer than the kept history: only its newest part raw
                block = {name: values[-keep:] for name, values in block.items()}
                self._offset += self._count + n - keep
                self._count = self._fed = 0
                n = keep
            while self._count + n > len(self._arrays["t"]):
                self._make_room()
            i = self._count
            for name in CHANNELS:
                self._arrays[name][i : i + n] = block[name]
            self._count = self._fed = i + n
            self._publish()

    def _make_room(self) -> None:
        """Double the arrays, or at ``max_samples`` keep the newest half in fresh arrays.

        Fresh arrays either way: a view a reader took earlier stays valid."""
        capacity = len(self._arrays["t"])
        if self._max_samples is None or 2 * capacity <= self._max_samples:
            bigger = self._allocate(2 * capacity)
            for name, old in self._arrays.items():
                bigger[name][:capacity] = old
            self._arrays = bigger
            return
        self._feed()  # the envelope keeps what the raw arrays drop
        keep = min(self._count, max(self._max_samples // 2, 1))
        fresh = self._allocate(max(self._max_samples, capacity))
        for name, old in self._arrays.items():
            fresh[name][:keep] = old[self._count - keep : self._count]
        self._arrays = fresh
        self._offset += self._count - keep
        self._count = self._fed = keep

    def clear(self) -> None:
        with self._lock:
            self._count = self._fed = self._offset = 0
            self._envelope = Envelope(PLOTTED)
            self._generation = next(_generations)
            self._publish()

    def __len__(self) -> int:
        return self._published[1]

    def view(self) -> TelemetryView:
        """Raw samples, offset and envelope as of one instant, without waiting for the writer.

        The raw state is one published tuple; the envelope is read after it, so it may hold
        a few newer buckets, never fewer than the raw samples need: a bounded history drops
        only its older half, long after the envelope has those samples."""
        arrays, count, offset, generation, envelope = self._published
        return TelemetryView(**{name: arrays[name][:count] for name in CHANNELS}, generation=generation,
                             offset=offset, envelope=envelope.snapshot())
