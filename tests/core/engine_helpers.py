"""Shared builders for the core tests: protocols from a dict of overrides, samples."""

from __future__ import annotations

from typing import Any

from ionto_console.core.protocols import Protocol
from ionto_console.core.samples import Sample

DEX_40: dict[str, Any] = {
    "id": "test-dex",
    "name": "Dexamethasone 4 mg/mL, 40 mA·min",
    "agent": {"kind": "drug", "solution": "dexamethasone sodium phosphate",
              "concentration": 4, "concentration_unit": "mg/mL"},
    "polarity": "cathode",
    "corticosteroid": True,
    "electrode_area_cm2": 10.0,
    "electrode_rating_ma_min": 40,
    "max_current_ma": 4.0,
    "dose_target_ma_min": 40.0,
    "waveform": {"mode": "dc"},
    "ramp_start_ma": 0.5,
    "ramp_rate_ma_s": 0.1,
    "step_ma": 0.5,
    "ramp_down_s": 3.0,
}

TAP_HANDS: dict[str, Any] = {
    "id": "test-tap",
    "name": "Tap water hands",
    "agent": {"kind": "tap_water", "solution": "tap water"},
    "polarity": "anode",
    "polarity_reversal_halfway": True,
    "electrode_area_cm2": 120.0,
    "max_current_ma": 20.0,
    "dose_target_ma_min": 400.0,
    "waveform": {"mode": "dc"},
    "ramp_start_ma": 2.0,
    "ramp_rate_ma_s": 0.5,
    "step_ma": 2.0,
    "ramp_down_s": 5.0,
}


def make_protocol(base: dict[str, Any] | None = None, **overrides: Any) -> Protocol:
    data = dict(base or DEX_40)
    data.update(overrides)
    return Protocol.model_validate(data)


def sample(t: float, current: float, *, target: float | None = None, voltage: float | None = None,
           on: bool = True, **kw: Any) -> Sample:
    """A sample on a 5 kΩ load unless the voltage is given."""
    return Sample(t=t, current_ma=current, voltage_v=current * 5.0 if voltage is None else voltage,
                  target_ma=current if target is None else target, output_on=on, **kw)
