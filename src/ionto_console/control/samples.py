"""Board telemetry frames as core samples: wire integers to clinical units.

The single place where an ICD TELEMETRY frame becomes a ``core.samples.Sample``
for the treatment controller and the calibration runner alike (µA -> mA, mV -> V
by ``core.samples.ma_from_wire``/``v_from_wire``, flag bits -> booleans, board
clock -> seconds).
"""

from __future__ import annotations

from ..core.samples import Sample, ma_from_wire, v_from_wire
from ..drivers.board import messages as m
from ..drivers.board.link import TelemetryEvent
from .board_time import BoardTimeline


class SampleConverter:
    """Turns telemetry events into ``Sample``s on the host's monotonic time scale.

    Times come from the board clock (exact sample spacing, immune to host read
    bursts), anchored at the host time of the first sample so they compare with
    ``time.monotonic()`` for the lost-telemetry check.
    """

    def __init__(self) -> None:
        self._timeline = BoardTimeline()
        self._anchor: float | None = None

    def convert(self, event: TelemetryEvent) -> Sample:
        msg = event.msg
        if self._anchor is None:
            self._anchor = event.host_time
        seconds = self._timeline.seconds(msg.board_time_us, rebooted=event.board_rebooted)
        flags = m.Flags(msg.flags)
        return Sample(
            t=self._anchor + seconds,
            current_ma=ma_from_wire(msg.current_ua),
            voltage_v=v_from_wire(msg.voltage_mv),
            target_ma=ma_from_wire(msg.target_ua),
            output_on=bool(flags & m.Flags.OUTPUT_ENABLED),
            at_compliance=bool(flags & m.Flags.AT_COMPLIANCE),
            stop_ramp=bool(flags & m.Flags.STOP_RAMP),
            fault_code=msg.latched_fault,
            lost_before=event.lost_before,
            anode=bool(flags & m.Flags.POLARITY_ANODE),
            slewing=bool(flags & m.Flags.SLEWING),
            fault_latched=bool(flags & m.Flags.FAULT_LATCHED),
            pulsed=bool(flags & m.Flags.PULSED),
        )
