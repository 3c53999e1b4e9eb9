"""The plot history: ordering, growth, impedance, and a reader racing a writer."""

import threading

import numpy as np
from hypothesis import given, strategies as st

from ionto_console.control.envelope import BASE
from ionto_console.control.telemetry_buffer import FEED_BATCH, TelemetryBuffer


@given(st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 90)), max_size=300), st.integers(1, 16))
def test_history_keeps_every_sample_in_order_across_growth(samples, capacity):
    buf = TelemetryBuffer(initial_capacity=capacity)
    for i, (current, voltage) in enumerate(samples):
        buf.append(float(i), current, voltage, 1.0)
    view = buf.view()
    assert len(view) == len(samples)
    np.testing.assert_array_equal(view.t, np.arange(len(samples), dtype=float))
    np.testing.assert_allclose(view.current_ma, [c for c, _ in samples], rtol=1e-6, atol=1e-6)


def test_impedance_is_volts_over_milliamps_and_blank_when_not_measurable():
    buf = TelemetryBuffer()
    buf.append(0.0, 2.0, 12.4, 2.0, output_on=True)
    buf.append(0.001, 0.0, 90.0, 2.0, output_on=True)  # no current: open circuit, not 0 ohm
    buf.append(0.002, 0.02, 0.001, 0.0, output_on=False)  # offset noise with output off
    view = buf.view()
    assert view.impedance_kohm[0] == np.float32(6.2)
    assert np.isnan(view.impedance_kohm[1]) and np.isnan(view.impedance_kohm[2])


def test_clear_starts_a_new_history():
    buf = TelemetryBuffer()
    buf.append(0.0, 1.0, 1.0, 1.0)
    buf.clear()
    assert len(buf.view()) == 0


def test_views_taken_while_writing_are_consistent():
    buf = TelemetryBuffer(initial_capacity=4)
    done = threading.Event()

    def writer():
        for i in range(50_000):
            buf.append(float(i), float(i), 1.0, 0.0)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        view = buf.view()
        n = len(view)
        # every published slot is filled: time equals current equals its index
        if n:
            assert view.t[n - 1] == n - 1
            assert not np.isnan(view.t).any()
    thread.join()
    assert len(buf) == 50_000


@given(
    st.lists(st.tuples(st.floats(-30, 30), st.floats(0, 90), st.booleans()), max_size=200),
    st.integers(1, 16),
    st.integers(0, 200),
)
def test_extend_is_the_same_as_appending_one_by_one(samples, capacity, split):
    one_by_one, in_blocks = TelemetryBuffer(initial_capacity=capacity), TelemetryBuffer(initial_capacity=capacity)
    for i, (current, voltage, on) in enumerate(samples):
        one_by_one.append(i / 1000, current, voltage, 1.0, output_on=on)
    t = np.arange(len(samples)) / 1000
    columns = [np.array([s[k] for s in samples], dtype=float if k < 2 else bool) for k in range(3)]
    split = min(split, len(samples))
    for part in (slice(0, split), slice(split, None)):
        in_blocks.extend(t[part], columns[0][part], columns[1][part], np.ones(len(t[part])), output_on=columns[2][part])
    a, b = one_by_one.view(), in_blocks.view()
    for name in ("t", "current_ma", "voltage_v", "target_ma", "impedance_kohm"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_generation_tells_histories_apart():
    first, second = TelemetryBuffer(), TelemetryBuffer()
    first.append(0.0, 1.0, 1.0, 1.0)
    second.append(0.0, 1.0, 1.0, 1.0)
    before = first.view().generation
    assert before != second.view().generation
    first.append(0.001, 1.0, 1.0, 1.0)
    assert first.view().generation == before  # growing is the same history
    first.clear()
    assert first.view().generation != before


def test_a_bounded_history_keeps_its_newest_samples_and_memory_stays_flat():
    buffer = TelemetryBuffer(initial_capacity=64, max_samples=1000)
    first = buffer.view()
    early = None
    for i in range(5_000):
        buffer.append(float(i), 1.0, 5.0, 1.0)
        if i == 700:
            early = buffer.view()
    view = buffer.view()
    assert 500 <= len(view) <= 1000 and view.t[-1] == 4_999.0
    assert (np.diff(view.t) == 1.0).all()  # contiguous, newest at the end
    assert view.generation == first.generation  # the same history: indices are absolute
    assert view.offset + len(view) == 5_000 and view.t[0] == float(view.offset)
    assert view.envelope.covered >= 5_000 - FEED_BATCH - BASE  # the envelope keeps what the raw arrays dropped
    assert early.t[-1] == 700.0 and not np.isnan(early.t).any()  # an old view stays valid
    buffer.extend(np.arange(5_000, 8_000, dtype=float), np.ones(3_000), np.ones(3_000), np.ones(3_000))
    view = buffer.view()
    assert len(view) <= 1000 and view.t[-1] == 7_999.0 and (np.diff(view.t) == 1.0).all()
    assert view.total == 8_000 and view.envelope.samples_fed == 8_000  # a block is fed whole
    assert view.envelope.levels[0].t[0] == 0.0  # the day's first bucket is still there


def test_the_whole_day_stays_in_the_envelope_at_bounded_raw_memory():
    """An all-day board monitor: raw samples bounded, every sample in the envelope, in order."""
    buffer = TelemetryBuffer(initial_capacity=1024, max_samples=4096)
    rng = np.random.default_rng(5)
    current = rng.normal(1.0, 0.1, 50_000)
    current[12_345] = 9.0  # one spike, long since dropped from the raw arrays
    for i in range(20_000):
        buffer.append(float(i), float(current[i]), 5.0, 1.0)
    buffer.extend(np.arange(20_000, 50_000, dtype=float), current[20_000:], np.full(30_000, 5.0), np.ones(30_000))
    view = buffer.view()
    assert len(view) <= 4096 and view.total == 50_000
    level0 = view.envelope.levels[0]
    assert level0.count == 50_000 // BASE
    np.testing.assert_array_equal(level0.t[: level0.count], np.arange(0, level0.count * BASE, BASE, dtype=float))
    np.testing.assert_array_equal(level0.maxs["current_ma"][: level0.count],
                                  current[: level0.count * BASE].astype(np.float32).reshape(-1, BASE).max(axis=1))
    assert max(level.maxs["current_ma"][: level.count].max() for level in view.envelope.levels) == np.float32(9.0)


def test_an_unbounded_history_keeps_everything():
    buffer = TelemetryBuffer(initial_capacity=16)
    buffer.extend(np.arange(10_000, dtype=float), np.ones(10_000), np.ones(10_000), np.ones(10_000))
    assert len(buffer) == 10_000 and buffer.view().t[0] == 0.0
