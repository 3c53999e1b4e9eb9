"""The audit chain's head, signed with this station's key and kept outside the database.

WHY: a hash chain inside the database catches an edited entry, but not an
insider who deletes the newest entries (a valid shorter chain), deletes all
of them, or edits rows and recomputes every hash. So after every commit that
appended audit entries, the station appends the new head (sequence number
and hash) to a file in its data folder, signed with a per-station Ed25519
key that never enters the database. Verification then checks that every
head this station anchored is still in the chain with the same hash: a
deleted tail, a deleted trail or a recomputed chain each lose or change an
anchored head.

Files, in the station's data folder (both created mode 0600, never rewritten):
- ``audit-anchor-key.pem``: the Ed25519 private key (PKCS#8 PEM), made once.
- ``audit-anchors.jsonl``: one signed line per anchored head, opened with
  ``O_APPEND`` (several processes of one station append whole lines).

A line names the database it anchors (its URL without password) and the
chain's first entry hash, so one station pointed at a test database and at
the clinic's never mixes their heads.

Limits (docs/safety-case.md): someone who can read the station's key and
rewrite its data folder can forge anchors; another station's heads are in
its own file. The head printed on every report is a third copy.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from .audit import AUDIT_HEAD_KEY, canonical_json, utc_now

log = logging.getLogger(__name__)

KEY_FILE = "audit-anchor-key.pem"
ANCHORS_FILE = "audit-anchors.jsonl"
#: A head is printed in this many hex digits on reports (enough to compare by eye, 64 bits).
SHORT = 16


def short_head(seq: int, head: str) -> str:
    """The head as printed on reports: ``#<seq> <first 16 hex digits>``."""
    return f"#{seq} {head[:SHORT]}"


def database_label(url: str) -> str:
    """The database an anchor line belongs to: its URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an odd URL still labels its anchors
        return url


@dataclass(frozen=True)
class AnchorLine:
    database: str
    first: str
    seq: int
    head: str
    at: str
    number: int = 0
    raw: bytes = b""


def _create_private(path: Path, data: bytes) -> None:
    """Write a new file with mode 0600 atomically; if another process made it first, keep theirs."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class Anchor:
    """This station's anchor: its key and its append-only file of signed heads."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.key_path = self.folder / KEY_FILE
        self.path = self.folder / ANCHORS_FILE
        self._key: Any = None
        self._lock = threading.Lock()

    # --- the key ---------------------------------------------------------------------------

    def _private_key(self) -> Any:
        """Load the station key, creating it the first time (cryptography is imported only here)."""
        if self._key is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            if not self.key_path.exists():
                self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
                _create_private(self.key_path, pem)
            self._key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        return self._key

    # --- writing ---------------------------------------------------------------------------

    def append(self, database: str, first: str, seq: int, head: str) -> None:
        """Sign and append one head (a whole line in one ``write`` on an ``O_APPEND`` file, then fsync)."""
        body = {"v": 1, "database": database, "first": first, "seq": int(seq), "head": head,
                "at": utc_now().isoformat(timespec="milliseconds")}
        with self._lock:
            signature = self._private_key().sign(canonical_json(body).encode("utf-8"))
            line = canonical_json({**body, "sig": base64.b64encode(signature).decode("ascii")}) + "\n"
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    # --- reading ---------------------------------------------------------------------------

    def lines(self, database: str) -> tuple[list[AnchorLine], list[str]]:
        """This database's anchored heads as written (signatures checked on demand: ``authentic``),
        and the problems of lines that cannot be read at all.

        WHY signatures on demand: one Ed25519 verification costs ~0.1-1 ms and a station appends a
        line per audited commit (hundreds a day). A line whose head *matches* the chain tells nothing
        false even if forged, so verification checks the signature only of lines it would act on: a
        head that differs from the chain, or one beyond the chain's end."""
        if not self.path.exists():
            return [], []
        good: list[AnchorLine] = []
        problems: list[str] = []
        with open(self.path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    item = json.loads(raw)
                    line = AnchorLine(str(item["database"]), str(item["first"]), int(item["seq"]),
                                      str(item["head"]), str(item["at"]), number, raw)
                except Exception:  # noqa: BLE001 - any unreadable line is one problem, in words
                    problems.append(f"line {number} of {self.path.name} cannot be read (damaged or edited)")
                    continue
                if line.database == database:
                    good.append(line)
        return good, problems

    def authentic(self, line: "AnchorLine") -> bool:
        """True when ``line`` is exactly as this station signed it."""
        if not self.key_path.exists():
            return False
        try:
            item = json.loads(line.raw)
            signature = base64.b64decode(item.pop("sig"))
            self._private_key().public_key().verify(signature, canonical_json(item).encode("utf-8"))
            return True
        except Exception:  # noqa: BLE001 - a bad signature, a missing field: not authentic
            return False


#: The anchor each open database appends to (by engine: ``Database`` itself is not hashable).
_installed: "weakref.WeakKeyDictionary[Any, tuple[Anchor, str]]" = weakref.WeakKeyDictionary()


def install_anchor(db: Any, folder: Path) -> Anchor:
    """Anchor every audited commit of ``db`` in ``folder`` (the station's data folder).

    WHY after commit: the head is anchored only once it is durable in the database; a failure to
    write the anchor is logged and never turns a committed change into a failed one (the next
    commit anchors the newer head, which covers this one)."""
    anchor = Anchor(folder)
    label = database_label(db.url)
    _installed[db.engine] = (anchor, label)
    first_hash: dict[str, str] = {}

    def _after_commit(session: Any) -> None:
        head = session.info.pop(AUDIT_HEAD_KEY, None)
        if head is None:
            return
        try:
            if "first" not in first_hash:
                first_hash["first"] = _first_hash(db)
            anchor.append(label, first_hash["first"], head[0], head[1])
        except Exception:  # noqa: BLE001 - see the docstring: logged, never raised into the writer
            log.exception("could not anchor the audit head #%s", head[0])

    def _after_rollback(session: Any) -> None:
        session.info.pop(AUDIT_HEAD_KEY, None)

    event.listen(db._write_sessions, "after_commit", _after_commit)
    event.listen(db._write_sessions, "after_soft_rollback", lambda session, _tx: _after_rollback(session))
    return anchor


def anchor_of(db: Any) -> tuple[Anchor, str] | None:
    """The anchor installed on ``db`` and the database label its lines carry (None: not anchored)."""
    return _installed.get(db.engine)


def _first_hash(db: Any) -> str:
    from sqlalchemy import select

    from .models import AuditEntry

    with db.read() as s:
        return s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 1)) or ""
