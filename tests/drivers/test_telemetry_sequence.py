"""The ICD's counter/clock rules (``drivers.board.sequence.judge``): restart vs duplicate frame.

A restart (ICD section 3, "Reboot") is the counter and board time both starting again
from near 0; an exact repeat of the previous frame (a frame doubled on the line) is not,
and is dropped. The property plays a model board at any telemetry rate, with restarts,
lost samples and doubled frames anywhere, and checks every verdict against what the
board really did.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.drivers.board.sequence import RESTART_SLACK_US, U32, Kind, judge

RATES_HZ = (10, 100, 200, 1000)


def test_a_doubled_frame_in_the_boards_first_seconds_is_a_duplicate_not_a_restart():
    # 1000 Hz, 5 s after power-on: the old rule took "counter did not advance, looks fresh" for a restart
    assert judge((5_000, 6_000_000), 5_000, 6_000_000).kind is Kind.DUPLICATE
    assert judge((0, 1_000_000), 0, 1_000_000).kind is Kind.DUPLICATE


def test_a_doubled_frame_after_a_long_run_is_a_duplicate_not_a_link_fault():
    assert judge((10_000_000, 4_000_000_000), 10_000_000, 4_000_000_000).kind is Kind.DUPLICATE


def test_a_restart_is_counter_and_clock_back_near_zero():
    assert judge((1_001, 1_001_000), 0, 900_000).kind is Kind.RESTART
    assert judge((0, 1_000_000), 0, 800_000).kind is Kind.RESTART  # restarted again before its 2nd sample
    # the counter back but the clock far from a fresh start: no restart
    assert judge((1_001, 1_001_000_000), 3, 1_001_500_000).kind is Kind.FAULT
    # the counter advancing while the clock goes back (field report F3): no restart
    assert judge((5_004, 5_004_000), 5_005, 3_005_000).kind is Kind.FAULT
    # the counter stuck while the clock moves on: no restart, no duplicate
    assert judge((100, 100_000), 100, 101_000).kind is Kind.FAULT


@st.composite
def board_streams(draw):
    """(frames, truth): what a model board sent, (counter, board time µs, host arrival s), and what
    each frame really was. A doubled frame arrives within 0.5 ms of its original; a restarted board's
    frame stamped t µs arrives at least t µs (and its boot) after the reset."""
    period = 1_000_000 // draw(st.sampled_from(RATES_HZ))
    c = draw(st.integers(0, U32))
    t = draw(st.integers(0, U32))
    h = 0.0
    frames: list[tuple[int, int, float]] = [(c, t, h)]
    truth: list[tuple[Kind, int]] = [(Kind.NEXT, 0)]
    ops = draw(st.lists(st.one_of(
        st.just(("sample", 0)),
        st.tuples(st.just("lose"), st.integers(1, 50)),
        st.tuples(st.just("duplicate"), st.integers(0, 500)),
        st.tuples(st.just("restart"), st.integers(0, RESTART_SLACK_US)),
    ), min_size=1, max_size=60))
    for op, arg in ops:
        if op == "duplicate":
            frames.append((c, t, h + arg / 1e6))  # the original's arrival stays the reference
            truth.append((Kind.DUPLICATE, 0))
            continue
        if op == "restart":
            if (c == 0 and arg > t) or (-c & U32) <= 5_000_000:
                # on the wire indistinguishable from a stuck counter, or from a counter wrapping
                # past 2^32 (counter 0 then follows the last frame as the next sample)
                continue
            delay = draw(st.floats(0.0, 2.0))
            c, t, h = 0, arg, h + delay + arg / 1e6 + 0.002
            frames.append((c, t, h))
            truth.append((Kind.RESTART, 0))
            continue
        lost = arg if op == "lose" else 0
        c, t, h = (c + lost + 1) & U32, (t + (lost + 1) * period) & U32, h + (lost + 1) * period / 1e6
        frames.append((c, t, h))
        truth.append((Kind.NEXT, lost))
    return frames, truth


@settings(max_examples=300, deadline=None)
@given(board_streams())
def test_every_frame_of_a_model_board_is_judged_as_what_it_was(stream):
    frames, truth = stream
    last = None
    for (c, t, h), (kind, lost) in zip(frames, truth):
        verdict = judge(None if last is None else last[:2], c, t, gap_s=None if last is None else h - last[2])
        assert (verdict.kind, verdict.lost) == (kind, lost), (last, (c, t, h), verdict)
        if verdict.kind is not Kind.DUPLICATE:  # the link keeps the last frame it accepted, and when
            last = (c, t, h)


def test_a_board_restarting_right_after_its_first_sample_is_a_restart_not_a_duplicate():
    # the simulator (and a real board: its first sample comes at a fixed time after reset) sends
    # the very same first frame again; only the time it took to come tells the two apart
    assert judge((0, 10_000), 0, 10_000, gap_s=0.05).kind is Kind.RESTART
    assert judge((0, 10_000), 0, 10_000, gap_s=0.0002).kind is Kind.DUPLICATE
    assert judge((5_000, 6_000_000), 5_000, 6_000_000, gap_s=0.5).kind is Kind.DUPLICATE  # 6 s stamp, 0.5 s later


@settings(max_examples=500, deadline=None)
@given(st.integers(0, U32), st.integers(0, U32), st.integers(0, U32), st.integers(0, U32), st.booleans(),
       st.one_of(st.none(), st.floats(0.0, 100.0)))
def test_a_restart_always_has_counter_and_clock_near_zero_and_behind(last_c, last_t, c, t, resync, gap_s):
    verdict = judge((last_c, last_t), c, t, resync, gap_s)
    if (c, t) == (last_c, last_t) and (gap_s is None or gap_s * 1e6 < t + 1_000):
        assert verdict.kind is Kind.DUPLICATE  # a repeat that came sooner than a restart could
    if verdict.kind is Kind.RESTART:
        assert c <= 36_000 and t <= RESTART_SLACK_US + c * 100_000
        assert c <= last_c and (c < last_c or t < last_t or gap_s * 1e6 >= t + 1_000)
