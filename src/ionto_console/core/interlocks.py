"""Interlocks: every telemetry sample is checked against the safety windows.

WHY here and not in the UI: the controller thread runs every sample through
``Interlocks.check`` and acts on a trip at once, whatever the GUI is doing.
The checks are pure (no I/O, no clock: time comes from the sample or the
argument) and cheap, because they run at up to 1000 Hz.

A trip says what to do: ``CUT`` (OUTPUT 0, at once) for what can hurt right
now (open circuit, short, overcurrent, polarity, board fault, lost link),
``STOP_RAMP`` (a short linear ramp to zero) for what calls for ending the
treatment gently (compliance, deviation, density), ``WARN`` for what is only
shown (density at or above 2 mA/cm² when the protocol allows that much).

Two kinds of gap between samples: samples missing by the board's sample
counter (``lost_before``) or a silent board is lost telemetry; two samples
the counter says are consecutive but whose time stamps lie further apart
than the lost-telemetry limit mean the board's clock leapt (or wrapped its
u32 µs counter early). Both cut; the record names which.

To judge "measured current deviates from target, outside slewing" without a
slewing flag in the sample, the interlocks keep a model of the board's output:
it follows the board's reported target at the board's slew limit. The
deviation check only runs once that model has sat on the target for
``settle_s``: a ramp in progress is never mistaken for a fault.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from .protocols import DENSITY_WARN_MA_CM2, Protocol
from .samples import BoardFault, Sample, impedance_kohm


class TripKind(str, enum.Enum):
    OPEN_CIRCUIT = "open_circuit"
    IMPEDANCE_LOW = "impedance_low"
    IMPEDANCE_FALLING = "impedance_falling"
    COMPLIANCE = "compliance"
    CURRENT_DEVIATION = "current_deviation"
    OVERCURRENT = "overcurrent"
    DENSITY = "density"
    DENSITY_WARNING = "density_warning"
    BOARD_FAULT = "board_fault"
    POLARITY = "polarity"
    LOST_TELEMETRY = "lost_telemetry"
    LOST_SAMPLES = "lost_samples"
    BOARD_CLOCK = "board_clock"
    #: Raised by the engine, not by ``Interlocks.check``: the delivered dose reached the prescription's cap.
    DOSE_CAP = "dose_cap"
    OUTPUT_LOST = "output_lost"


class TripAction(enum.IntEnum):
    """Ordered by severity, so ``max`` picks what to do when several trip at once."""

    WARN = 0
    STOP_RAMP = 1
    CUT = 2


@dataclass(frozen=True, slots=True)
class Trip:
    """One interlock decision, with the figures that justify it (for the record)."""

    kind: TripKind
    action: TripAction
    message: str
    t: float
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InterlockLimits:
    """The windows. ``from_protocol`` fills the protocol-specific ones; the rest are defaults."""

    max_current_ma: float
    area_cm2: float
    density_limit_ma_cm2: float
    board_slew_ma_s: float
    density_warn_ma_cm2: float = DENSITY_WARN_MA_CM2
    #: Margin over max current / density before tripping: measurement noise at the maximum must not trip.
    overcurrent_margin: float = 0.05
    impedance_min_kohm: float = 0.2
    impedance_max_kohm: float = 80.0
    #: Impedance is judged only above this current (below it V/I is noise).
    impedance_min_current_ma: float = 0.1
    #: Trip if impedance falls by more than this fraction within ``fall_window_s``.
    impedance_fall_fraction: float = 0.4
    fall_window_s: float = 1.0
    #: Current collapse: measured below this fraction of the expected output...
    collapse_fraction: float = 0.1
    #: ...while the expected output is at least this much (the board's own threshold is 100 µA).
    collapse_min_ma: float = 0.1
    deviation_abs_ma: float = 0.1
    deviation_rel: float = 0.1
    settle_s: float = 0.3
    #: An open circuit trips only when every sample for this long says so (hazard analysis:
    #: docs/safety-case.md, "Open-circuit window"). One glitching sample never ends a treatment;
    #: a real lift is cut in at most this plus one sample, a quarter of the board's own 200 ms.
    open_circuit_window_s: float = 0.05
    telemetry_timeout_s: float = 0.2
    max_lost_burst: int = 20
    #: The board reports its output off while the engine has it enabled (no cut, no STOP sent):
    #: output lost, once every sample for this long says so (one glitching flag never trips)...
    output_lost_window_s: float = 0.05
    #: ...counting from the first sample that showed the output on after the engine enabled it,
    #: or, when none did, from this long after the enable. WHY not the ICD's 20 ms: the engine's
    #: "enabled" time is when it decided, before the setup commands and OUTPUT 1 were answered
    #: (each may be retried once at 250 ms on a loaded host); samples read meanwhile say "off".
    output_on_grace_s: float = 1.0

    @classmethod
    def from_protocol(cls, protocol: Protocol, **overrides: Any) -> "InterlockLimits":
        base = cls(
            max_current_ma=protocol.max_current_ma,
            area_cm2=protocol.electrode_area_cm2,
            density_limit_ma_cm2=protocol.density_limit_ma_cm2,
            board_slew_ma_s=protocol.ramp_rate_ma_s,
        )
        return replace(base, **overrides)

    @property
    def overcurrent_ma(self) -> float:
        return self.max_current_ma * (1.0 + self.overcurrent_margin)


class Interlocks:
    """Stateful checker (it remembers the previous sample, the output model and recent impedance)."""

    def __init__(self, limits: InterlockLimits, expected_anode: bool | None = None) -> None:
        self.limits = limits
        self.expected_anode = expected_anode
        self._last_t: float | None = None
        self._last_sample_t: float | None = None  # the newest sample's time (``_last_t`` may be the arming time)
        self._model_ma = 0.0
        self._settled_since: float | None = None
        self._z_history: deque[tuple[float, float]] = deque()
        self._density_warned = False
        self._open_since: float | None = None  # first sample of the present run of open-circuit evidence
        self._output_expected_since: float | None = None  # the engine enabled the output then (see expect_output)
        self._output_off_since: float | None = None  # first sample of the present run of "output off" evidence
        self._output_confirmed = False
        self.lost_total = 0

    def expect_output(self, on: bool, now: float = 0.0) -> None:
        """The engine enabled the output at ``now`` (``on``), or cut it / asked for a STOP ramp.

        WHY the engine says so: only it knows whether an output off on the board is its own
        doing (OUTPUT 0, a STOP ramp ending, a polarity reversal) or the output lost under a
        running session. Lost, the session ran on as "treating" with no current, and a board
        that enabled itself again would have resumed without the therapist."""
        self._output_expected_since = now if on else None
        self._output_confirmed = False  # a sample has shown the output on since the enable
        self._output_off_since = None

    def arm(self, now: float) -> None:
        """Start the lost-telemetry clock (a session that never receives a sample must trip too)."""
        if self._last_t is None or now > self._last_t:
            self._last_t = now

    def check_time(self, now: float) -> Trip | None:
        """Lost telemetry: no sample for ``telemetry_timeout_s``. Call at heartbeat rate."""
        if self._last_t is None:
            return None
        silence = now - self._last_t
        if silence > self.limits.telemetry_timeout_s:
            return Trip(TripKind.LOST_TELEMETRY, TripAction.CUT,
                        f"Lost contact with the board: no measurement for {silence * 1000:.0f} ms",
                        now, {"silence_s": silence, "last_sample_t": self._last_t})
        return None

    def check(self, s: Sample) -> list[Trip]:
        """All trips this sample causes (empty list when everything is inside its window)."""
        lim = self.limits
        trips: list[Trip] = []
        current = abs(s.current_ma)
        dt = 0.0 if self._last_t is None else s.t - self._last_t

        step = None if self._last_sample_t is None else s.t - self._last_sample_t
        if step is not None and step > lim.telemetry_timeout_s and s.lost_before == 0:
            # Consecutive by the sample counter, yet far apart by the time stamps: the board's
            # clock leapt (or wrapped its u32 µs counter early), it is not a loss of contact.
            trips.append(Trip(TripKind.BOARD_CLOCK, TripAction.CUT,
                              f"The board's clock jumped {step:.1f} s between two consecutive measurements: "
                              "its time stamps cannot be trusted", s.t, {"step_s": step, "lost_before": 0}))
        elif dt > lim.telemetry_timeout_s:
            trips.append(Trip(TripKind.LOST_TELEMETRY, TripAction.CUT,
                              f"Lost contact with the board: no measurement for {dt * 1000:.0f} ms",
                              s.t, {"gap_s": dt, "lost_before": s.lost_before}))
        if s.lost_before:
            self.lost_total += s.lost_before
            if s.lost_before > lim.max_lost_burst:
                trips.append(Trip(TripKind.LOST_SAMPLES, TripAction.STOP_RAMP,
                                  f"{s.lost_before} measurements in a row were lost on the link",
                                  s.t, {"lost_before": s.lost_before, "lost_total": self.lost_total}))
        if self._last_t is None or s.t > self._last_t:
            self._last_t = s.t
        if self._last_sample_t is None or s.t > self._last_sample_t:
            self._last_sample_t = s.t

        if s.fault_code:
            trips.append(self._board_fault(s))
        else:  # a latched fault names why the output is off: that trip says it
            self._judge_output_lost(s, trips)

        self._update_output_model(s, max(dt, 0.0))
        if s.output_on:
            if self.expected_anode is not None and s.anode is not None and s.anode != self.expected_anode:
                trips.append(Trip(TripKind.POLARITY, TripAction.CUT,
                                  "The board's polarity differs from the planned polarity",
                                  s.t, {"board_anode": s.anode, "planned_anode": self.expected_anode}))
            opens: list[Trip] = []
            self._check_current(s, current, trips, opens)
            if not opens:
                self._check_impedance(s, current, trips, opens)
            self._judge_open_circuit(s, opens, trips)
        else:
            self._z_history.clear()
            self._open_since = None
        return trips

    def _judge_output_lost(self, s: Sample, trips: list[Trip]) -> None:
        """The board reports its output off (bit0 clear, no STOP ramp bit6) while the engine has
        it enabled: a CUT trip once that held for ``output_lost_window_s``. Evidence counts once a
        sample has shown the output on since the enable, or ``output_on_grace_s`` after it (a board
        that never enabled is lost too)."""
        since = self._output_expected_since
        lim = self.limits
        if since is not None and s.output_on:
            self._output_confirmed = True
        if (since is None or s.output_on or s.stop_ramp
                or (not self._output_confirmed and s.t < since + lim.output_on_grace_s)):
            self._output_off_since = None
            return
        if self._output_off_since is None or s.t < self._output_off_since:
            self._output_off_since = s.t
        held = s.t - self._output_off_since
        if held >= lim.output_lost_window_s:
            trips.append(Trip(TripKind.OUTPUT_LOST, TripAction.CUT,
                              "The board switched its output off by itself during the treatment: "
                              "output lost, the session is ended", s.t,
                              {"off_for_s": held, "window_s": lim.output_lost_window_s,
                               "enabled_at": since, "fault_latched": s.fault_latched}))

    def _judge_open_circuit(self, s: Sample, opens: list[Trip], trips: list[Trip]) -> None:
        """Open circuit is decided over ``open_circuit_window_s``, not on one sample.

        WHY: one TELEMETRY sample of 0 µA (a glitch on the measurement) used to end a
        patient's treatment in 3 ms. The evidence must hold on every sample from the first
        one to one at least the window later; any sample without it starts over. While the
        evidence is pending the sample is judged no further (no compliance or deviation
        trip on a sample that may be a glitch)."""
        if not opens:
            self._open_since = None
            return
        if self._open_since is None or s.t < self._open_since:
            self._open_since = s.t
        held = s.t - self._open_since
        if held >= self.limits.open_circuit_window_s:
            trip = opens[0]
            trips.append(replace(trip, evidence={**trip.evidence, "open_for_s": held,
                                                 "window_s": self.limits.open_circuit_window_s}))

    # --- the individual windows -------------------------------------------------

    def _board_fault(self, s: Sample) -> Trip:
        name = BoardFault.describe(s.fault_code)
        if s.fault_code == BoardFault.HARDWARE_STOP:
            message = "The board's stop button was pressed: output is off"
        elif s.fault_code == BoardFault.OPEN_CIRCUIT:
            message = "Open circuit: electrode contact lost (reported by the board)"
        else:
            message = f"The board reported a fault ({name}) and cut the output"
        return Trip(TripKind.BOARD_FAULT, TripAction.CUT, message, s.t,
                    {"fault_code": s.fault_code, "fault": name, "current_ma": s.current_ma})

    def _check_current(self, s: Sample, current: float, trips: list[Trip], opens: list[Trip]) -> None:
        lim = self.limits
        evidence = {"current_ma": s.current_ma, "target_ma": s.target_ma, "expected_ma": self._model_ma}
        if current > lim.overcurrent_ma:
            trips.append(Trip(TripKind.OVERCURRENT, TripAction.CUT,
                              f"Current {current:.2f} mA is above the protocol maximum of {lim.max_current_ma:g} mA",
                              s.t, evidence))
        density = current / lim.area_cm2
        if density > lim.density_limit_ma_cm2 * (1.0 + lim.overcurrent_margin):
            trips.append(Trip(TripKind.DENSITY, TripAction.STOP_RAMP,
                              f"Current density {density:.2f} mA/cm² is above the limit of "
                              f"{lim.density_limit_ma_cm2:g} mA/cm² for this electrode",
                              s.t, {**evidence, "density_ma_cm2": density}))
        if density >= lim.density_warn_ma_cm2:
            if not self._density_warned:
                self._density_warned = True
                trips.append(Trip(TripKind.DENSITY_WARNING, TripAction.WARN,
                                  f"Current density {density:.2f} mA/cm² is high (at or above "
                                  f"{lim.density_warn_ma_cm2:g} mA/cm²): watch the skin",
                                  s.t, {**evidence, "density_ma_cm2": density}))
        else:
            self._density_warned = False
        if s.stop_ramp:
            return  # the board is ramping down on purpose: no deviation or collapse judgement
        expected = self._model_ma
        # Collapse: the current is gone although the output should carry it; at the voltage
        # limit with (almost) no current it is an open circuit whatever the level (ICD rule 3).
        collapsed = expected >= lim.collapse_min_ma and current < lim.collapse_fraction * expected
        if s.at_compliance and current < lim.collapse_fraction * max(expected, s.target_ma):
            collapsed = True
        if collapsed:
            opens.append(Trip(TripKind.OPEN_CIRCUIT, TripAction.CUT,
                              f"Open circuit: electrode contact lost (current fell to {current:.2f} mA, "
                              f"expected {expected:.2f} mA)", s.t, evidence))
            return
        # At the voltage limit V/I means something even below ``impedance_min_current_ma``:
        # 90 V over a few µA of offset is megohms, a lifted electrode, not high skin resistance.
        if s.at_compliance and abs(s.voltage_v) > lim.impedance_max_kohm * current:
            opens.append(Trip(TripKind.OPEN_CIRCUIT, TripAction.CUT,
                              f"Open circuit: electrode contact lost (the voltage is at its limit, "
                              f"{abs(s.voltage_v):.0f} V, with only {current:.2f} mA flowing)",
                              s.t, {**evidence, "voltage_v": s.voltage_v}))
            return
        if s.at_compliance:
            trips.append(Trip(TripKind.COMPLIANCE, TripAction.STOP_RAMP,
                              "The skin's resistance is too high for this current: the board is at its "
                              "voltage limit", s.t, {**evidence, "voltage_v": s.voltage_v}))
            return
        settled = self._settled_since is not None and s.t - self._settled_since >= lim.settle_s
        tolerance = max(lim.deviation_abs_ma, lim.deviation_rel * s.target_ma)
        if settled and abs(current - s.target_ma) > tolerance:
            trips.append(Trip(TripKind.CURRENT_DEVIATION, TripAction.STOP_RAMP,
                              f"Measured current {current:.2f} mA differs from the target "
                              f"{s.target_ma:.2f} mA", s.t, {**evidence, "tolerance_ma": tolerance}))

    def _check_impedance(self, s: Sample, current: float, trips: list[Trip], opens: list[Trip]) -> None:
        lim = self.limits
        z = impedance_kohm(s.current_ma, s.voltage_v, s.output_on)
        if z is None or current < lim.impedance_min_current_ma:
            self._z_history.clear()
            return
        evidence = {"impedance_kohm": z, "current_ma": s.current_ma, "voltage_v": s.voltage_v}
        if z > lim.impedance_max_kohm:
            opens.append(Trip(TripKind.OPEN_CIRCUIT, TripAction.CUT,
                              f"Open circuit: electrode contact lost (impedance {z:.0f} kΩ)", s.t, evidence))
            return
        if z < lim.impedance_min_kohm:
            trips.append(Trip(TripKind.IMPEDANCE_LOW, TripAction.CUT,
                              f"Impedance {z * 1000:.0f} Ω is too low: short circuit or skin breakdown",
                              s.t, evidence))
            return
        history = self._z_history
        while history and s.t - history[0][0] > lim.fall_window_s:
            history.popleft()
        if history:
            peak = max(value for _, value in history)
            if z < (1.0 - lim.impedance_fall_fraction) * peak:
                trips.append(Trip(TripKind.IMPEDANCE_FALLING, TripAction.STOP_RAMP,
                                  f"Impedance fell from {peak:.1f} to {z:.1f} kΩ within "
                                  f"{lim.fall_window_s:g} s: possible skin breakdown",
                                  s.t, {**evidence, "peak_kohm": peak}))
        # Keep about ten points per window: enough to see a fall, cheap at 1000 Hz.
        if not history or s.t - history[-1][0] >= lim.fall_window_s / 10.0:
            history.append((s.t, z))

    def _update_output_model(self, s: Sample, dt: float) -> None:
        """Follow the board: output slews toward its target at the slew limit; 0 when disabled."""
        if not s.output_on:
            self._model_ma, self._settled_since = 0.0, None
            return
        if s.stop_ramp:
            self._model_ma, self._settled_since = abs(s.current_ma), None
            return
        target = s.target_ma
        step = self.limits.board_slew_ma_s * dt
        model = self._model_ma
        model = min(target, model + step) if target > model else max(target, model - step)
        self._model_ma = model
        if abs(model - target) <= 1e-9:
            if self._settled_since is None:
                self._settled_since = s.t
        else:
            self._settled_since = None

    @property
    def expected_output_ma(self) -> float:
        """What the board's output should be now, by the slew model."""
        return self._model_ma


def worst(trips: list[Trip]) -> Trip | None:
    """The trip that decides the action (most severe; the first of equals)."""
    return max(trips, key=lambda trip: trip.action, default=None)
