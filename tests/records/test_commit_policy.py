"""The writer's commit policy as a pure function: deadline kept by policy, nothing dropped or reordered,
every backlog drained. Simulated time: no clock, no database, no timing asserts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.records.commit_policy import (
    MAX_TXN_EVENTS,
    MAX_TXN_SAMPLES,
    CommitCost,
    CostEstimator,
    PendingRecord,
    plan_commit,
)

DEADLINE = 0.25
MARGIN = 0.03
INTERVAL = 0.1

records = st.lists(st.builds(PendingRecord, samples=st.integers(0, 2500), event=st.booleans()), max_size=80)
costs = st.builds(CommitCost, fixed_s=st.floats(0.0, 0.3), per_sample_s=st.floats(0.0, 2e-5),
                  per_event_s=st.floats(0.0, 0.01))
since = st.floats(0.0, 1.0)


def _cost_of(cost: CommitCost, batch: list[PendingRecord]) -> float:
    return cost.of(sum(r.samples for r in batch), sum(1 for r in batch if r.event))


@given(pending=records, since_s=since, cost=costs, urgent=st.booleans())
def test_when_the_deadline_can_be_met_the_plan_meets_it(pending, since_s, cost, urgent):
    """If the estimate holds and the oldest record can still be committed in time, the commit ends
    by the deadline minus the margin: the policy never plans a late commit it could avoid."""
    plan = plan_commit(pending, since_s, cost, interval_s=INTERVAL, deadline_s=DEADLINE, margin_s=MARGIN,
                       urgent=urgent)
    assert plan.wait_s >= 0.0
    feasible = since_s + _cost_of(cost, pending[:1]) <= DEADLINE - MARGIN
    if feasible:
        assert since_s + plan.wait_s + _cost_of(cost, pending[:plan.take]) <= DEADLINE - MARGIN + 1e-9
    else:  # late already: start now, no later
        assert plan.wait_s == 0.0


@given(pending=records, since_s=since, cost=costs, urgent=st.booleans())
def test_a_plan_takes_an_in_order_prefix_within_the_caps_and_never_stalls(pending, since_s, cost, urgent):
    plan = plan_commit(pending, since_s, cost, interval_s=INTERVAL, deadline_s=DEADLINE, margin_s=MARGIN,
                       urgent=urgent)
    assert 0 <= plan.take <= len(pending)
    if pending:
        assert plan.take >= 1  # every commit makes progress: it drains
        taken = pending[:plan.take]
        if plan.take > 1:
            assert sum(r.samples for r in taken) <= MAX_TXN_SAMPLES
            assert sum(r.event for r in taken) <= MAX_TXN_EVENTS
    # never later than the regular cadence; urgent or a backlog: at once
    assert since_s + plan.wait_s <= max(since_s, INTERVAL) + 1e-9
    if urgent or plan.take < len(pending):
        assert plan.wait_s == 0.0


@settings(max_examples=200)
@given(batches=st.lists(records, min_size=1, max_size=6), cost=costs,
       slowdown=st.lists(st.floats(0.5, 3.0), min_size=1, max_size=20))
def test_a_simulated_writer_commits_everything_once_in_order_and_on_time_when_it_can(batches, cost, slowdown):
    """Records arrive in batches (one per 50 ms journal interval); the writer plans, waits, commits
    (each commit costing the estimate times a factor, as a busy machine does), and learns its cost.
    Every record is committed exactly once, in arrival order; the writer drains; and every gap
    whose commit cost no more than the estimate and could be met is within the deadline."""
    arrivals = [[(i, j, r) for j, r in enumerate(batch)] for i, batch in enumerate(batches)]
    pending: list[tuple[int, int, PendingRecord]] = []
    committed: list[tuple[int, int]] = []
    clock, last_commit, next_arrival = 0.0, 0.0, 0.0
    estimator = CostEstimator(initial_fixed_s=cost.fixed_s, per_sample_s=cost.per_sample_s,
                              per_event_s=cost.per_event_s)
    steps = 0
    while arrivals or pending:
        steps += 1
        assert steps < 10_000, "the writer does not drain"
        if arrivals and clock >= next_arrival:
            pending.extend(arrivals.pop(0))
            next_arrival = clock + 0.05
        estimate = estimator.cost()
        view = [r for _, _, r in pending]
        plan = plan_commit(view, clock - last_commit, estimate, interval_s=INTERVAL, deadline_s=DEADLINE,
                           margin_s=MARGIN, urgent=not arrivals)
        if plan.wait_s > 0:
            clock += min(plan.wait_s, 0.05)  # the writer re-plans at least every journal interval
            continue
        batch, pending = pending[:plan.take], pending[plan.take:]
        planned_cost = _cost_of(estimate, [r for _, _, r in batch])
        factor = slowdown[steps % len(slowdown)]
        actual = planned_cost * factor
        feasible = (clock - last_commit) + _cost_of(estimate, view[:1]) <= DEADLINE - MARGIN
        clock += actual
        if factor <= 1.0 and feasible:
            assert clock - last_commit <= DEADLINE - MARGIN + 1e-9
        estimator.observe(sum(r.samples for _, _, r in batch), sum(1 for _, _, r in batch if r.event), actual)
        last_commit = clock
        committed.extend((i, j) for i, j, _ in batch)
    expected = [(i, j) for i, batch in enumerate(batches) for j in range(len(batch))]
    assert committed == expected


@given(observed=st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5), st.floats(0.0, 1.0)), max_size=50))
def test_the_estimate_covers_the_slowest_recent_commit(observed):
    estimator = CostEstimator(window=8)
    for samples, events, seconds in observed:
        estimator.observe(samples, events, seconds)
    cost = estimator.cost()
    recent = observed[-8:]
    for samples, events, seconds in recent:
        assert cost.of(samples, events) >= seconds - 1e-9


@given(observed=st.lists(st.tuples(st.integers(0, 5000), st.floats(0.0, 0.5)), max_size=40),
       late=st.lists(st.floats(-0.01, 0.5), max_size=40))
def test_a_late_waking_writer_plans_its_commits_earlier(observed, late):
    """Wake-up lateness counts in the fixed cost, so a waiting plan starts early enough to absorb it."""
    estimator = CostEstimator(window=8)
    for samples, seconds in observed:
        estimator.observe(samples, 0, seconds)
    before = estimator.cost()
    for seconds in late:
        estimator.observe_wake(seconds)
    after = estimator.cost()
    assert after.fixed_s >= before.fixed_s + max([0.0, *late[-8:]]) - 1e-9
    pending = [PendingRecord(100)]
    plan = plan_commit(pending, 0.0, after, interval_s=INTERVAL, deadline_s=DEADLINE, margin_s=MARGIN)
    worst_late = max([0.0, *late[-8:]])
    if after.of(100, 0) <= DEADLINE - MARGIN:  # feasible: a wake-up as late as the worst one still ends in time
        assert plan.wait_s + worst_late + before.of(100, 0) <= DEADLINE - MARGIN + 1e-9
