from hypothesis import given, strategies as st

from ionto_console.control.board_time import BoardTimeline


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 2_000_000), min_size=1, max_size=200))
def test_unwrapped_time_advances_by_exactly_each_step_across_wraps(start, steps):
    timeline = BoardTimeline()
    raw = start
    assert timeline.seconds(raw) == 0.0
    total = 0
    for step in steps:
        raw = (raw + step) % 2**32
        total += step
        assert abs(timeline.seconds(raw) - total / 1e6) < 1e-9


def test_reboot_continues_from_the_last_instant():
    timeline = BoardTimeline()
    timeline.seconds(5_000_000)
    assert timeline.seconds(6_000_000) == 1.0
    assert timeline.seconds(1_000, rebooted=True) == 1.0
    assert timeline.seconds(11_000) == 1.01
