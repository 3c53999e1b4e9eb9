"""``ionto-sim``: run the board simulator on a pty, or inject a fault into a running one.

    ionto-sim run [--load skin|tray|resistor:OHMS] [--serial SIM-00001] [--seed N]
                  [--link-dir DIR] [--control-port N] [--tcp [PORT]] [--bench]
    ionto-sim inject COMMAND [ARGS...] [--control HOST:PORT]

``run`` prints ``port: <path>`` (with ``--tcp``: ``port: socket://127.0.0.1:PORT``,
for hosts without pseudo-terminals) and ``control: <host>:<port>`` (one per line,
flushed, so scripts and tests can read them) and runs until Ctrl-C or SIGTERM.
With ``--bench`` it first prints ``dmm:``, ``smu:``, ``lcr:`` and ``decade:`` lines, the
VISA resources of simulated bench instruments that measure this board (the demo
console's Calibration tab offers them).
``inject`` takes the control address from ``--control`` or ``IONTO_SIM_CONTROL``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from typing import Iterator, Sequence

from ionto_console.core.simulator_identity import SIMULATOR_SERIAL_PREFIX, is_simulator_serial

from .control import COMMANDS, ControlError, parse_address, send_command
from .model import load_from_spec
from .pty_server import SimulatedBoardServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ionto-sim", description="IONTO-1 board simulator")
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="run the simulated board on a pseudo-terminal")
    run.add_argument("--load", default="skin", help="skin, tray or resistor:OHMS (default: skin)")
    run.add_argument("--serial", default="SIM-00001", help="serial number reported in IDENT (starts with SIM-)")
    run.add_argument("--seed", type=int, default=None, help="seed for measurement noise")
    run.add_argument("--link-dir", default=None, help="folder for the stable port symlink")
    run.add_argument("--control-port", type=int, default=0, help="TCP port of the control socket (0: any)")
    run.add_argument("--tcp", type=int, nargs="?", const=0, default=None, metavar="PORT",
                     help="serve the board over TCP on 127.0.0.1 instead of a pty (PORT omitted: any)")
    run.add_argument("--bench", action="store_true",
                     help="also the calibration bench's simulated instruments (DMM, SMU, LCR, decade) on TCP, "
                          "measuring this board's output")
    inject = sub.add_parser("inject", help="send a fault-injection command to a running simulator")
    inject.add_argument("command", choices=sorted(COMMANDS), help="what to do")
    inject.add_argument("args", nargs="*", help="the command's arguments, in order")
    inject.add_argument("--control", default=os.environ.get("IONTO_SIM_CONTROL"),
                        help="HOST:PORT printed by 'ionto-sim run' (or IONTO_SIM_CONTROL)")
    return parser


def _run(args: argparse.Namespace) -> int:
    try:
        load = load_from_spec(args.load)
        if len(args.serial.encode("ascii")) > 16:
            raise ValueError("serial number: at most 16 ASCII characters")
        if not is_simulator_serial(args.serial):
            raise ValueError(f"serial number: the simulator's starts with {SIMULATOR_SERIAL_PREFIX!r} "
                             "(a clinical console refuses it by that)")
    except (ValueError, UnicodeEncodeError) as exc:
        print(f"ionto-sim: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with SimulatedBoardServer(load=load, serial_number=args.serial, seed=args.seed,
                              link_dir=args.link_dir, control_port=args.control_port, tcp_port=args.tcp) as srv, \
            _instruments(srv, args.bench):
        host, port = srv.control_address
        print(f"port: {srv.port}", flush=True)
        print(f"control: {host}:{port}", flush=True)
        while not done.wait(0.5):
            pass
    return 0


@contextlib.contextmanager
def _instruments(srv: SimulatedBoardServer, wanted: bool) -> Iterator[None]:
    """``--bench``: the SCPI instruments on this board's own model (the DMM reads the current this board
    drives; the decade, once set, becomes its load), printed as ``dmm: <VISA resource>`` lines BEFORE
    ``port``/``control`` (a reader that stops at those two has read them). WHY in this process: the demo
    console's Calibration tab then calibrates the very board the console is connected to."""
    if not wanted:
        yield
        return
    from .scpi import SimulatedBench

    with SimulatedBench(srv, load_ohms=None) as bench:  # None: the board keeps its load until the decade is set
        for name, resource in bench.resources.items():
            print(f"{name}: {resource}", flush=True)
        yield


def _inject(args: argparse.Namespace) -> int:
    if not args.control:
        print("ionto-sim: give --control HOST:PORT (printed by 'ionto-sim run')", file=sys.stderr)
        return 2
    spec = COMMANDS[args.command]
    if len(args.args) != len(spec):
        names = " ".join(name.upper() for name, _ in spec) or "no arguments"
        print(f"ionto-sim: {args.command} takes {names}", file=sys.stderr)
        return 2
    try:
        reply = send_command(parse_address(args.control), args.command,
                             **{name: value for (name, _), value in zip(spec, args.args)})
    except (ControlError, ValueError) as exc:
        print(f"ionto-sim: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(reply, indent=2) if args.command == "status" else "ok")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _run(args) if args.action == "run" else _inject(args)


if __name__ == "__main__":
    sys.exit(main())
