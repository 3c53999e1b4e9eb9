"""Fault drills: a clock jumps during a recorded treatment.

(a) The computer's wall clock is stepped by +1 h or -1 h (an NTP correction,
someone fixing the time). The treatment runs on the board's time stamps and
the monotonic clock, so it carries on untouched: elapsed time, remaining time
and dose go on as before. The record stays coherent: samples continuous and
in order, the session's duration is the time it really lasted (not an hour
more, not negative: billing counts it), its events stay in order between its
start and its end, and a "clock_changed" event says what happened.

The wall clock is moved by replacing ``utc_now`` in every console module that
reads it (the records layer and the session recorder take their wall time
only from there); ``time.monotonic`` and the board's clock are left alone,
as a real clock step leaves them.

(b) The board's own clock leaps (its u32 µs time stamp jumps ahead, or the
counter wraps early, which unwraps as a ~71 min leap) while the sample
counter says no sample is missing. The leap is never integrated as charge
that did not flow; the session ends with the output cut and a reason that
names the board's clock, on the screen and in the record.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

import numpy as np
import pytest

from ionto_console.core.interlocks import TripKind
from ionto_console.core.session import SessionState
from ionto_console.records import audit, billable_minutes, load_events, load_samples, report_data
from drill_bench import DEADLINE_S, Bench, assert_record_intact, assert_samples_kept
from support import wait_for

HOUR_S = 3600.0
#: The drills' treating current is ~1 mA: this much charge (mA·min) is a little under 0.5 s of it.
HALF_SECOND_AT_1MA = 1.0 * 0.5 / 60


class WallClock:
    """The computer's clock as the console reads it, with a step that can be applied at any moment."""

    def __init__(self) -> None:
        self.step = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return audit_utc_now() + self.step

    def jump(self, seconds: float) -> None:
        self.step += dt.timedelta(seconds=seconds)


audit_utc_now = audit.utc_now


@pytest.fixture
def wall_clock(monkeypatch) -> WallClock:
    clock = WallClock()
    patched = []
    for name, module in list(sys.modules.items()):
        if name.startswith("ionto_console") and getattr(module, "utc_now", None) is audit_utc_now:
            monkeypatch.setattr(module, "utc_now", clock)
            patched.append(name)
    assert "ionto_console.control.session_recorder" in patched, patched
    return clock


def events_of(bench: Bench, kind: str):
    return [event for event in load_events(bench.db, bench.session_id) if event.kind == kind]


@pytest.mark.parametrize("jump_s", [HOUR_S, -HOUR_S], ids=["plus_1h", "minus_1h"])
def test_wall_clock_step_does_not_touch_the_treatment_and_the_record_stays_coherent(bench, wall_clock, jump_s):
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    before, real_before = controller.snapshot(), time.monotonic()
    wall_clock.jump(jump_s)
    # The recorder notices the step and the record says so (committed within a writer interval).
    wait_for(lambda: events_of(bench, "clock_changed"), DEADLINE_S, "the clock change in the record")
    after, real_after = controller.snapshot(), time.monotonic()
    real_s = real_after - real_before
    # The treatment carried on as if nothing happened: no trip, time and dose moved by real time only.
    assert after.state is SessionState.TREATING and after.active_trip is None, after
    assert 0.0 < after.elapsed_s - before.elapsed_s <= real_s + 0.5, (before.elapsed_s, after.elapsed_s, real_s)
    assert 0.0 < after.dose_delivered_ma_min - before.dose_delivered_ma_min
    assert after.dose_delivered_ma_min - before.dose_delivered_ma_min <= after.current_ma * 1.05 * (real_s + 0.5) / 60
    # Remaining time is the remaining dose at the goal current (issue 14: not the ramping or
    # wobbling present current): no hour in it.
    assert before.remaining_s is not None and after.remaining_s is not None
    remaining_dose = after.dose_target_ma_min - after.dose_delivered_ma_min
    assert after.remaining_s == pytest.approx(remaining_dose / after.goal_ma * 60, rel=1e-3), after
    assert abs(before.remaining_s - after.remaining_s) < 60, (before.remaining_s, after.remaining_s)
    assert bench.board_output()[0] and after.current_ma > 0.9
    controller.end_early()
    bench.wait_ended()
    bench.wait_output_off()
    summary = bench.wait_record_closed()

    # The record: one clock_changed event with the size of the step, in the operator's words.
    (changed,) = events_of(bench, "clock_changed")
    assert changed.evidence["change_s"] == pytest.approx(jump_s, abs=1.0), changed
    assert f"{jump_s:+.0f} s" in changed.message and "clock" in changed.message.lower(), changed.message
    # The samples are continuous and in order across the step.
    series = load_samples(bench.db, bench.session_id)
    assert_samples_kept(series)
    assert summary.sample_count == len(series)
    assert np.diff(series.t).max() < 0.1, "a hole in the stored samples"
    # Duration: how long the session really lasted (about its samples' span), not +/- an hour.
    duration = summary.duration_s
    assert duration is not None and abs(duration - float(series.t[-1])) < 1.0, (duration, float(series.t[-1]))
    assert billable_minutes(duration) == 0 and report_data(bench.db, bench.session_id)["billing"]["units"] == 0
    # Events in order on both time axes, all between the session's start and its end.
    events = load_events(bench.db, bench.session_id)
    ats = [event.at for event in events]
    assert ats == sorted(ats) and summary.started_at <= ats[0] and ats[-1] <= summary.ended_at, ats
    ts = [event.t for event in events if event.t is not None]
    assert ts == sorted(ts), ts
    assert_record_intact(bench.db)


def leap_board_clock(bench: Bench, seconds: float) -> None:
    """The board's time stamps leap ``seconds`` ahead; its sample counter carries on without a gap."""
    with bench.server.lock:
        bench.server.board.boot_s -= seconds


def wrap_board_clock_early(bench: Bench) -> None:
    """The board's u32 µs clock restarts from 0 now (not at 2**32), without a reboot."""
    with bench.server.lock:
        board = bench.server.board
        board.boot_s += board.board_time_us() / 1e6


def test_board_clock_going_back_without_a_restart_is_a_link_fault_that_adds_no_charge(bench):
    """Field report F3: the board's u32 µs clock restarting early (going back) with the sample
    counter running on used to be unwrapped as a +71.6 min leap. The ICD says board time only
    increases except across a restart: the link ends the session as a fault, commands the
    output off itself, and never delivers the contradicting sample."""
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    before, real_before = controller.snapshot(), time.monotonic()
    wrap_board_clock_early(bench)
    bench.wait_ended()
    real_s = time.monotonic() - real_before
    bench.wait_output_off()
    snap = controller.snapshot()
    assert snap.state is SessionState.INTERRUPTED, snap
    added = snap.dose_delivered_ma_min - before.dose_delivered_ma_min
    assert 0.0 <= added <= before.current_ma * 1.05 * (real_s + 0.25) / 60, (added, real_s)
    assert snap.elapsed_s <= before.elapsed_s + real_s + 0.5, (before.elapsed_s, snap.elapsed_s, real_s)
    assert "board time went back" in bench.alarm_message(), bench.alarm_message()
    assert bench.station.link.stats.link_faults >= 1
    summary = bench.wait_record_closed()
    assert summary.state == "interrupted" and "board time went back" in summary.reason, summary
    assert summary.duration_s is not None and summary.duration_s < 60, summary.duration_s
    assert_samples_kept(load_samples(bench.db, bench.session_id))
    assert_record_intact(bench.db)


@pytest.mark.parametrize("fault", ["leap_5s"])
def test_board_clock_jump_adds_no_charge_and_trips_naming_the_board_clock(bench, fault):
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    before, real_before = controller.snapshot(), time.monotonic()
    leap_board_clock(bench, 5.0)
    bench.wait_ended()
    real_s = time.monotonic() - real_before
    bench.wait_output_off()
    snap = controller.snapshot()
    assert snap.state is SessionState.FAULTED, snap
    trip = snap.active_trip
    assert trip is not None and trip.kind is TripKind.BOARD_CLOCK, snap
    # The dose did not jump: at most real time plus one lost-telemetry window of charge was added
    # (a 5 s leap at 1 mA would add 0.083 mA·min, an early wrap ~71 mA·min).
    added = snap.dose_delivered_ma_min - before.dose_delivered_ma_min
    assert 0.0 <= added <= before.current_ma * 1.05 * (real_s + 0.25) / 60, (added, real_s)
    assert added < HALF_SECOND_AT_1MA + before.current_ma * real_s / 60
    # The elapsed time shown does not include the leap either.
    assert snap.elapsed_s <= before.elapsed_s + real_s + 0.5, (before.elapsed_s, snap.elapsed_s, real_s)
    # Telemetry: the controller saw the current fall to zero.
    wait_for(lambda: controller.history.view().current_ma[-1] < 0.05, DEADLINE_S, "zero current in telemetry")
    assert not bench.station.snapshot().live.output_on
    # The therapist is told why.
    for text in (trip.message, bench.alarm_message()):
        assert "board's clock" in text.lower() and "jumped" in text.lower(), text
    # The record.
    summary = bench.wait_record_closed()
    assert summary.state == "faulted" and summary.reason == trip.message, summary
    assert "trip:board_clock" in bench.event_kinds()
    # (the engine still integrates the last, falling samples after the trip)
    assert summary.dose_delivered_ma_min == pytest.approx(controller.snapshot().dose_delivered_ma_min, abs=1e-4)
    assert summary.dose_delivered_ma_min < before.dose_delivered_ma_min + HALF_SECOND_AT_1MA + real_s / 60
    series = load_samples(bench.db, bench.session_id)
    assert_samples_kept(series)
    assert summary.sample_count == len(series)
    assert summary.duration_s is not None and summary.duration_s < 60, summary.duration_s
    assert_record_intact(bench.db)
