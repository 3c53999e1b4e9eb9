"""The black box: a session's raw serial stream, kept beside its record.

WHY keep the bytes and not only the decoded samples: a field report ("the
console stopped for no reason", "it said open circuit at 3 ms") can only be
judged, and turned into a regression test, with what was on the wire: every
frame in both directions, including the ones the console dropped, rejected or
never answered. ``ionto-replay``-style tools feed it back through the link.

Format ``ionto-wire/1`` (before compression): the header ``IONTOWIRE1\\n``,
then records ``<d B I`` (seconds since the recording started on the host's
monotonic clock, direction 0 = host to board / 1 = board to host, length)
followed by that many bytes exactly as they were written or read. The whole
is zlib-compressed as it is recorded, and bounded: past ``MAX_COMPRESSED_BYTES``
(plus what zlib still holds, under 64 KiB) recording stops and the log says it was truncated (the beginning of a session,
with its configuration and start, is kept).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator

from sqlalchemy import select

from .audit import append_audit
from .database import Database
from .errors import InvalidRecord, RecordNotFound
from .models import TreatmentSession, WireLog

FORMAT = "ionto-wire/1"
HEADER = b"IONTOWIRE1\n"
_RECORD = struct.Struct("<dBI")
TO_BOARD, FROM_BOARD = 0, 1
#: 30 min at 1000 Hz telemetry is ~60 MB raw and compresses to well under this.
MAX_COMPRESSED_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class WireRecord:
    t: float  # seconds since the recording started (host monotonic clock)
    direction: int  # TO_BOARD or FROM_BOARD
    data: bytes


@dataclass(frozen=True)
class WireLogBlob:
    """A finished recording, ready to store."""

    started_at: dt.datetime
    data: bytes  # zlib-compressed ionto-wire/1
    records: int
    raw_bytes: int
    truncated: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class WireRecording:
    """Compresses records as they come (any thread; one short lock), bounded in size."""

    def __init__(self, started_at: dt.datetime, t0: float, max_compressed: int = MAX_COMPRESSED_BYTES) -> None:
        self._started_at = started_at
        self._t0 = t0
        self._max = max_compressed
        self._lock = threading.Lock()
        self._z = zlib.compressobj(6)
        self._out = bytearray(self._z.compress(HEADER))
        self._records = 0
        self._raw = 0
        self._truncated = False
        self._finished: WireLogBlob | None = None

    def add(self, direction: int, t: float, data: bytes) -> None:
        with self._lock:
            if self._finished is not None or self._truncated:
                return
            chunk = _RECORD.pack(t - self._t0, direction, len(data)) + bytes(data)
            self._out += self._z.compress(chunk)
            self._records += 1
            self._raw += len(data)
            if len(self._out) > self._max:
                self._truncated = True

    def finish(self) -> WireLogBlob:
        with self._lock:
            if self._finished is None:
                self._out += self._z.flush()
                self._finished = WireLogBlob(self._started_at, bytes(self._out), self._records, self._raw,
                                             self._truncated)
            return self._finished


def decode(data: bytes) -> Iterator[WireRecord]:
    """The records of a stored (compressed) log; InvalidRecord if it is not one."""
    try:
        raw = zlib.decompress(data)
    except zlib.error as exc:
        raise InvalidRecord(f"the wire log is damaged: {exc}") from None
    if not raw.startswith(HEADER):
        raise InvalidRecord("not an ionto-wire/1 log")
    pos = len(HEADER)
    while pos < len(raw):
        if pos + _RECORD.size > len(raw):
            raise InvalidRecord("the wire log ends inside a record")
        t, direction, length = _RECORD.unpack_from(raw, pos)
        pos += _RECORD.size
        yield WireRecord(t, direction, raw[pos:pos + length])
        pos += length


def store_wire_log(db: Database, session_id: int, blob: WireLogBlob, *, who: str) -> int:
    """Keep ``blob`` beside session ``session_id`` (once; audited with its digest)."""
    with db.write() as s:
        if s.get(TreatmentSession, session_id) is None:
            raise RecordNotFound(f"No session with id {session_id}.")
        row = WireLog(session_id=session_id, format=FORMAT, started_at=blob.started_at, records=blob.records,
                      raw_bytes=blob.raw_bytes, truncated=blob.truncated, sha256=blob.sha256, data=blob.data)
        s.add(row)
        s.flush()
        append_audit(s, who=who, action="add", entity="wire_log", entity_id=row.id,
                     after={"session_id": session_id, "format": FORMAT, "records": blob.records,
                            "raw_bytes": blob.raw_bytes, "truncated": blob.truncated, "sha256": blob.sha256},
                     why="the session's serial stream (black box)")
        return row.id


def load_wire_log(db: Database, session_id: int) -> WireLog | None:
    """The stored log row of a session (None when it has none); its digest is checked."""
    with db.read() as s:
        row = s.scalars(select(WireLog).where(WireLog.session_id == session_id)).first()
        if row is None:
            return None
        s.expunge(row)
    if hashlib.sha256(row.data).hexdigest() != row.sha256:
        raise InvalidRecord(f"the wire log of session {session_id} does not match its digest")
    return row


def write_wire_log(db: Database, session_id: int, target: str | Path | IO[bytes]) -> int:
    """Export a session's black box as its stored file (``.ionto-wire``, zlib); returns bytes written."""
    row = load_wire_log(db, session_id)
    if row is None:
        raise RecordNotFound(f"Session {session_id} has no recorded serial stream.")
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(row.data)
    else:
        target.write(row.data)
    return len(row.data)
