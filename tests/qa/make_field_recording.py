"""How ``field-report-0001.ionto-wire`` was made (kept for provenance; run it to rebuild the file).

Field report 0001 (the F5 nuisance trip): "dexamethasone 40 mA·min, ramping at
0.1 mA/s to 0.5 mA on a steady 5 kΩ; at 6 s one telemetry sample read 0 µA and
the console cut the output 3 ms later". The recording is what that console's
black box held: the host's commands (configure, enable, and the cut at
6.003 s) and the board's 200 Hz telemetry, which shows the output off after the
cut it obeyed.

    python tests/qa/make_field_recording.py tests/qa/field-report-0001.ionto-wire
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from ionto_console.drivers.board import messages as m
from ionto_console.records.wire_log import FROM_BOARD, TO_BOARD, WireRecording

RATE_HZ, GLITCH_T, CUT_T, END_T, ENABLE_T = 200, 6.0, 6.003, 7.0, 0.05


def build() -> bytes:
    rec = WireRecording(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone.utc), 0.0)
    seq = iter(range(256))
    host = [(0.0, m.Output(0)), (0.001, m.SetLimits(4000, 100, 500)), (0.002, m.SetWaveform(0, 1000, 50)),
            (0.003, m.SetRate(RATE_HZ)), (0.004, m.SetPolarity(0)), (0.005, m.SetTarget(0)),
            (ENABLE_T, m.Output(1)), (CUT_T, m.Output(0))]
    events = []
    for t, msg in host:
        s = next(seq)
        events.append((t, TO_BOARD, msg.frame(s)))
        events.append((t + 0.0005, FROM_BOARD, m.Ack(msg.TYPE).frame(s)))
    n = 0
    t = 0.0
    while t < END_T:
        on = ENABLE_T <= t < CUT_T
        level_ua = round(min(500.0, 100.0 * max(t - ENABLE_T, 0.0))) if on else 0
        current = 0 if abs(t - GLITCH_T) < 1e-9 else (level_ua if on else 15)
        events.append((t, FROM_BOARD, m.Telemetry(1_000_000 + n * 5_000, n, current, current * 5, level_ua,
                                                  int(m.Flags.OUTPUT_ENABLED) if on else 0, 0).frame(n & 0xFF)))
        n += 1
        t = round(n / RATE_HZ, 6)
    for t, direction, data in sorted(events, key=lambda e: e[0]):
        rec.add(direction, t, data)
    return rec.finish().data


if __name__ == "__main__":
    Path(sys.argv[1]).write_bytes(build())
