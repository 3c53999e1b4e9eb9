"""Run the whole simulated bench, or inject a fault into a running one.

    python -m ionto_sim.scpi.cli [run] [--load-ohms 1000|skin] [--seed N]
            [--base-port N] [--board-control-port N] [--link-dir DIR]
    python -m ionto_sim.scpi.cli fault INSTRUMENT FAULT [--control HOST:PORT]
    python -m ionto_sim.scpi.cli error INSTRUMENT CODE TEXT [--control HOST:PORT]

``run`` prints one ``name: value`` line per item, flushed, then runs until
Ctrl-C/SIGTERM: ``port`` (the board's pty), ``control`` (the board's JSON
control socket, see ``ionto-sim inject``), ``dmm``, ``smu``, ``lcr``,
``decade`` (VISA resource strings for pyvisa-py) and ``bench-control``
(HOST:PORT of the SCPI fault-injection port, also ``IONTO_BENCH_CONTROL``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Sequence

from ..control import parse_address
from .bench import INSTRUMENTS, SimulatedBench
from .control import send_control
from .instrument import FAULTS


def _load(text: str) -> float | None:
    if text.strip().lower() == "skin":
        return None
    value = float(text)
    if not 0 <= value <= 99_999_999.9:
        raise argparse.ArgumentTypeError("decade range is 0..99999999.9 ohm")
    return value


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ionto-bench-sim run", description="simulated calibration bench")
    parser.add_argument("--load-ohms", type=_load, default=1000.0,
                        help="decade resistor's initial value, or 'skin' to keep the skin load (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="seed for all measurement noise")
    parser.add_argument("--base-port", type=int, default=0, help="first TCP port (N..N+4); 0: chosen by the OS")
    parser.add_argument("--board-control-port", type=int, default=0, help="board simulator control port")
    parser.add_argument("--link-dir", default=None, help="folder for the board's stable port symlink")
    return parser


def _inject_parser(action: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"ionto-bench-sim {action}")
    parser.add_argument("instrument", choices=INSTRUMENTS)
    if action == "fault":
        parser.add_argument("fault", choices=FAULTS)
    else:
        parser.add_argument("code", type=int)
        parser.add_argument("text")
    parser.add_argument("--control", default=os.environ.get("IONTO_BENCH_CONTROL"),
                        help="HOST:PORT printed as bench-control by 'run' (or IONTO_BENCH_CONTROL)")
    return parser


def _run(args: argparse.Namespace) -> int:
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        bench = SimulatedBench(load_ohms=args.load_ohms, seed=args.seed, base_port=args.base_port,
                               board_control_port=args.board_control_port, link_dir=args.link_dir)
    except OSError as exc:
        print(f"ionto-bench-sim: cannot open a port: {exc}", file=sys.stderr)
        return 1
    with bench:
        assert bench.board is not None
        host, port = bench.board.control_address
        print(f"port: {bench.board.port}", flush=True)
        print(f"control: {host}:{port}", flush=True)
        for name, resource in bench.resources.items():
            print(f"{name}: {resource}", flush=True)
        print("bench-control: {}:{}".format(*bench.control_address), flush=True)
        while not done.wait(0.5):
            pass
    return 0


def _inject(action: str, args: argparse.Namespace) -> int:
    if not args.control:
        print("ionto-bench-sim: give --control HOST:PORT (printed as bench-control by 'run')", file=sys.stderr)
        return 2
    line = (f"SIM:FAULT {args.instrument},{args.fault}" if action == "fault"
            else f'SIM:ERROR {args.instrument},{args.code},"{args.text}"')
    try:
        send_control(parse_address(args.control), line)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"ionto-bench-sim: {exc}", file=sys.stderr)
        return 1
    print("ok")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    action = argv[0] if argv and argv[0] in ("run", "fault", "error") else "run"
    rest = argv[1:] if argv and argv[0] == action else argv
    if action == "run":
        return _run(_run_parser().parse_args(rest))
    return _inject(action, _inject_parser(action).parse_args(rest))


if __name__ == "__main__":
    sys.exit(main())
