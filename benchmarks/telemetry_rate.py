"""Telemetry throughput of the board link: samples sent by the board vs received, lost, dropped.

    python benchmarks/telemetry_rate.py [--seconds 60] [--rate 1000] [--url /dev/ttyACM0]

``--rate`` is the SET_RATE the board is asked for (10..1000 Hz). For
``--seconds`` every TELEMETRY frame is counted on the link's reader thread.
"Sent" is what the board itself counted: the span of its sample counter from
the first to the last frame received in the window (so a sample missing in
between is a lost sample, whichever side lost it); "lost" = sent - received,
cross-checked against the link's own counter-gap count. With the in-process
simulator the board's emitted count over the window is printed as well.

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
        self.first_counter: int | None = None
        self.last_counter: int | None = None
        #: board counter span of the frames counted, summed over board restarts
        self.sent_before_reboot = 0

    def __call__(self, event: TelemetryEvent) -> None:
        if not self.counting:
            return
        counter = event.msg.counter
        if self.first_counter is None:
            self.first_counter = counter
        elif event.board_rebooted:  # the counter restarted: close the span before the reboot
            self.sent_before_reboot += self.span()
            self.first_counter = counter
        self.last_counter = counter
        self.received += 1
        self.lost += event.lost_before
        self.reboots += event.board_rebooted
        if self.last_time is not None:
            self.gaps.append(event.host_time - self.last_time)
        self.last_time = event.host_time

    def span(self) -> int:
        """Samples the board counted from the first to the last frame seen (since a reboot)."""
        if self.first_counter is None or self.last_counter is None:
            return 0
        return ((self.last_counter - self.first_counter) & 0xFFFF_FFFF) + 1

    @property
    def sent(self) -> int:
        return self.sent_before_reboot + self.span()


def rate_arg(text: str) -> int:
    rate = int(text)
    if not 10 <= rate <= 1000:
        raise argparse.ArgumentTypeError(f"the ICD allows 10..1000 Hz, got {rate}")
    return rate


def board_counter(server) -> int | None:
    if server is None:
        return None
    with server.lock:
        return server.board.sample_counter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=rate_arg, default=1000, help="SET_RATE in Hz (10..1000)")
    parser.add_argument("--url", help="board port; default: start the simulator")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    server = None
    url = args.url
    if url is None:
        from ionto_sim.pty_server import SimulatedBoardServer

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
        board0 = board_counter(server)
        counter.counting = True
        time.sleep(args.seconds)
        counter.counting = False
        board1 = board_counter(server)
        elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
        stats = link.stats
        bytes_lost = server.bytes_lost if server is not None else None
    finally:
        link.close()
        if server is not None:
            server.stop()

    gaps_ms = sorted(g * 1000 for g in counter.gaps) or [0.0]
    print(f"url                 {url}")
    print(f"requested rate      {args.rate} Hz for {elapsed:.1f} s")
    sent, received = counter.sent, counter.received
    lost = sent - received
    link_lost = stats.samples_lost - start_stats.samples_lost
    print(f"sent by the board   {sent} samples (its counter, first to last frame received)")
    if board0 is not None and board1 is not None:
        print(f"board emitted       {(board1 - board0) & 0xFFFF_FFFF} samples in the window "
              f"(simulator's own count; a few are in flight at each end); simulator bytes dropped {bytes_lost}")
    print(f"received            {received} frames = {received / elapsed:.1f} Hz")
    print(f"samples lost        {lost} (sent - received); counter gaps seen by the listener {counter.lost}, "
          f"by the link {link_lost}")
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
    print(f"RESULT telemetry {args.rate} Hz sent: {sent} samples")
    print(f"RESULT telemetry {args.rate} Hz received: {received} samples")
    print(f"RESULT telemetry {args.rate} Hz samples lost: {lost} samples (goal 0)")
    print(f"RESULT telemetry {args.rate} Hz frames dropped: {stats.frames_dropped - start_stats.frames_dropped} "
          f"frames (goal 0)")
    print(f"RESULT telemetry {args.rate} Hz arrival gap max: {gaps_ms[-1]:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
