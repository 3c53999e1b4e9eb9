"""Dose (charge) integration from the MEASURED current.

WHY measured and not commanded: the dose the patient received is what
flowed; a board lagging behind its target, at compliance, or pausing must not
count as delivered. The integral is a trapezoid over the sample times, in
mA·min. In pulsed DC the board reports the pulse amplitude (ICD §3, "Pulsed
mode", clarified: the mean over the on-phases, not over the period), so each
sample counts ``amplitude x duty``. WHY the board's pulsed flag decides per
sample: the charge is what the board did, not what was planned; a board that
reports DC (a SET_WAVEFORM lost, a board back at its power-on defaults) delivers
the full amplitude, and counting it at the planned duty would under-count the
dose (an overdose on the skin).

The integrator also answers the question the engine needs to end on time:
"if I start the ramp-down now, how much more charge flows?" A linear STOP
ramp from I to 0 over T seconds carries ``I*T/2``; the command latency adds
``I*latency``. Starting the ramp-down when delivered + that >= target means
the target, and therefore the electrode rating, is never exceeded.

WHY a longest step (``max_step_s``): sample times are the board's time
stamps. A board clock that leaps forward (or wraps its u32 µs counter early,
which unwraps as a leap of up to 71.6 min) would otherwise be integrated as
charge that never flowed: one such step at 1 mA "delivers" 71 mA·min. A step
longer than ``max_step_s`` counts for ``max_step_s`` only; the rest is kept
in ``gap_s``, time the integral did not cover. The engine sets it to the
lost-telemetry limit: a longer step trips the session anyway.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

#: Below this mean current (mA) the remaining time is not estimated (it would be huge or infinite).
MIN_CURRENT_FOR_ESTIMATE_MA = 0.05


class DoseIntegrator:
    """Running charge in mA·min with remaining dose and remaining time."""

    def __init__(self, target_ma_min: float, cap_ma_min: float | None = None, duty: float = 1.0,
                 max_step_s: float | None = None) -> None:
        """``max_step_s``: the longest time between two samples that is integrated (None = no limit)."""
        cap = target_ma_min if cap_ma_min is None else cap_ma_min
        if not (target_ma_min > 0 and cap >= target_ma_min and 0 < duty <= 1):
            raise ValueError("need 0 < target <= cap and 0 < duty <= 1")
        if max_step_s is not None and not max_step_s > 0:
            raise ValueError("the longest integrated step must be positive")
        self.target_ma_min = target_ma_min
        self.cap_ma_min = cap
        self.duty = duty
        self.max_step_s = max_step_s
        #: Seconds between samples that were not integrated (steps beyond ``max_step_s``).
        self.gap_s = 0.0
        self._delivered_ma_s = 0.0
        self._last_t: float | None = None
        self._last_mean_ma = 0.0

    def add(self, t: float, current_ma: float, pulsed: bool | None = None) -> float:
        """Add one measured sample (amplitude in mA at time ``t`` s); returns delivered mA·min.

        ``pulsed``: the board's pulsed-mode flag for this sample. False counts the full
        amplitude (DC); True or None (not reported) counts ``amplitude x duty``.

        A sample older than the previous one is ignored for the integral (it
        cannot be placed on the time axis) but still updates the present current.
        A step longer than ``max_step_s`` counts for ``max_step_s`` (see the module notes).
        """
        mean = abs(current_ma) * (1.0 if pulsed is False else self.duty)
        if self._last_t is not None and t > self._last_t:
            step = t - self._last_t
            if self.max_step_s is not None and step > self.max_step_s:
                self.gap_s += step - self.max_step_s
                step = self.max_step_s
            self._delivered_ma_s += 0.5 * (mean + self._last_mean_ma) * step
        if self._last_t is None or t >= self._last_t:
            self._last_t = t
        self._last_mean_ma = mean
        return self.delivered_ma_min

    @property
    def delivered_ma_min(self) -> float:
        return self._delivered_ma_s / 60.0

    @property
    def remaining_ma_min(self) -> float:
        return max(self.target_ma_min - self.delivered_ma_min, 0.0)

    @property
    def reached(self) -> bool:
        return self.delivered_ma_min >= self.target_ma_min

    @property
    def over_cap(self) -> bool:
        """True once the electrode rating (the prescription's cap) has been reached.

        The engine plans its ramp-down so this does not happen, and cuts one sample ahead of
        it (``cap_due``, ``TreatmentEngine._cap_reached``): the dose then ends within one
        sample's charge of the cap."""
        return self.delivered_ma_min >= self.cap_ma_min

    def cap_due(self, lookahead_s: float) -> bool:
        """The cap is reached now or within ``lookahead_s`` at the present current: cut now.

        WHY look ahead (one sample period plus the command latency): a cut decided on the
        sample that crosses the cap still lets that sample's charge, and the next step's
        trapezoid, flow; deciding a sample early keeps the dose at the cap unless the
        current jumps within a sample, and then over it by less than one sample's charge."""
        return self.delivered_ma_min + self._last_mean_ma * max(lookahead_s, 0.0) / 60.0 >= self.cap_ma_min

    @property
    def present_mean_ma(self) -> float:
        """The latest measured current, averaged over the pulse (amplitude x duty)."""
        return self._last_mean_ma

    def remaining_time_s(self) -> float | None:
        """Remaining dose at the present current, in seconds; None when (almost) no current flows."""
        if self._last_mean_ma < MIN_CURRENT_FOR_ESTIMATE_MA:
            return None
        return self.remaining_ma_min / self._last_mean_ma * 60.0

    def stop_charge_ma_min(self, ramp_down_s: float, latency_s: float = 0.0) -> float:
        """Charge still flowing if a linear ramp-down of ``ramp_down_s`` starts after ``latency_s``."""
        return self._last_mean_ma * (latency_s + ramp_down_s / 2.0) / 60.0

    def should_end(self, ramp_down_s: float, latency_s: float = 0.0) -> bool:
        """Start the ramp-down now, so that target (and cap) are met but not exceeded."""
        projected = self.delivered_ma_min + self.stop_charge_ma_min(ramp_down_s, latency_s)
        return projected >= self.target_ma_min


def waveform_duty(waveform: Mapping[str, Any] | None) -> float:
    """Share of the time current flows, for a waveform as a protocol stores it (1 for DC).

    ICD §3 "Pulsed mode": in pulsed DC the telemetry current is the pulse amplitude and the
    charge per second is amplitude x duty, so this is the factor every dose integral applies.
    WHY from the stored form: a record's protocol copy is JSON, and the dose recovered from it
    after a crash must use the same duty as the engine did (``Protocol.duty`` calls this too).
    """
    waveform = waveform or {}
    if waveform.get("mode") == "pulsed_dc":
        return float(waveform.get("duty_pct", 100)) / 100.0
    return 1.0


def integrate_dose(t: Iterable[float], current_ma: Iterable[float], duty: float = 1.0,
                   max_step_s: float | None = None, *,
                   pulsed: Iterable[bool | None] | None = None) -> float:
    """Charge in mA·min of a whole series of samples, exactly as the engine's integrator counts it.

    WHY through ``DoseIntegrator`` and not a second formula: a session recovered after a crash
    (``records.store.recover_interrupted``) must read as the console would have recorded it, and
    one integral cannot drift from another that does not exist. The target is irrelevant here.
    ``pulsed``: the board's pulsed flag per sample (as ``DoseIntegrator.add`` takes it); None
    for a series that never carried it (every sample counts ``amplitude x duty``).
    """
    integrator = DoseIntegrator(1.0, duty=duty, max_step_s=max_step_s)
    add = integrator.add
    if pulsed is None:
        for ti, ci in zip(t, current_ma):
            add(ti, ci)
    else:
        for ti, ci, pi in zip(t, current_ma, pulsed):
            add(ti, ci, pi)
    return integrator.delivered_ma_min


def remaining_time_at_goal(remaining_ma_min: float, goal_ma: float, duty: float = 1.0) -> float | None:
    """Seconds the remaining dose takes at the goal current; None without a goal.

    WHY the goal and not the present current: during a ramp (or a pause) the
    present current is far below the goal, and the estimate read 384:36 for a
    treatment that would take 4 minutes. The therapist reads the time the
    treatment will take at the current they chose."""
    mean = goal_ma * duty
    if mean < MIN_CURRENT_FOR_ESTIMATE_MA:
        return None
    return remaining_ma_min / mean * 60.0
