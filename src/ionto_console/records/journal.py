"""The local records journal: what the console saw, on the station's own disk before the database.

WHY write-ahead of every chunk (not only when the database fails): a failure
is known only after a commit has failed or hung, and by then the samples of
that commit and of everything queued behind it exist only in memory. Writing
each batch to the journal first (every ``JOURNAL_INTERVAL_S``, 50 ms, then
``fsync``) means
- a hung or dead database loses nothing the console saw: the journal holds
  every sample and event up to the cut, and the interruption itself;
- a kill -9 loses at most one journal interval (the OS keeps what was
  written even without the fsync; the fsync covers a power cut), well inside
  the 250 ms promise, independent of how long a database commit takes;
- one code path, exercised at every session, not a rarely run fallback.
The cost is one ~2-4 KB append and one fsync per 50 ms.

Exactly once: every record has a number ``n``; the sample writer commits
records in order and, in the same transaction, sets the session's
``journal_seq`` to the newest number committed. Replay inserts only the
records above it, under the session row's lock, so a journal replayed twice,
or replayed while the writer catches up, never duplicates a sample.

Format (one file per session, named by the session's uid, mode 0600):
records of ``<u32 length><u32 crc32><payload>``; payload = JSON header,
``\\n``, binary body (samples: float64 times then float32 columns then uint16
flags). A torn last record (killed mid-write) fails its length or CRC and is
ignored with everything after it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .samples import FLAGS, FLOAT, SampleSeries

log = logging.getLogger(__name__)

JOURNAL_DIRNAME = "journal"
SUFFIX = ".journal"
#: The intake thread journals (and fsyncs) what arrived at least this often.
JOURNAL_INTERVAL_S = 0.05
_HEAD = struct.Struct("<II")
#: A record larger than this is damage, not data (a 1 s block at 1 kHz is ~26 KB).
_MAX_RECORD = 64 * 1024 * 1024


def journal_folder(data_folder: Path) -> Path:
    folder = data_folder / JOURNAL_DIRNAME
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@dataclass
class JournalRecord:
    """One journal record: ``kind`` open | samples | event | close, its number and content."""

    kind: str
    n: int
    header: dict[str, Any]
    series: SampleSeries | None = None

    @property
    def samples(self) -> int:
        return len(self.series) if self.series is not None else 0


def encode_series(series: SampleSeries) -> bytes:
    parts = [np.asarray(series.t, "<f8").tobytes()]
    for name in ("current_ma", "voltage_v", "impedance_kohm", "target_ma"):
        parts.append(np.asarray(getattr(series, name), FLOAT).tobytes())
    parts.append(np.asarray(series.flags, FLAGS).tobytes())
    return b"".join(parts)


def decode_series(body: bytes, count: int) -> SampleSeries:
    if len(body) != count * (8 + 4 * FLOAT.itemsize + FLAGS.itemsize):
        raise ValueError("journal sample block has the wrong size")
    t = np.frombuffer(body, "<f8", count, 0).copy()
    off = 8 * count
    cols = []
    for _ in range(4):
        cols.append(np.frombuffer(body, FLOAT, count, off).copy())
        off += 4 * count
    flags = np.frombuffer(body, FLAGS, count, off).copy()
    return SampleSeries(t, cols[0], cols[1], cols[2], cols[3], flags)


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not journalable: {type(value).__name__}")


class SessionJournal:
    """The append-only journal file of one session (one writer thread appends; thread-safe)."""

    def __init__(self, path: Path, session_uid: str, session_id: int, station_id: str) -> None:
        self.path = path
        self.session_uid = session_uid
        self._lock = threading.Lock()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "ab", buffering=0)
        _fsync_dir(path.parent)
        self.append([JournalRecord("open", 0, {"session_uid": session_uid, "session_id": session_id,
                                                "station_id": station_id})])

    @classmethod
    def create(cls, data_folder: Path, session_uid: str, session_id: int, station_id: str) -> "SessionJournal":
        return cls(journal_folder(data_folder) / f"{session_uid}{SUFFIX}", session_uid, session_id, station_id)

    def append(self, records: list[JournalRecord], *, sync: bool = True) -> None:
        """Write ``records`` and (by default) fsync them; raises OSError when the disk refuses."""
        blob = b"".join(_frame(record) for record in records)
        with self._lock:
            self._file.write(blob)
            if sync:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def remove(self) -> None:
        """The record is complete in the database: the journal has done its job."""
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _frame(record: JournalRecord) -> bytes:
    header = dict(record.header, kind=record.kind, n=record.n)
    body = b""
    if record.series is not None:
        header["count"] = len(record.series)
        body = encode_series(record.series)
    payload = json.dumps(header, default=_json_default, separators=(",", ":")).encode() + b"\n" + body
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def read_journal(path: Path) -> tuple[list[JournalRecord], bool]:
    """(records in order, torn): a damaged or partial tail ends the journal (reported, not raised)."""
    data = path.read_bytes()
    records: list[JournalRecord] = []
    pos = 0
    torn = False
    while pos < len(data):
        if pos + _HEAD.size > len(data):
            torn = True
            break
        length, crc = _HEAD.unpack_from(data, pos)
        payload = data[pos + _HEAD.size: pos + _HEAD.size + length]
        if length > _MAX_RECORD or len(payload) != length or zlib.crc32(payload) != crc:
            torn = True
            break
        try:
            head, _, body = payload.partition(b"\n")
            header = json.loads(head)
            kind, n = header.pop("kind"), int(header.pop("n"))
            series = decode_series(body, int(header.pop("count"))) if kind == "samples" else None
        except (ValueError, KeyError, TypeError):
            torn = True
            break
        records.append(JournalRecord(kind, n, header, series))
        pos += _HEAD.size + length
    return records, torn


def journal_files(data_folder: Path) -> Iterator[Path]:
    folder = data_folder / JOURNAL_DIRNAME
    if folder.is_dir():
        yield from sorted(folder.glob(f"*{SUFFIX}"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
