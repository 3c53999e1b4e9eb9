"""When the sample writer commits, and how much one transaction takes: a pure, deadline-driven policy.

WHY a policy of its own: the promise (DESIGN §4) is a database commit at least
every 250 ms, whatever the sample rate. Flat out, what made gaps long was not
the rows but the time a commit takes on a busy machine: every statement gives
the GIL away and waits up to a switch interval (or more) to get it back, and
a WAL fsync can take 100-200 ms on a shared disk (measured with
``benchmarks/storage.py``). A fixed interval plus a fixed row cap cannot see
that. This policy takes the *expected* cost of a commit (learned from the
writer's own recent commits, ``CostEstimator``) and

- starts the next commit when the deadline approaches: at the latest when
  ``since last commit + expected cost of what is pending`` reaches the
  deadline minus a margin, and never later than the regular interval;
- bounds the rows of one transaction by time: the longest prefix of the
  pending records whose expected cost still ends the commit before the
  deadline; the rest is carried over to the next commit, right after;
- never drops, splits or reorders: it only says how many of the oldest
  pending records the next transaction takes (at least one, so it drains).

Pure: no clock, no threads, no database; the writer passes the times in.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import NamedTuple, Sequence

#: The promise: a commit at least this long after the previous one (DESIGN §4).
COMMIT_DEADLINE_S = 0.25
#: What the plan keeps free before the deadline, for what the estimate misses (a late wake-up).
COMMIT_MARGIN_S = 0.03
#: A wait shorter than this is no wait (a timer cannot sleep that precisely; starting early is safe).
MIN_WAIT_S = 0.001
#: Most events one transaction commits (each is an audit append).
MAX_TXN_EVENTS = 200
#: Most samples one transaction commits even when the estimate says more would fit (a bound on
#: one statement's size and on a wrong estimate): 5 s at 1 kHz, ~110 KB. Not more: flat out, 20,000
#: per transaction made the median commit 16 ms instead of 2 and the gaps' p99 twice as long.
MAX_TXN_SAMPLES = 5_000


class PendingRecord(NamedTuple):
    """What the policy needs to know of one pending journal record (a tuple: the commit thread
    builds these on every plan, and under a busy GIL its own Python time counts too)."""

    samples: int
    event: bool = False


@dataclass(frozen=True)
class CommitCost:
    """Expected seconds of one commit: a fixed part (BEGIN, the session row, heartbeat, COMMIT and
    its fsync, the GIL hand-overs between them) plus a part per sample and per event."""

    fixed_s: float
    per_sample_s: float
    per_event_s: float

    def of(self, samples: int, events: int) -> float:
        return self.fixed_s + samples * self.per_sample_s + events * self.per_event_s


@dataclass(frozen=True)
class CommitPlan:
    """Wait ``wait_s`` (0: start now), then commit the ``take`` oldest pending records (0: heartbeat)."""

    wait_s: float
    take: int


def plan_commit(pending: Sequence[PendingRecord], since_commit_s: float, cost: CommitCost, *,
                interval_s: float, deadline_s: float = COMMIT_DEADLINE_S, margin_s: float = COMMIT_MARGIN_S,
                urgent: bool = False, max_events: int = MAX_TXN_EVENTS,
                max_samples: int = MAX_TXN_SAMPLES) -> CommitPlan:
    """The next commit: when to start it and how many of the oldest ``pending`` records it takes.

    ``since_commit_s``: time since the previous commit ended. ``interval_s``: the regular cadence
    (a commit starts no later than this after the previous one, so a crash loses little).
    ``urgent``: start now (a flush is waiting, or the writer is closing). A backlog (more pending
    than one commit takes) also starts now: the rest is carried over to the commit right after.

    By construction, when the estimate holds (the commit costs ``cost.of`` its rows) and the
    deadline can still be met (``since + cost of the oldest record <= deadline - margin``), the
    commit ends by ``deadline - margin``. When it cannot (already late), the plan starts now with
    what costs no more than the fixed part, and the lateness is as small as it can be."""
    end_by = deadline_s - margin_s
    take = _fits(pending, end_by - since_commit_s, cost, max_events, max_samples)
    if not urgent and take == len(pending):
        # Everything pending goes in this commit: wait until the latest start at which it still
        # ends by the deadline, and never past the regular cadence (more rows per commit, fewer fsyncs).
        samples = sum(p.samples for p in pending[:take])
        events = sum(1 for p in pending[:take] if p.event)
        start_at = min(interval_s, end_by - cost.of(samples, events))
        if start_at - since_commit_s > MIN_WAIT_S:
            return CommitPlan(start_at - since_commit_s, take)
    return CommitPlan(0.0, take)


def _fits(pending: Sequence[PendingRecord], budget_s: float, cost: CommitCost, max_events: int,
          max_samples: int) -> int:
    """The longest prefix whose expected commit cost fits ``budget_s`` (at least one record; when
    nothing fits, records costing together no more than the fixed part, so a late writer drains)."""
    if not pending:
        return 0
    rows_budget = budget_s - cost.fixed_s
    if cost.per_sample_s * pending[0].samples + cost.per_event_s * pending[0].event > rows_budget:
        rows_budget = cost.fixed_s  # late already: keep each commit short, but keep draining
    take = samples = events = 0
    spent = 0.0
    for record in pending:
        extra = record.samples * cost.per_sample_s + (cost.per_event_s if record.event else 0.0)
        if take and (spent + extra > rows_budget or samples + record.samples > max_samples
                     or events + record.event > max_events):
            break
        take += 1
        spent += extra
        samples += record.samples
        events += record.event
    return take


class CostEstimator:
    """The expected cost of the next commit, from the writer's recent commits and wake-ups.

    The part per sample and per event is a fixed estimate (measured flat out: encoding and
    inserting 1,000 samples costs about a millisecond, an event with its audit append a few
    round trips); what varies on a busy machine is the fixed part (GIL hand-overs, the fsync), so
    that is learned: the largest residual of the last ``window`` commits, each measured from its
    planned start to the end of the COMMIT, plus the largest lateness of the last ``window``
    timed wake-ups of the commit thread (a thread starved of the GIL or the CPU wakes late, and a
    plan that waits must allow for it: measured flat out, up to ~240 ms). Largest, not mean: the
    deadline is about the slow ones."""

    def __init__(self, *, initial_fixed_s: float = 0.05, per_sample_s: float = 1e-6, per_event_s: float = 0.002,
                 window: int = 32) -> None:
        self._per_sample = per_sample_s
        self._per_event = per_event_s
        self._recent: deque[float] = deque([initial_fixed_s], maxlen=window)
        self._late: deque[float] = deque([0.0], maxlen=window)

    def observe(self, samples: int, events: int, seconds: float) -> None:
        """A commit of ``samples`` and ``events`` took ``seconds`` from its planned start to its end."""
        residual = seconds - samples * self._per_sample - events * self._per_event
        self._recent.append(max(0.0, residual))

    def observe_wake(self, late_s: float) -> None:
        """A timed wait of the commit thread ended ``late_s`` after it was due."""
        self._late.append(max(0.0, late_s))

    def cost(self) -> CommitCost:
        return CommitCost(max(self._recent) + max(self._late), self._per_sample, self._per_event)
