"""Drill: a pulsed-DC treatment against the simulated board, dose checked against the charge that flowed.

ICD §3 "Pulsed mode" (clarified): TELEMETRY's current and voltage are the pulse
amplitude (their mean over the on-phases), and the charge per second is
amplitude x duty. The simulator's physics is the ground truth here: every
physics step adds ``amplitude x duty x dt`` of charge while the output is
enabled (what a DC ammeter in series integrates). The console's recorded dose
must match it, and would be off by the factor 1/duty if either end read the ICD
the other way.
"""

from __future__ import annotations

import threading

import pytest

from ionto_console.core.session import SessionState
from ionto_console.drivers.board import messages as m
from drill_bench import DEADLINE_S, assert_record_intact, drill_protocol
from support import wait_for

DUTY_PCT = 40


class ChargeMeter:
    """Integrates the simulated output's mean current (amplitude x duty when pulsed) over board time."""

    def __init__(self) -> None:
        self.ma_s = 0.0
        self.pulsed_ma_s = 0.0
        self._last_t: float | None = None
        self._lock = threading.Lock()

    def __call__(self, t: float, state, board) -> None:
        with self._lock:
            if self._last_t is not None and t > self._last_t and board.output_enabled:
                duty = board.duty_pct / 100.0 if board.pulsed else 1.0
                mean_ma = state.true_ua / 1000.0 * duty
                self.ma_s += mean_ma * (t - self._last_t)
                if board.pulsed:
                    self.pulsed_ma_s += mean_ma * (t - self._last_t)
            self._last_t = t

    @property
    def ma_min(self) -> float:
        with self._lock:
            return self.ma_s / 60.0


def test_a_pulsed_treatment_counts_amplitude_times_duty_as_the_charge_that_flowed(bench):
    meter = ChargeMeter()
    with bench.server.lock:
        bench.server.board.step_observer = meter
    protocol = drill_protocol(waveform={"mode": "pulsed_dc", "frequency_hz": 1000, "duty_pct": DUTY_PCT})
    controller = bench.start_treating(protocol)
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    live = bench.station.snapshot().live
    assert live is not None and live.flags & m.Flags.PULSED, "the board is not in pulsed mode"
    # the telemetry reports the amplitude (near the ~1 mA target), not amplitude x duty
    assert controller.snapshot().current_ma > 0.9
    wait_for(lambda: controller.snapshot().dose_delivered_ma_min > 0.02, 30, "some dose", controller)
    controller.end_early()
    bench.wait_ended()
    bench.wait_output_off()
    summary = bench.wait_record_closed()
    assert summary.state == "stopped", summary  # ended early by the therapist
    flowed = meter.ma_min
    assert meter.pulsed_ma_s > 0.99 * meter.ma_s, "charge flowed outside pulsed mode"
    # within 5 %: measurement noise and the sample-period edges; a duty error would be 2.5x
    assert summary.dose_delivered_ma_min == pytest.approx(flowed, rel=0.05), (summary.dose_delivered_ma_min, flowed)
    assert_record_intact(bench.db)
