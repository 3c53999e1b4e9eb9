"""Calibration and verification from the command line (production line, scripted bench work).

    python -m ionto_console.calibration_cli calibrate|verify --user NAME [--password-file FILE]
        (--sim | --board URL --dmm VISA --load VISA [--lcr VISA])
        [--pdf out.pdf] [--json out.json] [--tray] [--currents-ma 0.1,1,4] [--loads-ohm 1000,3300]
        [--interval-days 365] [--visa-backend @py] [--visa-timeout-ms 2000]

``--sim`` starts the whole simulated bench (board on a pty, DMM, decade and
LCR on TCP) in this process and runs against it. Its result is marked
simulated (the certificate says SIMULATED), and ``--sim`` works in the demo's
world only, as the console's ``--demo`` does: the engineer signs in against
the demo database (``demo_database_url``: ``./.demo/records.sqlite3`` when
``scripts/console.sh``'s ``.demo`` folder is here, else the demo's own file in the user data
folder; created and given the public demo accounts, ``engineer``/``engineer``,
on first use) and the result is kept there. A clinic's records are never
opened: ``IONTO_DATABASE_URL`` is not read, and ``--database`` is taken only
when it is a demo database (a clinic's is refused, untouched). Exit code: 0
pass, 1 fail (the run completed and the board is out of tolerance), 2 error
(the run could not complete, or bad arguments). Ctrl-C cancels: output off,
nothing written.

The engineer signs in (``cli_sign_in``: ``--user`` with a private
``--password-file`` or a prompt; an engineer or administrator account): the
signed-in account's full name goes on the certificate and the record, and the
audit entry names the account. ``--engineer NAME`` no longer names anyone: it
is refused (audited), since a typed name proves nothing (issue 13). The
certificate's interval (``--interval-days``) may be shortened by the clinic's
``calibration_interval_days`` setting, never lengthened.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
from pathlib import Path
from typing import Callable, Iterator, Sequence, TextIO

from pydantic import ValidationError

from .core.numbers import signed
from .accounts import AccountError, User, audit_refusal, can_calibrate
from .cli_sign_in import add_sign_in_arguments, sign_in_from_cli

from .control.calibration import (BenchSpec, CalibrationRunner, FitReady, Identified, PhaseChanged, PointMeasured,
                                  RunEvent, RunFinished, RunnerSettings, records_audit_head,
                                  store_calibration_result)
from .core.calibration import SIMULATED_WARNING, CalibrationResult, Mode, SweepPlan, Verdict, headlines

EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.ERROR: 2}
#: Where ``scripts/console.sh`` keeps the demo's records, relative to the clone the README's commands run in.
CONSOLE_SH_DEMO = Path(".demo") / "records.sqlite3"


def demo_database_url(cwd: Path | None = None) -> str:
    """The demo database ``--sim`` signs in against and stores into: ``scripts/console.sh``'s
    (``./.demo/records.sqlite3``) when this folder has its ``.demo`` folder, else demo mode's own file
    (``default_demo_url``).

    WHY not the clinic's default: a new user following the README had no account there ("Wrong user
    name or password" on a fresh data folder), and a simulated result must never reach a clinic."""
    from .records import sqlite_url
    from .records.demo import default_demo_url

    here = (cwd or Path.cwd()) / CONSOLE_SH_DEMO
    return sqlite_url(here.resolve()) if here.parent.is_dir() else default_demo_url()


def records_url(args: argparse.Namespace) -> str | None:
    """The records database of this run: the demo's for ``--sim``, else ``--database``/IONTO_DATABASE_URL
    (None: the console's default file)."""
    if args.sim:
        return args.database or demo_database_url()
    return args.database or os.environ.get("IONTO_DATABASE_URL")


def _floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one number")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ionto-cal", description="Calibrate or verify an IONTO-1 board's "
                                     "current measurement against a DMM in series and a decade resistor.")
    parser.add_argument("mode", choices=[m.value for m in Mode])
    add_sign_in_arguments(parser, "an engineer or administrator")
    parser.add_argument("--engineer", help=argparse.SUPPRESS)  # refused: the signed-in account is the author
    parser.add_argument("--sim", action="store_true", help="start and use the simulated bench")
    parser.add_argument("--board", help="board serial port or pyserial URL")
    parser.add_argument("--dmm", help="VISA resource of the DMM in series (Keysight 34461A/65A)")
    parser.add_argument("--load", help="VISA resource of the decade resistor (PRS-200)")
    parser.add_argument("--lcr", help="VISA resource of an LCR meter (E4980A) for the impedance reference")
    parser.add_argument("--pdf", type=Path, help="write the certificate here")
    parser.add_argument("--json", type=Path, help="write the full result (every point) here")
    parser.add_argument("--tray", action="store_true", help="sweep up to 20 mA (tap-water tray boards)")
    parser.add_argument("--currents-ma", type=_floats, help="sweep currents in mA, e.g. 0.1,0.5,1,2,3,4")
    parser.add_argument("--loads-ohm", type=_floats, help="loads in ohm, e.g. 1000,3300")
    parser.add_argument("--samples", type=int, default=20, help="board telemetry samples per point")
    parser.add_argument("--interval-days", type=int, default=365, help="calibration interval (due date)")
    parser.add_argument("--visa-backend", default="@py", help="pyvisa backend (@py, @ivi, file.yaml@sim)")
    parser.add_argument("--visa-timeout-ms", type=int, default=2000)
    parser.add_argument("--database",
                        help="records database to sign in against and store the result in (default: "
                             "IONTO_DATABASE_URL, else the console's SQLite file; with --sim: the demo database, "
                             "./.demo/records.sqlite3 if it is here, and only ever a demo database)")
    parser.add_argument("--no-record", action="store_true", help="do not store the result in the records")
    return parser


def plan_from_args(args: argparse.Namespace) -> SweepPlan:
    overrides: dict[str, object] = {"board_samples": args.samples}
    if args.currents_ma:
        overrides["currents_ua"] = tuple(round(c * 1000) for c in args.currents_ma)
    if args.loads_ohm:
        overrides["loads_ohm"] = args.loads_ohm
    return SweepPlan.standard(tray=args.tray, **overrides)


class _Printer:
    """Progress lines for a terminal or a production-line log."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: RunEvent) -> None:
        if isinstance(event, Identified):
            self.line(f"board {event.board_serial} firmware {event.board_firmware}, constants gain "
                      f"{event.constants.gain:.6f} offset {signed(event.constants.offset_ua, 2)} µA")
            for role, idn in event.instruments.items():
                self.line(f"{role}: {idn}")
        elif isinstance(event, PhaseChanged):
            self.line(f"== {event.text}")
        elif isinstance(event, PointMeasured):
            p = event.point
            self.line(f"{event.sweep:>9} {event.index:2d}/{event.total}  {p.load_ohm:7g} ohm  {p.set_ua / 1000:6.3f} mA"
                      f"  DMM {p.dmm_ua / 1000:8.4f} mA  board {p.board_ua / 1000:8.4f} mA  error "
                      f"{p.error_ua:+7.1f} µA (±{p.allowed_ua:.1f})  {'pass' if p.passed else 'FAIL'}")
        elif isinstance(event, FitReady):
            self.line(f"fit: gain {event.new.gain:.6f} offset {signed(event.new.offset_ua, 2)} µA "
                      f"(residual rms {event.fit.residual_rms_ua:.2f} µA)")
        elif isinstance(event, RunFinished):
            pass

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def summary(result: CalibrationResult) -> list[str]:
    """The run's end in the certificate's words: SIMULATED first when it was, the as-found and as-left
    verdicts apart (``core.calibration.headlines``), then RESULT (the exit code's verdict)."""
    lines = [SIMULATED_WARNING] if result.simulated else []
    found_and_left = headlines(result)
    if len(found_and_left) > 1:
        lines += [f"{line.text}: {line.why}" for line in found_and_left]
    lines.append(f"RESULT: {result.verdict.value.upper()}: {result.reason}")
    before = result.max_abs_error_ua(result.as_found)
    after = result.max_abs_error_ua(result.as_left)
    if before is not None:
        lines.append(f"largest error {'as found' if result.mode is Mode.CALIBRATE else 'measured'}: {before:.1f} µA")
    if after is not None:
        lines.append(f"largest error as left: {after:.1f} µA")
    if result.written and result.new_constants is not None:
        lines.append(f"written: gain {result.new_constants.gain:.6f}, offset {signed(result.new_constants.offset_ua, 2)} µA")
    if result.due_date is not None:
        lines.append(f"next due: {result.due_date.isoformat()}")
    return lines


@contextlib.contextmanager
def _bench(args: argparse.Namespace, plan: SweepPlan) -> Iterator[BenchSpec]:
    if not args.sim:
        yield BenchSpec(args.board, args.dmm, args.load, args.lcr, visa_backend=args.visa_backend,
                        visa_timeout_ms=args.visa_timeout_ms)
        return
    from ionto_sim.scpi import SimulatedBench  # only the --sim path needs the simulator

    with SimulatedBench(load_ohms=plan.loads_ohm[0]) as bench:
        assert bench.board is not None
        yield BenchSpec(bench.board.port, bench.resources["dmm"], bench.resources["decade"],
                        bench.resources["lcr"] if args.lcr is None else args.lcr,
                        visa_timeout_ms=args.visa_timeout_ms)


def run(args: argparse.Namespace, engineer: User, interval_days: int, out: TextIO | None = None) -> int:
    """One run by the signed-in ``engineer``; the certificate names the account's printed full name."""
    plan = plan_from_args(args)
    printer = _Printer(out if out is not None else sys.stdout)
    with _bench(args, plan) as spec:
        settings = RunnerSettings(plan=plan, interval_days=interval_days, simulated=args.sim)
        runner = CalibrationRunner(spec.connect, settings,
                                   on_event=printer, board_url=spec.board_url)
        runner.start(Mode(args.mode), engineer.display_name)
        try:
            while runner.busy:
                runner.wait(0.2)
        except KeyboardInterrupt:
            runner.cancel("interrupted from the keyboard (Ctrl-C)")
            runner.wait()
    result = runner.result
    if result is None:
        print("ionto-cal: the run ended without a result (see the log)", file=sys.stderr)
        return 2
    for text in summary(result):
        printer.line(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(result.model_dump_json(indent=2), encoding="utf-8")
        printer.line(f"record: {args.json}")
    # Stored first, so the certificate can print the audit head that covers this result.
    database = records_url(args)
    stored = None if args.no_record else store_calibration_result(result, database, who=engineer.username)
    if args.pdf:
        from .reports.calibration_certificate import write_certificate

        write_certificate(result, args.pdf, audit_head=records_audit_head(database) if stored else "")
        printer.line(f"certificate: {args.pdf}")
    if stored is not None:
        printer.line(f"records: {stored} ({database})" if args.sim else f"records: {stored}")
    return EXIT_CODES[result.verdict]




def main(argv: Sequence[str] | None = None, ask: Callable[[str], str] = getpass.getpass) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sim and (args.board or args.dmm or args.load):
        parser.error("--sim starts its own bench: leave out --board, --dmm and --load")
    if not args.sim and not (args.board and args.dmm and args.load):
        parser.error("give --board, --dmm and --load (or --sim)")
    if args.interval_days < 1:
        parser.error("--interval-days must be at least 1")
    try:
        plan_from_args(args)
    except ValidationError as exc:
        parser.error("; ".join(err["msg"] for err in exc.errors()))
    signed_in = sign_in_engineer(args, ask)
    if signed_in is None:
        return 2
    engineer, interval_days = signed_in
    try:
        return run(args, engineer, interval_days)
    except Exception as exc:  # exit code 1 means "board failed": a crash must not look like that
        print(f"ionto-cal: error: {exc}", file=sys.stderr)
        return 2


def open_demo_database(url: str):
    """``--sim``'s records: the demo database at ``url``, created and marked if new, with the demo accounts.

    The console's own demo checks (``records.demo.claim_for_demo``): a clinic's database, or any
    unmarked one demo mode did not create, is refused (``RecordsUnavailable``) and left as it was."""
    from .accounts import ensure_demo_users
    from .records import open_database
    from .records.demo import claim_for_demo, will_create

    created = will_create(url)  # asked before the open creates it: only then is it the demo's own
    db = open_database(url)
    try:
        claim_for_demo(db, created=created)
        ensure_demo_users(db)
    except BaseException:
        db.close()
        raise
    print(f"ionto-cal: --sim: the demo's records ({url}); demo account engineer, password engineer",
          file=sys.stderr)
    return db


ENGINEER_REFUSED = ("--engineer no longer names the author of a calibration: sign in with --user (and "
                    "--password-file or the prompt); the signed-in account signs the certificate and the record.")


def sign_in_engineer(args: argparse.Namespace, ask: Callable[[str], str]) -> tuple[User, int] | None:
    """(the signed-in engineer, the certificate's interval in days), or None after saying why (and auditing)."""
    from .records import RecordsError, open_database
    from .records.clinic_settings import load_clinic_settings

    url = records_url(args)
    try:
        db = open_demo_database(url) if args.sim else open_database(url)
    except (RecordsError, AccountError) as exc:
        why = ("--sim works only with the demo's records" if args.sim
               else "nobody can sign in while the records are unavailable")
        print(f"ionto-cal: refused: {why}: {exc}", file=sys.stderr)
        return None
    try:
        if args.engineer is not None:
            audit_refusal(db, who=args.user, what="ionto-cal --engineer", why=ENGINEER_REFUSED)
            print(f"ionto-cal: refused: {ENGINEER_REFUSED}", file=sys.stderr)
            return None
        engineer = sign_in_from_cli(db, args.user, args.password_file, ask, program="ionto-cal",
                                    allowed=can_calibrate, role_words="an engineer or administrator")
        clinic_days = load_clinic_settings(db).calibration_interval_days
    except (AccountError, RecordsError) as exc:
        print(f"ionto-cal: refused: {exc}", file=sys.stderr)
        return None
    finally:
        db.close()
    if args.interval_days > clinic_days:
        print(f"ionto-cal: the clinic's calibration interval is {clinic_days} days: the certificate uses it "
              f"(not {args.interval_days})", file=sys.stderr)
    return engineer, min(args.interval_days, clinic_days)


if __name__ == "__main__":
    sys.exit(main())
