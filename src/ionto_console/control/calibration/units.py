"""Calibration's view of a sample: the board's readings back in the µA and mV that calibration works in.

WHY: the runner is fed the same ``core.samples.Sample`` (mA, V, booleans) as a
treatment, made by ``control.samples.SampleConverter``: one conversion from the
wire for both. The calibration rules (``core.calibration``) reason in the
board's own µA and mV, so these small functions turn a sample's units back.
The wire carries whole µA and mV: rounding undoes the converter's scaling
exactly, so the fit sees the integers the board sent.
"""

from __future__ import annotations

from ...core.samples import Sample


def board_ua(sample: Sample) -> int:
    """Measured current in whole µA, as the board reported it."""
    return round(sample.current_ma * 1000.0)


def board_mv(sample: Sample) -> int:
    """Electrode voltage in whole mV, as the board reported it."""
    return round(sample.voltage_v * 1000.0)


def target_ua(sample: Sample) -> int:
    """The board's own target in whole µA."""
    return round(sample.target_ma * 1000.0)


def settled(sample: Sample, target: int) -> bool:
    """The output is on at ``target`` µA, done slewing, with no fault latched: a point can be read."""
    return (sample.output_on and not sample.slewing and not sample.fault_latched
            and target_ua(sample) == target)


def describe(sample: Sample) -> str:
    """What the board reported, for a message about a point that went wrong."""
    states = [name for name, on in (("output on", sample.output_on), ("slewing", sample.slewing),
                                    ("at compliance", sample.at_compliance), ("stop ramp", sample.stop_ramp),
                                    ("fault latched", sample.fault_latched)) if on]
    return (f"{board_ua(sample)} µA measured, target {target_ua(sample)} µA, "
            f"{', '.join(states) or 'output off'}")
