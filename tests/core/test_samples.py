import dataclasses

import pytest

from ionto_console.core.samples import BoardFault, Sample


def test_impedance_is_volts_over_milliamps_in_kohm():
    s = Sample(t=0.0, current_ma=2.0, voltage_v=12.4, target_ma=2.0, output_on=True)
    assert s.impedance_kohm == pytest.approx(6.2)


def test_impedance_unknown_without_current():
    assert Sample(t=0.0, current_ma=0.0, voltage_v=90.0, target_ma=2.0, output_on=True).impedance_kohm is None
    assert Sample(t=0.0, current_ma=0.01, voltage_v=1.0, target_ma=0.0, output_on=True).impedance_kohm is None


def test_sample_is_frozen_and_slotted():
    s = Sample(t=0.0, current_ma=1.0, voltage_v=5.0, target_ma=1.0, output_on=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.current_ma = 2.0  # type: ignore[misc]
    assert not hasattr(s, "__dict__")


def test_fault_codes_follow_the_icd():
    assert [f.value for f in BoardFault] == [0, 1, 2, 3, 4, 5, 6]
    assert BoardFault.describe(3) == "open circuit"
    assert "unknown" in BoardFault.describe(42)
