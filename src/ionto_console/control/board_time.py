"""Board time stamps (u32 µs, wrapping every 71.6 min) as monotonic seconds.

Sample times come from the board, not from when bytes reached the host: a
busy host reads telemetry in bursts, and host arrival times would squeeze
those samples together (wrong plots, wrong dose integral).
"""

from __future__ import annotations

_WRAP = 1 << 32


class BoardTimeline:
    """Unwraps the board's u32 microsecond clock into seconds since the first sample.

    After a board reboot the board clock restarts; the timeline continues from
    the last instant so the history never runs backwards.
    """

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._base_us = 0  # accumulated µs before the current raw epoch
        self._origin_us: int | None = None

    def seconds(self, board_time_us: int, *, rebooted: bool = False) -> float:
        if self._last_raw is None:
            self._origin_us = board_time_us
        elif rebooted:
            # continue from the last instant: the new epoch starts where the old ended
            self._base_us += self._last_raw - board_time_us
        elif board_time_us < self._last_raw:
            self._base_us += _WRAP
        self._last_raw = board_time_us
        return (self._base_us + board_time_us - self._origin_us) / 1e6
