"""The sample writer's commits, in a process of their own (its own interpreter, its own GIL).

WHY a process: the promise is a database commit at least every 250 ms
(DESIGN §4). Inside the console's interpreter a commit gives the GIL away at
every database call and waits to get it back while the controller, the
intake and the GUI keep it busy: measured flat out (``benchmarks/storage.py
--flat-out-only``) 5-70 ms per call, and a commit makes several, so the
longest gap passed 250 ms in some runs on SQLite and in most on PostgreSQL,
although one transaction's rows take 2 ms. This process owns the writer's
database connection and runs the same deadline-driven policy
(``records.commit_policy``) on records the console has already journalled;
nothing in it competes for its GIL, so its commits keep their time whatever
the console's threads do.

The console side (``records.writer.SampleWriter``) keeps every record until
this process acknowledges its commit, so a process that dies or hangs is
seen exactly like a database that fails or hangs: the error callback (a
death), the records watchdog (a hang: no acknowledgement, ``last_commit``
ages), a retry with a new process that is sent everything unacknowledged
(the commit is exactly-once by ``journal_seq``, ``records.writer.commit_records``),
and ``close``/``spill`` reporting what is unsaved.

Protocol (pickled tuples over a socket pair, ``multiprocessing.connection``):
console -> process: ``{"url", "session_id", "who", "interval_s", "anchor_folder"}`` first,
then ``("records", [JournalRecord, ...], journalled)``, ``("flush",)``, ``("close",)``;
process -> console: ``("committed", newest record number or None, monotonic time of the
commit)``, ``("error", plain message)``, ``("closed",)``. The times are ``time.monotonic()``
(CLOCK_MONOTONIC, one clock for every process of the machine on Linux).

SQLite durability: a commit of sample records that the session's journal already holds (fsynced:
``journalled`` in their message) and of no event goes through a ``synchronous=NORMAL``
connection: WAL mode still keeps the file consistent, a power cut can only take the newest such
commits back (a prefix of the commits survives), and the journal, replayed at the next start
(``records.recovery``, exactly-once by ``journal_seq``), has them. WHY: a FULL commit waits for
the WAL fsync, measured up to ~200 ms on a busy shared disk, and that alone broke the 250 ms
gap. A heartbeat alone (no record) is NORMAL too: losing one loses nothing. Every other commit
(an event: its audit entry is anchored outside the database; records the journal could not
take; the start-up commit) stays FULL, and a FULL commit syncs every frame
before it; the session's close (``finish_session``, the console's own FULL connection) syncs
them all before its journal is removed.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: How long ``SampleWriter.start`` waits for a new process's first commit (it imports the
#: database libraries and opens its connection first: ~0.3-1 s on a busy station).
READY_TIMEOUT_S = 15.0
#: Most records one message carries (bounds one pickle: ~64 x 55 KB).
MAX_RECORDS_PER_MESSAGE = 64
#: The newest commit's monotonic time, in a page both processes map (one aligned 8-byte store).
_COMMIT_TIME = struct.Struct("=d")


class CommitProcess:
    """The console's handle on one commit process: spawn, send, receive, stop."""

    def __init__(self, proc: subprocess.Popen[bytes], conn: Connection, clock: mmap.mmap) -> None:
        self.proc = proc
        self.conn = conn
        self._clock = clock
        self._send_lock = threading.Lock()
        self._idle = False  # it has imported what it needs and waits for its session
        #: Set by the console's link once it has seen the process end: its sender stops then (a
        #: send can still succeed for a moment after a kill, and there may be nothing more to send).
        self.gone = threading.Event()

    def commit_time(self) -> float:
        """``time.monotonic()`` of the process's newest commit (0.0: none yet), read from the memory
        it writes it to after every commit. WHY not only the acknowledgement: the console's link
        thread may wait for its GIL while the process commits on time; the records watchdog reads
        this, so it sees the database being written, and a hung process all the same."""
        return _COMMIT_TIME.unpack_from(self._clock, 0)[0]

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout``) until the process has imported its libraries; True if it has."""
        if not self._idle:
            try:
                message = self.recv(timeout)
            except (EOFError, OSError):
                return False
            self._idle = message == ("idle",)
        return self._idle

    @classmethod
    def spawn(cls, url: str, session_id: int, *, who: str, interval_s: float,
              anchor_folder: Path | None) -> "CommitProcess":
        """A process for ``session_id``'s commits: the spare one started earlier if it is still
        there, else a new one (raises OSError when it cannot start); a new spare is started for
        the next session. WHY a spare: a new process imports the database libraries first
        (~0.3-1.5 s on a busy station), and that would lengthen every treatment start.

        The URL (it may carry a password) goes over the socket, never on the command line."""
        global _spare
        with _spare_lock:
            child, _spare = _spare, None
        if child is None or child.proc.poll() is not None:
            child = cls._start()
        child.wait_idle(READY_TIMEOUT_S)
        child.send({"url": url, "session_id": session_id, "who": who, "interval_s": interval_s,
                    "anchor_folder": None if anchor_folder is None else str(anchor_folder)})
        threading.Thread(target=prepare, name="commit-process-spare", daemon=True).start()
        return child

    @classmethod
    def _start(cls) -> "CommitProcess":
        ours, theirs = socket.socketpair()
        clock_fd = os.memfd_create("ionto-commit-time")
        os.ftruncate(clock_fd, _COMMIT_TIME.size)
        clock = mmap.mmap(clock_fd, _COMMIT_TIME.size)
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        try:
            proc = subprocess.Popen([sys.executable, "-m", "ionto_console.records.commit_process",
                                     str(theirs.fileno()), str(clock_fd)], pass_fds=[theirs.fileno(), clock_fd],
                                    env=env, stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            clock.close()
            raise
        finally:
            theirs.close()
            os.close(clock_fd)
        return cls(proc, Connection(ours.detach()), clock)

    def send(self, message: Any) -> None:
        """Raises OSError when the process is gone (or ``stop`` closed the socket)."""
        with self._send_lock:
            self.conn.send(message)

    def recv(self, timeout: float | None = None) -> Any:
        """The next message; None when ``timeout`` passed first; raises EOFError/OSError when gone."""
        if timeout is not None and not self.conn.poll(timeout):
            return None
        return self.conn.recv()

    def kill(self) -> None:
        """End the process now (a hung or abandoned one): what it had not committed is still the
        console's, and stays in its journal."""
        try:
            self.proc.kill()
        except OSError:
            pass

    def stop(self, timeout: float = 2.0) -> int | None:
        """Wait for the process to end (killing it after ``timeout``) and close the socket."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.wait()
        try:
            self.conn.close()
        except OSError:
            pass
        return code


_spare: CommitProcess | None = None
_spare_lock = threading.Lock()


def prepare(wait_s: float = 0.0) -> None:
    """Start a spare commit process now (if there is none), so the next session's writer starts
    without waiting for one. It waits for its session; it ends when this process does.
    ``wait_s``: also wait (at most this long) until it has imported its libraries."""
    global _spare
    with _spare_lock:
        child = _spare if _spare is not None and _spare.proc.poll() is None else None
    if child is None:
        try:
            new = CommitProcess._start()
        except OSError as exc:
            log.warning("no spare records writer process: %s", exc)
            return
        with _spare_lock:
            if _spare is None or _spare.proc.poll() is not None:
                _spare = child = new
            else:
                child = _spare
        if child is not new:
            new.kill()
            new.stop()
    if wait_s > 0:
        child.wait_idle(wait_s)


def prepare_in_background() -> None:
    """``prepare`` on a thread of its own (callers may be the GUI thread), unless the sample
    writer commits in-process (``records.writer.COMMIT_IN_PROCESS``)."""
    from . import writer

    if writer.COMMIT_IN_PROCESS:
        threading.Thread(target=prepare, name="commit-process-spare", daemon=True).start()


def needs_full_sync(batch: list[Any], unjournalled_upto: int, *, warm_up: bool = False) -> bool:
    """Whether a commit of ``batch`` must wait for its WAL fsync (SQLite ``synchronous=FULL``):
    unless every record in it is a sample record the journal holds (numbers above
    ``unjournalled_upto``, the newest the journal could not take) or it is a heartbeat alone.
    An event always: its audit entry's head is anchored outside the database, and a commit a
    power cut took back would leave an anchored head the chain no longer has."""
    if warm_up:
        return True
    if not batch:
        return False
    return batch[0].n <= unjournalled_upto or any(r.kind == "event" for r in batch)


# --- the process itself ---------------------------------------------------------------------


def _serve(conn: Connection, clock: mmap.mmap | None = None) -> None:
    from .commit_policy import CostEstimator, plan_commit
    from .database import open_writer_database
    from .errors import plain_message
    from .journal import JOURNAL_INTERVAL_S
    from .writer import commit_records, planned_records

    try:
        conn.send(("idle",))
    except OSError:
        return
    try:
        hello = conn.recv()
    except (EOFError, OSError):
        return  # a spare the console did not need
    session_id, who, interval = int(hello["session_id"]), str(hello["who"]), float(hello["interval_s"])
    folder = hello.get("anchor_folder")
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    wake = threading.Event()

    def send(message: Any) -> None:
        try:
            conn.send(message)
        except OSError:  # the console is gone: its journal has everything; keep committing what is here
            pass

    def read() -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = ("gone",)
            inbox.put(message)
            wake.set()
            if message[0] in ("close", "gone"):
                return

    try:
        db = open_writer_database(hello["url"], None if folder is None else Path(folder))
        fast = (open_writer_database(hello["url"], None if folder is None else Path(folder), synchronous="NORMAL")
                if db.dialect == "sqlite" else db)
    except Exception as exc:  # noqa: BLE001 - said to the console, which retries with a new process
        send(("error", plain_message(exc)))
        return
    threading.Thread(target=read, name="commit-process-reader", daemon=True).start()
    pending: list[Any] = []
    costs = CostEstimator()
    state = {"last": time.monotonic(), "fragile": 0}  # fragile: newest record number not journalled

    def commit(take: int, planned_at: float, warm_up: bool = False) -> bool:
        batch = pending[:take]
        try:
            with (db if needs_full_sync(batch, state["fragile"], warm_up=warm_up) else fast).write() as s:
                commit_records(s, session_id, batch, who=who, warm_up=warm_up)
        except Exception as exc:  # noqa: BLE001 - every failed try is said; the console reports once
            log.error("session %s: samples not saved: %s", session_id, exc)
            send(("error", plain_message(exc)))
            return False
        now = time.monotonic()
        if not warm_up:
            costs.observe(sum(r.samples for r in batch), sum(1 for r in batch if r.kind == "event"), now - planned_at)
        del pending[:len(batch)]
        state["last"] = now
        if clock is not None:
            _COMMIT_TIME.pack_into(clock, 0, now)
        send(("committed", batch[-1].n if batch else None, now))
        return True

    commit(0, time.monotonic(), warm_up=True)  # compiles the statements, and says "ready"
    urgent = closing = gone = False
    retry_at = 0.0
    due: float | None = None
    while True:
        while True:
            try:
                message = inbox.get_nowait()
            except queue.Empty:
                break
            kind = message[0]
            if kind == "records":
                pending.extend(message[1])
                if not message[2] and message[1]:
                    state["fragile"] = max(state["fragile"], message[1][-1].n)
            elif kind == "flush":
                urgent = True
            elif kind == "close":
                closing = True
            elif kind == "gone":
                gone = True
        if (closing or gone) and not pending:
            if closing:
                send(("closed",))
            return
        now = time.monotonic()
        if due is not None:
            costs.observe_wake(now - due)
            due = None
        plan = plan_commit(planned_records(pending), now - state["last"], costs.cost(), interval_s=interval,
                           urgent=urgent or closing or gone)
        wait = max(plan.wait_s, retry_at - now)
        if wait > 0:
            step = min(wait, JOURNAL_INTERVAL_S)
            if not wake.wait(step):
                due = now + step
            wake.clear()
            continue
        if commit(plan.take, now):
            if not pending:
                urgent = False
        elif gone:
            return  # nobody to retry for: the console's journal has it, replayed at the next start
        else:
            retry_at = time.monotonic() + interval


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the console's to handle, and it closes us
    logging.basicConfig(level=logging.WARNING, format="commit process: %(levelname)s %(message)s")
    conn = Connection(int(argv[1]))
    clock = mmap.mmap(int(argv[2]), _COMMIT_TIME.size) if len(argv) > 2 else None
    try:
        _serve(conn, clock)
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
