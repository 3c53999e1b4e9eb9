"""Alarm model: IEC 60601-1-8 signal data, lifecycle rules, and properties over random operation sequences."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionto_console.core.alarms import (
    IEC_FUNDAMENTAL_HZ,
    IEC_HP_HALF_GAP_S,
    IEC_INTER_BURST_S,
    IEC_PULSE_DURATION_S,
    IEC_PULSE_SPACING_S,
    IEC_PULSES,
    IEC_VISUAL_DUTY,
    IEC_VISUAL_FLASH_HZ,
    NO_ALARM,
    SIGNALS,
    AlarmEvent,
    AlarmManager,
    AlarmPriority,
)

H, M, L = AlarmPriority.HIGH, AlarmPriority.MEDIUM, AlarmPriority.LOW
EPS = 1e-9


def events(manager: AlarmManager) -> list[tuple[AlarmEvent, str | None]]:
    return [(e.event, e.condition_id) for e in manager.log]


# --- signal data against the standard's ranges ------------------------------------------


@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_signals_are_within_iec_ranges(priority):
    sig = SIGNALS[priority]
    assert sig.priority is priority
    flash = IEC_VISUAL_FLASH_HZ[priority]
    if flash is None:
        assert sig.visual.flash_hz is None and sig.visual.duty_cycle == 1.0
    else:
        assert flash[0] <= sig.visual.flash_hz <= flash[1]
        assert IEC_VISUAL_DUTY[0] <= sig.visual.duty_cycle <= IEC_VISUAL_DUTY[1]
    audio = sig.audio
    assert len(audio.pulses) in IEC_PULSES[priority]
    assert IEC_FUNDAMENTAL_HZ[0] <= audio.fundamental_hz <= IEC_FUNDAMENTAL_HZ[1]
    lo, hi = IEC_PULSE_DURATION_S[priority]
    assert all(lo <= p.duration_s <= hi for p in audio.pulses)
    low_b, high_b = IEC_INTER_BURST_S[priority]
    if audio.inter_burst_interval_s is None:
        assert priority is L, "only LOW may play once"
    else:
        assert audio.inter_burst_interval_s >= low_b
        assert high_b is None or audio.inter_burst_interval_s <= high_b


def test_colours():
    assert SIGNALS[H].visual.colour == "red"
    assert SIGNALS[M].visual.colour == "yellow"
    assert SIGNALS[L].visual.colour in ("cyan", "yellow")


def test_high_priority_burst_is_3_plus_2_twice():
    audio = SIGNALS[H].audio
    td = audio.pulses[0].duration_s
    ts_lo, ts_hi = IEC_PULSE_SPACING_S[H]
    gaps = audio.spacings_s()
    assert len(gaps) == 9
    for i in (0, 1, 3, 5, 6, 8):
        assert ts_lo - EPS <= gaps[i] <= ts_hi + EPS
    for i in (2, 7):  # between the group of 3 and the group of 2: 2 ts + td
        assert gaps[i] == pytest.approx(2 * gaps[0] + td)
    assert IEC_HP_HALF_GAP_S[0] <= gaps[4] <= IEC_HP_HALF_GAP_S[1]


@pytest.mark.parametrize("priority", [M, L])
def test_medium_and_low_pulse_spacing(priority):
    lo, hi = IEC_PULSE_SPACING_S[priority]
    assert all(lo - EPS <= g <= hi + EPS for g in SIGNALS[priority].audio.spacings_s())


def test_signal_tables_are_immutable():
    with pytest.raises(TypeError):
        SIGNALS[H] = SIGNALS[L]  # type: ignore[index]
    with pytest.raises(AttributeError):
        SIGNALS[H].visual.flash_hz = 10.0  # type: ignore[misc]


def test_tone_on_follows_the_pattern_and_repeats():
    audio = SIGNALS[M].audio
    first = audio.pulses[0]
    assert audio.tone_on(first.start_s + first.duration_s / 2)
    assert not audio.tone_on(first.end_s + 0.01)
    assert not audio.tone_on(audio.burst_s + 0.5)
    assert audio.tone_on(audio.period_s + 0.01)
    assert not audio.tone_on(-0.01)
    once = SIGNALS[L].audio
    assert once.period_s is None and once.tone_on(0.01) and not once.tone_on(once.period_s or 100.0)


def test_flash_rate_and_duty():
    vis = SIGNALS[H].visual
    samples = [vis.lit_at(i / 1000) for i in range(0, 10_000)]  # 10 s at 1 ms
    on_fraction = sum(samples) / len(samples)
    assert on_fraction == pytest.approx(vis.duty_cycle, abs=0.01)
    rising = sum(1 for a, b in zip(samples, samples[1:]) if b and not a)
    assert rising == pytest.approx(10 * vis.flash_hz, abs=1)
    assert vis.lit_at(0.0), "a new alarm is visible at once"
    assert all(SIGNALS[L].visual.lit_at(t / 10) for t in range(100))


# --- lifecycle ------------------------------------------------------------------------------


def test_raise_shows_and_sounds():
    m = AlarmManager()
    a = m.raise_alarm("open_circuit", H, "Open circuit: electrode contact lost", 10.0, {"current_ma": 0.01})
    assert m.active(10.0) == (a,)
    assert m.highest(10.0) == a
    assert m.audio_should_sound(10.0) and m.audio_priority(10.0) is H
    state = m.visual_state(10.0)
    assert (state.colour, state.flashing, state.lit, state.alarm_id) == ("red", True, True, a.alarm_id)
    assert a.evidence["current_ma"] == 0.01
    assert events(m) == [(AlarmEvent.RAISED, "open_circuit")]
    assert m.log[0].detail["evidence"] == {"current_ma": 0.01}


def test_reraise_does_not_duplicate_or_log():
    m = AlarmManager()
    a = m.raise_alarm("c", M, "msg", 1.0)
    for t in range(2, 50):
        assert m.raise_alarm("c", M, "msg", float(t)) == a
    assert m.raise_alarm("c", L, "lower", 60.0) == a
    assert len(m.active(60.0)) == 1 and len(m.log) == 1


def test_escalation_keeps_one_alarm_and_sounds_again():
    m = AlarmManager()
    a = m.raise_alarm("z", M, "impedance falling", 1.0)
    m.acknowledge(a.alarm_id, 2.0)
    assert not m.audio_should_sound(2.0)
    b = m.raise_alarm("z", H, "impedance too low", 3.0)
    assert b.alarm_id == a.alarm_id and b.priority is H and not b.acknowledged
    assert m.audio_should_sound(3.0) and len(m.active(3.0)) == 1
    assert events(m)[-1] == (AlarmEvent.ESCALATED, "z")


def test_medium_clears_at_once():
    m = AlarmManager()
    m.raise_alarm("c", M, "msg", 1.0)
    cleared = m.clear("c", 2.0)
    assert cleared is not None and cleared.cleared_at == 2.0
    assert m.active(2.0) == () and not m.audio_should_sound(2.0)
    assert m.visual_state(2.0) == NO_ALARM
    assert events(m) == [(AlarmEvent.RAISED, "c"), (AlarmEvent.CLEARED, "c"), (AlarmEvent.ENDED, "c")]
    assert m.clear("c", 3.0) is None and len(m.log) == 3


def test_high_latches_until_acknowledged():
    m = AlarmManager()
    a = m.raise_alarm("oc", H, "Open circuit", 1.0)
    m.clear("oc", 2.0)
    (shown,) = m.active(5.0)
    assert shown.latched and shown.alarm_id == a.alarm_id
    assert m.audio_should_sound(5.0), "a latched HIGH alarm keeps sounding"
    m.acknowledge(a.alarm_id, 6.0)
    assert m.active(6.0) == () and not m.audio_should_sound(6.0)
    assert events(m)[-2:] == [(AlarmEvent.ACKNOWLEDGED, "oc"), (AlarmEvent.ENDED, "oc")]


def test_latched_alarm_reasserted_when_condition_returns():
    m = AlarmManager()
    a = m.raise_alarm("oc", H, "Open circuit", 1.0)
    m.clear("oc", 2.0)
    b = m.raise_alarm("oc", H, "Open circuit", 3.0)
    assert b.alarm_id == a.alarm_id and b.condition_present
    m.acknowledge(a.alarm_id, 4.0)
    assert m.active(4.0)[0].alarm_id == a.alarm_id, "condition present again: stays after acknowledgement"
    assert (AlarmEvent.REASSERTED, "oc") in events(m)


def test_acknowledged_alarm_is_silent_but_visible_while_condition_persists():
    m = AlarmManager()
    a = m.raise_alarm("comp", H, "At compliance", 1.0)
    m.acknowledge(a.alarm_id, 2.0)
    assert not m.audio_should_sound(3.0)
    assert m.active(3.0)[0].acknowledged
    assert m.visual_state(3.0).colour == "red"
    m.clear("comp", 4.0)
    assert m.active(4.0) == (), "acknowledged HIGH does not latch"


def test_acknowledge_unknown_or_twice():
    m = AlarmManager()
    assert m.acknowledge(99, 1.0) is None
    a = m.raise_alarm("c", M, "msg", 1.0)
    m.acknowledge(a.alarm_id, 2.0)
    again = m.acknowledge(a.alarm_id, 3.0)
    assert again is not None and again.acknowledged_at == 2.0
    assert [e.event for e in m.log].count(AlarmEvent.ACKNOWLEDGED) == 1


def test_acknowledge_all():
    m = AlarmManager()
    m.raise_alarm("a", L, "a", 1.0)
    m.raise_alarm("b", H, "b", 2.0)
    done = m.acknowledge_all(3.0)
    assert [a.condition_id for a in done] == ["b", "a"]
    assert not m.audio_should_sound(3.0) and len(m.active(3.0)) == 2


def test_pause_silences_but_never_hides_and_counts_down():
    m = AlarmManager()
    m.raise_alarm("c", H, "msg", 1.0)
    until = m.pause_audio(10.0)
    assert until == 130.0
    assert not m.audio_should_sound(10.0)
    assert m.audio_paused_remaining(10.0) == 120.0
    assert m.audio_paused_remaining(100.0) == pytest.approx(30.0)
    assert len(m.active(50.0)) == 1 and m.visual_state(50.0).colour == "red"
    assert m.audio_should_sound(130.0), "sound returns when the pause ends"
    assert m.audio_paused_remaining(130.0) == 0.0
    assert m.log[-1].event is AlarmEvent.AUDIO_PAUSED and m.log[-1].detail["until"] == 130.0


def test_new_alarm_breaks_through_pause_even_at_the_same_instant():
    m = AlarmManager()
    m.raise_alarm("old", H, "old", 1.0)
    m.pause_audio(5.0, duration_s=60.0)
    assert not m.audio_should_sound(5.0)
    new = m.raise_alarm("new", L, "new", 5.0)
    assert m.audio_should_sound(5.0)
    assert [a.alarm_id for a in m.sounding(5.0)] == [new.alarm_id]
    assert m.audio_priority(5.0) is L
    m.acknowledge(new.alarm_id, 6.0)
    assert not m.audio_should_sound(6.0)


def test_resume_audio_and_bad_pause():
    m = AlarmManager()
    m.raise_alarm("c", M, "msg", 1.0)
    assert not m.resume_audio(1.0)
    m.pause_audio(2.0, duration_s=30)
    assert m.resume_audio(3.0) and m.audio_should_sound(3.0)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            m.pause_audio(4.0, duration_s=bad)
    with pytest.raises(ValueError):
        m.raise_alarm("c2", H, "x", float("nan"))


def test_order_priority_then_time():
    m = AlarmManager()
    m.raise_alarm("l1", L, "l1", 1.0)
    m.raise_alarm("m1", M, "m1", 2.0)
    m.raise_alarm("h1", H, "h1", 3.0)
    m.raise_alarm("m2", M, "m2", 4.0)
    m.raise_alarm("h2", H, "h2", 5.0)
    assert [a.condition_id for a in m.active(6.0)] == ["h1", "h2", "m1", "m2", "l1"]
    assert m.highest(6.0).condition_id == "h1"
    assert m.visual_state(6.0).active_count == 5


def test_visual_flash_phase_starts_with_the_alarm():
    m = AlarmManager()
    a = m.raise_alarm("c", M, "msg", 100.0)
    vis = SIGNALS[M].visual
    for dt in (0.0, 0.5, 0.9, 1.0, 1.7):
        assert m.visual_state(100.0 + dt).lit == vis.lit_at(dt)
    assert m.visual_state(100.0).lit and not m.visual_state(100.0 + 0.9).lit
    assert a.signal_since == 100.0


def test_time_going_backwards_keeps_the_log_ordered():
    m = AlarmManager()
    m.raise_alarm("a", M, "a", 10.0)
    m.raise_alarm("b", M, "b", 9.999)
    assert [e.t for e in m.log] == [10.0, 10.0]


def test_log_records_are_json_and_drain_incrementally():
    m = AlarmManager()
    a = m.raise_alarm("c", H, "msg", 1.0, {"z_kohm": 0.1})
    m.pause_audio(2.0)
    m.acknowledge(a.alarm_id, 3.0)
    json.dumps([e.as_record() for e in m.log])
    json.dumps(a.as_record())
    assert [e.seq for e in m.log_since(1)] == [1, 2]
    assert m.log_since(3) == ()


# --- properties -----------------------------------------------------------------------------

CONDITIONS = ["open_circuit", "compliance", "impedance", "lost_link"]
op_strategy = st.one_of(
    st.tuples(st.just("raise"), st.sampled_from(CONDITIONS), st.sampled_from(list(AlarmPriority))),
    st.tuples(st.just("clear"), st.sampled_from(CONDITIONS)),
    st.tuples(st.just("ack"), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("ack_all")),
    st.tuples(st.just("pause"), st.floats(min_value=0.5, max_value=200.0)),
    st.tuples(st.just("resume")),
)
steps = st.lists(st.tuples(op_strategy, st.floats(min_value=0.0, max_value=30.0)), max_size=40)


def apply(m: AlarmManager, op: tuple, now: float, *, pauses: bool = True):
    kind = op[0]
    if kind == "raise":
        return m.raise_alarm(op[1], op[2], f"{op[1]} {op[2].value}", now)
    if kind == "clear":
        return m.clear(op[1], now)
    if kind == "ack":
        shown = m.active(now)
        return m.acknowledge(shown[op[1] % len(shown)].alarm_id, now) if shown else None
    if kind == "ack_all":
        return m.acknowledge_all(now)
    if pauses and kind == "pause":
        return m.pause_audio(now, op[1])
    if pauses and kind == "resume":
        return m.resume_audio(now)
    return None


@settings(max_examples=150, deadline=None)
@given(steps)
def test_properties_over_operation_sequences(seq):
    m = AlarmManager()
    twin = AlarmManager()  # same operations without any audio pause
    now = 0.0
    previous_log: tuple = ()
    for op, dt in seq:
        now += dt
        before = len(m.log)
        result = apply(m, op, now)
        apply(twin, op, now, pauses=False)
        log = m.log

        # The log is append-only and ordered.
        assert log[:len(previous_log)] == previous_log
        assert [e.seq for e in log] == list(range(len(log)))
        assert all(a.t <= b.t for a, b in zip(log, log[1:]))
        previous_log = log

        # An audio pause never hides a visible alarm: the twin without pauses shows the same.
        for probe in (now, now + 0.3, now + 1.1):
            assert m.active(probe) == twin.active(probe)
            assert m.visual_state(probe) == twin.visual_state(probe)

        active = m.active(now)
        # Highest priority is always first, then time.
        if active:
            assert m.highest(now) == active[0]
            assert active[0].priority.rank == max(a.priority.rank for a in active)
            keys = [(-a.priority.rank, a.raised_at, a.alarm_id) for a in active]
            assert keys == sorted(keys)
            assert m.visual_state(now).alarm_id == active[0].alarm_id
        else:
            assert m.visual_state(now) == NO_ALARM
        # One alarm per condition.
        assert len({a.condition_id for a in active}) == len(active)

        # A new (or escalated) alarm sounds, even during a pause.
        new = [e for e in log[before:] if e.event in (AlarmEvent.RAISED, AlarmEvent.ESCALATED)]
        if new:
            assert m.audio_should_sound(now)
            assert result.alarm_id in {a.alarm_id for a in m.sounding(now)}
        # Acknowledged alarms never sound; unacknowledged ones sound unless paused.
        assert all(not a.acknowledged for a in m.sounding(now))
        if m.audio_paused_remaining(now) == 0.0:
            assert m.audio_should_sound(now) == any(not a.acknowledged for a in active)
        # Latched alarms are HIGH and unacknowledged.
        assert all(a.priority is H and not a.acknowledged for a in active if a.latched)


def test_a_reasserted_alarm_carries_the_new_text_and_breaks_through_a_pause():
    m = AlarmManager()
    m.raise_alarm("oc", H, "Open circuit at 10:00:00", 1.0)
    m.clear("oc", 1.5)  # an event: latched until acknowledged
    m.pause_audio(2.0)
    assert not m.audio_should_sound(3.0)
    b = m.raise_alarm("oc", H, "Open circuit at 10:05:00", 4.0)  # the same fault again, still unacknowledged
    assert b.message == "Open circuit at 10:05:00" and b.signal_since == 4.0
    assert m.audio_should_sound(4.5), "a new occurrence breaks through the audio pause"
