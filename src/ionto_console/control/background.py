"""One worker thread for the screens' slow jobs, and the hand-back of their results.

Qt-free. WHY: the GUI thread must never wait on a disk, a database or a
password hash (DESIGN §1: a click on Stop must reach the wire even while the
screen is busy, and the plots redraw at 30 Hz). A screen submits a job and a
callback; the job runs on this worker's thread; its ``Outcome`` waits in a
thread-safe queue until the screen's thread calls ``drain()`` (the ui side
drains it from a QTimer, see ``ui/background_pump.py``), so every callback
runs on the thread that owns the widgets, never on the worker.

WHY a single thread (not a pool): the jobs of one screen then run in the
order they were asked for (a search, then the session clicked in its
results), and a SQLite connection is never used by two of them at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a job returned, or why it failed in one plain sentence (``error`` non-empty)."""

    value: T | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


class Worker:
    """A single background thread; results come back through ``drain()`` on the caller's thread.

    ``describe_error`` turns an exception a job raised into the plain sentence
    the screen shows (the last resort: each service maps its own errors first).
    """

    def __init__(self, name: str = "ui-worker",
                 describe_error: Callable[[BaseException], str] | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._done: queue.SimpleQueue[tuple[Callable[[Outcome], None], Outcome]] = queue.SimpleQueue()
        self._describe = describe_error or (lambda exc: f"unexpected error ({type(exc).__name__}: {exc})")
        self._lock = threading.Lock()
        self._pending = 0
        self._closed = False
        #: Called on the submitting thread after each submit (the ui pump starts draining then).
        self.on_submit: Callable[[], None] | None = None

    @property
    def pending(self) -> int:
        """Jobs submitted whose callback has not run yet (the screen is busy while > 0)."""
        with self._lock:
            return self._pending

    def submit(self, job: Callable[[], T], on_done: Callable[[Outcome[T]], None],
               describe: Callable[[BaseException], str] | None = None) -> None:
        """Run ``job()`` on the worker thread; ``on_done(outcome)`` runs later inside ``drain()``.

        ``describe`` words this job's failures (default: the worker's ``describe_error``)."""
        with self._lock:
            if self._closed:
                on_done(Outcome(error="the console is shutting down."))
                return
            self._pending += 1
        self._pool.submit(self._run, job, on_done, describe or self._describe)
        hook = self.on_submit
        if hook is not None:
            hook()

    def _run(self, job: Callable[[], T], on_done: Callable[[Outcome[T]], None],
             describe: Callable[[BaseException], str]) -> None:
        try:
            outcome: Outcome[T] = Outcome(value=job())
        except Exception as exc:  # never lost: the screen shows it as one line
            try:
                outcome = Outcome(error=describe(exc))
            except Exception:
                log.exception("describing a failed job failed")
                outcome = Outcome(error=f"unexpected error ({type(exc).__name__})")
        self._done.put((on_done, outcome))

    def drain(self) -> int:
        """Run the callbacks of finished jobs on the calling thread; returns how many ran.

        A callback that raises is logged and does not stop the others (nothing
        reaches the Qt event loop)."""
        ran = 0
        while True:
            try:
                on_done, outcome = self._done.get_nowait()
            except queue.Empty:
                return ran
            with self._lock:
                self._pending -= 1
            ran += 1
            try:
                on_done(outcome)
            except Exception:
                log.exception("result callback failed")

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished running (not drained). For tests and shutdown."""
        marker = threading.Event()
        with self._lock:
            if self._closed:
                return True
        self._pool.submit(marker.set)
        return marker.wait(timeout)

    def shutdown(self) -> None:
        """Refuse later submissions (with a message); jobs already submitted still run (a record asked
        for is still written), their callbacks are simply never drained."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False)
