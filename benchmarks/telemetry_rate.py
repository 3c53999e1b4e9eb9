"""Telemetry throughput of the board link: how many frames per second arrive,
how many samples the console misses, how many frames the decoder drops.

    python benchmarks/telemetry_rate.py [--seconds 60] [--rate 1000] [--url /dev/ttyACM0]

Without --url it starts the board simulator on a pseudo-terminal in this
process (simulator and console then share the CPU, which makes the figure a
lower bound for a real board). Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import BoardLink, LinkState, TelemetryEvent


class _Counter:
    """Telemetry listener: counts and keeps arrival gaps, nothing else (it runs on
    the reader thread, like the controller's listener will)."""

    def __init__(self) -> None:
        self.counting = False
        self.received = 0
        self.lost = 0
        self.reboots = 0
        self.last_time: float | None = None
        self.gaps: list[float] = []

    def __call__(self, event: TelemetryEvent) -> None:
        if not self.counting:
            return
        self.received += 1
        self.lost += event.lost_before
        self.reboots += event.board_rebooted
        if self.last_time is not None:
            self.gaps.append(event.host_time - self.last_time)
        self.last_time = event.host_time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=1000, help="SET_RATE in Hz (10..1000)")
    parser.add_argument("--url", help="board port; default: start the simulator")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    server = None
    url = args.url
    if url is None:
        from ionto_console.drivers.sim.pty_server import SimulatedBoardServer

        server = SimulatedBoardServer()
        server.start()
        url = server.port
    link = BoardLink(url, reply_timeout_s=1.0)
    counter = _Counter()
    link.add_telemetry_listener(counter)
    t_start = time.monotonic()
    events: list[str] = []
    link.add_state_listener(lambda state, reason: events.append(
        f"{time.monotonic() - t_start:7.2f} s  {state.value}: {reason}"))
    try:
        link.open()
        if link.state is not LinkState.CONNECTED:
            print(f"could not connect: {link.reason}", file=sys.stderr)
            return 1
        link.request(m.SetRate(args.rate))
        time.sleep(0.5)  # let the rate change settle before counting
        start_stats = link.stats
        cpu0, t0 = time.process_time(), time.monotonic()
        counter.counting = True
        time.sleep(args.seconds)
        counter.counting = False
        elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        stats = link.stats
    finally:
        link.close()
        if server is not None:
            server.stop()

    gaps_ms = sorted(g * 1000 for g in counter.gaps) or [0.0]
    print(f"url                 {url}")
    print(f"requested rate      {args.rate} Hz for {elapsed:.1f} s")
    print(f"received            {counter.received} frames = {counter.received / elapsed:.1f} Hz")
    print(f"samples lost        {counter.lost} (counter gaps)")
    print(f"frames dropped      {stats.frames_dropped - start_stats.frames_dropped} (bad COBS/CRC/length)")
    print(f"frames rejected     {stats.frames_rejected - start_stats.frames_rejected} (unknown type/size)")
    print(f"board reboots       {counter.reboots}")
    print(f"reconnects          {stats.reconnects - start_stats.reconnects}")
    print(
        f"arrival gap ms      median {statistics.median(gaps_ms):.2f}, "
        f"p99 {gaps_ms[int(0.99 * (len(gaps_ms) - 1))]:.2f}, max {gaps_ms[-1]:.2f}"
    )
    for line in events:
        print(f"link event          {line}")
    print(f"process CPU         {100 * cpu / elapsed:.0f} % of one core (simulator included when local)")
    print(f"RESULT telemetry received: {counter.received / elapsed:.1f} Hz (goal {args.rate})")
    print(f"RESULT telemetry samples lost: {counter.lost} samples (goal 0)")
    print(f"RESULT telemetry frames dropped: {stats.frames_dropped - start_stats.frames_dropped} frames (goal 0)")
    print(f"RESULT telemetry arrival gap p99: {gaps_ms[int(0.99 * (len(gaps_ms) - 1))]:.2f} ms")
    print(f"RESULT telemetry arrival gap max: {gaps_ms[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
