"""Impedance: one rule (|V/I| in kΩ, unknown with the output off or too little current)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.samples import (IMPEDANCE_MIN_CURRENT_MA, Sample, impedance_kohm, impedance_kohm_array)


def test_v_over_i_in_kohm():
    assert impedance_kohm(2.0, 12.0, True) == 6.0
    assert impedance_kohm(-2.0, 12.0, True) == 6.0


def test_unknown_with_the_output_off_even_with_a_current_reading():
    """Before: ``Sample.impedance_kohm`` had no output-on gate, so the board's zero offset with the
    output off was reported (and recorded) as a load impedance."""
    assert impedance_kohm(0.2, 1.0, False) is None
    assert Sample(t=0.0, current_ma=0.2, voltage_v=1.0, target_ma=0.0, output_on=False).impedance_kohm is None


def test_unknown_below_the_minimum_current():
    assert impedance_kohm(IMPEDANCE_MIN_CURRENT_MA * 0.99, 5.0, True) is None
    assert impedance_kohm(IMPEDANCE_MIN_CURRENT_MA, 5.0, True) is not None


@given(st.lists(st.tuples(st.floats(-25, 25, allow_nan=False), st.floats(-90, 90, allow_nan=False), st.booleans()),
                min_size=1, max_size=40))
def test_the_array_form_is_the_scalar_rule(rows):
    current, voltage, on = (np.array(col) for col in zip(*rows))
    got = impedance_kohm_array(current, voltage, on)
    for k, (i, v, o) in enumerate(rows):
        one = impedance_kohm(i, v, o)
        assert (math.isnan(got[k]) if one is None else got[k] == one)
