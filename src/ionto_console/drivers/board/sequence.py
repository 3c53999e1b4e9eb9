"""The ICD's rules for the TELEMETRY sample counter and board time, as one pure function.

ICD section 3: the counter steps by one per sample (a gap is lost samples); board
time only increases, wrapping at 2^32 µs; "Reboot": after a restart the counter and
board time BOTH begin again from 0. WHY a module of its own: the link acts on the
verdict (drop, deliver, re-identify, fault), but the judgement is a safety rule that
needs property tests over counter/time sequences, without a serial port.

WHY a duplicate is not a restart: a frame repeated on the line (same counter, same
board time) once passed for a restart during the board's first ~36 s at 1000 Hz (the
counter "did not advance" and looked freshly started), and a restart interrupts the
session: a nuisance stop from one doubled frame. A restart is the counter and the
clock both back near 0 and behind where they were; an exact repeat of the last frame
is dropped and counted, never delivered twice (the dose would count it twice).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

U32 = 0xFFFF_FFFF
_HALF = U32 // 2
#: A counter that went back is a restart only when it, and the board clock, look freshly
#: started: the counter below this and the clock no further than the slowest rate allows.
RESTART_MAX_COUNTER = 36_000
SLOWEST_PERIOD_US = 100_000  # 10 Hz, the lowest SET_RATE
FASTEST_PERIOD_US = 1_000  # 1000 Hz, the highest SET_RATE
RESTART_SLACK_US = 1_000_000  # boot and self-test before the first sample


class Kind(enum.Enum):
    NEXT = "next"  # follows the previous frame (``lost`` samples missing between them)
    RESTART = "restart"  # the board restarted (ICD "Reboot")
    DUPLICATE = "duplicate"  # the previous frame again: drop it
    FAULT = "fault"  # breaks the ICD's counter/clock rules (``problem`` says how)


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    lost: int = 0
    problem: str = ""


def looks_freshly_started(counter: int, board_time_us: int) -> bool:
    """Counter and board time both near 0, as a board just out of its power-on reset sends them."""
    return counter <= RESTART_MAX_COUNTER and board_time_us <= RESTART_SLACK_US + counter * SLOWEST_PERIOD_US


#: An exact repeat of the last frame is a restart only if it came at least its own board time
#: plus this much after the original (host clock): a board that restarted cannot stamp a frame
#: with t µs sooner than t µs after its reset, while a frame doubled on the line arrives at once.
RESTART_REPEAT_MARGIN_US = 1_000


def judge(last: tuple[int, int] | None, counter: int, board_time_us: int, resync: bool = False,
          gap_s: float | None = None) -> Verdict:
    """What the frame ``(counter, board_time_us)`` is, after the last accepted frame ``last``.

    ``last`` None: the first frame, a baseline. ``resync``: the first frame after a
    (re)connect; the board ran on while the port was closed, so a break only re-baselines
    (a restart and a duplicate are still recognised). WHY the clock bounds a gap: a counter
    that jumps further than the board's own clock allows at the fastest rate is corrupt,
    not a loss (one such jump once counted 2^31 lost samples). ``gap_s``: host seconds since
    the last accepted frame arrived (None: unknown); it only tells an exact repeat of a
    freshly started board's frame (a restart right after its first samples, as deterministic
    as the first boot) from a doubled frame."""
    if last is None:
        return Verdict(Kind.NEXT)
    last_c, last_t = last
    c, t = counter, board_time_us
    if (c, t) == (last_c, last_t):
        if (gap_s is not None and looks_freshly_started(c, t)
                and gap_s * 1e6 >= t + RESTART_REPEAT_MARGIN_US):
            return Verdict(Kind.RESTART)
        return Verdict(Kind.DUPLICATE)
    step = (c - last_c) & U32
    dt = (t - last_t) & U32
    lost = step - 1
    forward = 0 < step <= _HALF and dt <= _HALF and lost <= dt // FASTEST_PERIOD_US + 1
    if forward:
        return Verdict(Kind.NEXT, lost=lost)
    # A restart brings counter AND clock back to near 0: the counter is not ahead of where it
    # was, and it or the clock is behind (numerically: a restart does not wrap, it starts at 0).
    if looks_freshly_started(c, t) and c <= last_c and (c < last_c or t < last_t):
        return Verdict(Kind.RESTART)
    if resync:
        return Verdict(Kind.NEXT)
    if step == 0:
        return Verdict(Kind.FAULT, problem=(
            f"the telemetry sample counter stayed at {c} while board time moved from {last_t} to {t} µs"))
    if step > _HALF:
        return Verdict(Kind.FAULT, problem=f"the telemetry sample counter went back from {last_c} to {c} "
                                           "without a restart")
    if dt > _HALF:
        return Verdict(Kind.FAULT, problem=(
            f"board time went back by {((last_t - t) & U32) / 1000:.1f} ms while the sample "
            f"counter advanced from {last_c} to {c}"))
    return Verdict(Kind.FAULT, problem=(
        f"the telemetry sample counter jumped by {step} in {dt / 1000:.1f} ms of board "
        "time, more than the fastest telemetry rate allows"))
