"""Shared builders for the core tests: protocols from a dict of overrides, samples."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ionto_console.core.engine import (
    Configure,
    CutOutput,
    EnableOutput,
    RampStop,
    SetPolarity,
    SetTarget,
    TreatmentEngine,
)
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


# --- a fake board in fake time, for engine tests ---------------------------------------


def skin_kohm(t: float) -> float:
    """Electrodes on skin: ~30 kΩ falling to 3 kΩ as the skin hydrates (tau 2 min)."""
    return 3.0 + 27.0 * math.exp(-t / 120.0)


def tray_kohm(t: float) -> float:
    """Both feet or hands in tap-water trays, as ``ionto_sim``'s tray preset: 3.6 kΩ falling to 1.3 kΩ (tau 1 min)."""
    return 1.3 + 2.3 * math.exp(-t / 60.0)


@dataclass
class FakeBoard:
    """Obeys the ICD output rules (slew limit, STOP ramp, OUTPUT 0 cut, BUSY on polarity) on a load."""

    load_kohm: Callable[[float], float] = skin_kohm
    compliance_v: float = 90.0
    enabled: bool = False
    output: float = 0.0
    target: float = 0.0
    slew: float = 0.1
    max_ma: float = 4.0
    anode: bool = False
    fault: int = 0
    stop: tuple[float, float, float] | None = None
    #: What the measurement reads on top of the true current, output on or off (a real board's
    #: zero offset: the simulator's is +18 µA).
    zero_offset_ma: float = 0.0
    t: float = 0.0
    polarity_log: list[tuple[float, bool]] = field(default_factory=list)

    def apply(self, commands, t: float) -> None:
        self._advance(t)
        for c in commands:
            if isinstance(c, Configure):
                assert not self.enabled, "SET_LIMITS while enabled would be NAK BUSY"
                self.slew, self.max_ma = c.slew_ua_s / 1000.0, c.max_ua / 1000.0
            elif isinstance(c, SetPolarity):
                assert not self.enabled, "SET_POLARITY while the output is enabled"
                self.anode = c.anode
                self.polarity_log.append((t, c.anode))
            elif isinstance(c, SetTarget):
                assert c.ua <= self.max_ma * 1000 + 1e-6, "SET_TARGET above the limit"
                self.target = c.ua / 1000.0
            elif isinstance(c, EnableOutput):
                if not self.fault:
                    self.enabled, self.output = True, 0.0
            elif isinstance(c, RampStop):
                if self.enabled:
                    self.stop = (t, self.output, c.ms / 1000.0)
            elif isinstance(c, CutOutput):
                self.enabled, self.output, self.target, self.stop = False, 0.0, 0.0, None
            else:  # pragma: no cover
                raise AssertionError(f"unknown command {c!r}")

    def _advance(self, t: float) -> None:
        dt = max(t - self.t, 0.0)
        self.t = max(t, self.t)
        if not self.enabled:
            self.output = 0.0
        elif self.stop is not None:
            t0, start, ramp = self.stop
            self.output = 0.0 if ramp <= 0 else max(start * (1 - (t - t0) / ramp), 0.0)
            if self.output <= 0.0:
                self.enabled, self.stop, self.target = False, None, 0.0
        elif self.target > self.output:
            self.output = min(self.target, self.output + self.slew * dt)
        else:
            self.output = max(self.target, self.output - self.slew * dt)

    def sample(self, t: float) -> Sample:
        self._advance(t)
        z = self.load_kohm(t)
        current = self.output
        at_compliance = False
        if math.isinf(z):
            driving = self.enabled and self.output > 0.0  # no current asked for: no voltage either
            current, voltage, at_compliance = 0.0, self.compliance_v if driving else 0.0, driving
        else:
            voltage = current * z
            if voltage > self.compliance_v:
                current, voltage, at_compliance = self.compliance_v / z, self.compliance_v, True
        return Sample(t=t, current_ma=current + self.zero_offset_ma, voltage_v=voltage, target_ma=self.target,
                      output_on=self.enabled,
                      at_compliance=at_compliance, stop_ramp=self.stop is not None, fault_code=self.fault,
                      anode=self.anode)


@dataclass
class Run:
    """Engine + fake board + a clock: samples at ``rate_hz``, ticks at ``tick_hz``, all commands logged."""

    engine: TreatmentEngine
    board: FakeBoard
    rate_hz: float = 100.0
    tick_hz: float = 20.0
    t: float = 0.0
    log: list[tuple[float, object]] = field(default_factory=list)
    states: list[tuple[float, object]] = field(default_factory=list)
    _next_tick: float = 0.0

    def send(self, commands, t: float | None = None) -> None:
        t = self.t if t is None else t
        self.log.extend((t, c) for c in commands)
        self.board.apply(commands, t)
        self.states.append((t, self.engine.state))

    def intent(self, name: str, *args) -> None:
        self.send(getattr(self.engine, name)(*args, self.t))

    def advance(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        end = self.t + seconds
        dt = 1.0 / self.rate_hz
        while self.t < end - 1e-12:
            self.t = round(self.t + dt, 9)
            self.send(self.engine.on_sample(self.board.sample(self.t)))
            if self.t >= self._next_tick:
                self._next_tick = self.t + 1.0 / self.tick_hz
                self.send(self.engine.on_tick(self.t))
            if until is not None and until():
                return

    def commands(self, kind) -> list[tuple[float, object]]:
        return [(t, c) for t, c in self.log if isinstance(c, kind)]
