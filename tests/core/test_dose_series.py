"""The dose of a whole series (recovered sessions) is the engine's integral, and the duty is one rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.dose import DoseIntegrator, integrate_dose, waveform_duty
from ionto_console.core.protocols import DCWaveform, PulsedWaveform

samples = st.lists(st.tuples(st.floats(0, 600, allow_nan=False), st.floats(-25, 25, allow_nan=False)),
                   min_size=0, max_size=60)


@given(samples, st.sampled_from([1.0, 0.5, 0.1]), st.sampled_from([None, 0.2, 5.0]))
def test_integrate_dose_is_the_engine_integral(series, duty, max_step):
    engine = DoseIntegrator(1.0, duty=duty, max_step_s=max_step)
    for t, i in series:
        engine.add(t, i)
    t, i = zip(*series) if series else ((), ())
    assert integrate_dose(t, i, duty, max_step) == engine.delivered_ma_min


@given(st.lists(st.tuples(st.floats(0, 600, allow_nan=False), st.floats(-25, 25, allow_nan=False),
                          st.sampled_from([True, False, None])), min_size=0, max_size=60),
       st.sampled_from([1.0, 0.5, 0.1]), st.sampled_from([None, 0.2, 5.0]))
def test_integrate_dose_counts_each_sample_as_the_board_reported_it(series, duty, max_step):
    """The engine counts a sample the board reported as DC (pulsed flag clear) at full amplitude; the
    integral of a recovered session must too, or a crash turns an overdose into a dose on target."""
    engine = DoseIntegrator(1.0, duty=duty, max_step_s=max_step)
    for t, i, pulsed in series:
        engine.add(t, i, pulsed)
    t, i, pulsed = zip(*series) if series else ((), (), ())
    assert integrate_dose(t, i, duty, max_step, pulsed=pulsed) == engine.delivered_ma_min


def test_a_known_series():
    # 60 s at 2 mA amplitude, half duty: 1 mA·min; a 100 s hole counts for 0.2 s
    t = [k / 10 for k in range(601)] + [160.0]
    i = [2.0] * 602
    assert integrate_dose(t, i, 0.5, 0.2) == pytest.approx(1.0 + 2.0 * 0.5 * 0.2 / 60)


@pytest.mark.parametrize("pct", [10, 33, 50, 90])
def test_the_duty_of_a_stored_waveform_is_the_protocols(pct):
    wave = PulsedWaveform(frequency_hz=1000, duty_pct=pct)
    assert wave.duty == waveform_duty(wave.model_dump(mode="json")) == pct / 100
    assert DCWaveform().duty == waveform_duty({"mode": "dc"}) == waveform_duty(None) == 1.0
