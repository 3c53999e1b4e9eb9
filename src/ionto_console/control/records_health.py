"""Whether session records can be written now, checked off the caller's thread.

Qt-free. WHY: the treatment screen asks the desk's ``blockers()`` 30 times a
second to enable Start; the old check pinged the database from that call
every 5 s, so a slow or unreachable clinic server froze the GUI thread for up
to the driver's connect timeout. Here ``problem()`` only reads the last
verdict and, when it is older than the interval, asks a background thread to
ping again. The verdict a screen shows may be up to one interval (plus one
ping) old; ``begin()`` still creates the record before any current flows, so
a database that died meanwhile refuses the start there (never treat
unrecorded).
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..records import Database, RecordsError, ping

#: How often the records database is pinged while a screen asks whether a start is possible.
RECORDS_CHECK_S = 5.0


class RecordsHealth:
    """The last known records problem ("" = fine), refreshed in the background every ``interval_s``.

    ``db`` None: no records; ``problem()`` is then the fixed ``initial_problem``."""

    def __init__(self, db: Database | None, initial_problem: str = "", *,
                 clock: Callable[[], float] = time.monotonic, interval_s: float = RECORDS_CHECK_S,
                 check: Callable[[Database], None] = ping) -> None:
        self._db = db
        self._problem = initial_problem
        self._clock = clock
        self._interval = interval_s
        self._check = check
        self._lock = threading.Lock()
        self._checked_at = -math.inf
        self._in_flight = False
        #: Bumped by ``report``: a ping that started before a reported failure must not clear it.
        self._generation = 0
        self._pool: ThreadPoolExecutor | None = None

    def problem(self) -> str:
        """Why records cannot be written ("" if they can), as last seen; never waits on the database."""
        with self._lock:
            if self._db is None or self._in_flight or self._clock() - self._checked_at < self._interval:
                return self._problem
            self._checked_at = self._clock()
            self._in_flight = True
            generation = self._generation
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="records-check")
            problem = self._problem
        self._pool.submit(self._ping, self._db, generation)
        return problem

    def _ping(self, db: Database, generation: int) -> None:
        try:
            self._check(db)
            verdict = ""
        except RecordsError as exc:
            verdict = str(exc)
        except Exception as exc:  # a driver error the records layer did not wrap: still a refusal
            verdict = f"The records database reported an error: {exc}"
        with self._lock:
            self._in_flight = False
            if generation == self._generation:
                self._problem = verdict

    def report(self, reason: str) -> None:
        """A write failed (the session recorder said so): that is the problem until the next check after
        a full interval (a ping already on its way does not clear it)."""
        with self._lock:
            self._problem = reason
            self._generation += 1
            self._checked_at = self._clock()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for a ping on its way (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._in_flight:
                    return True
            time.sleep(0.005)
        return False

    def shutdown(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
