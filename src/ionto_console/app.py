"""Composition root: reads settings, builds the station, the simulator and the window.

This is the only module that knows both the transports (serial ports, the
simulated bench) and the UI. Demo and clinic are two worlds: only in demo mode
(``--demo`` or ``IONTO_DEMO=1``, which ``scripts/console.sh`` passes when no
board and no database are configured) does the console offer and start the
board simulator (``ionto_sim``, imported only on that path), open the demo
database (marked as such inside itself) and create the public demo accounts.
A clinical console offers serial ports only and says so when none is configured.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .accounts import (AccountError, User, audit_refusal, autologin, can_calibrate, can_treat, ensure_demo_users,
                       sign_in)
from .cli_sign_in import read_password_file
from .data_folder import UnsafeDataFolder, secure_folder
from .control.station import Station
from .control.treatment_desk import TreatmentDesk
from .core.plan import SessionPlan
from .core.protocols import AgentKind, Protocol, load_custom, load_library
from .records import Database, RecordsError, open_database, recover_interrupted
from .records.database import user_data_folder
from .records.demo import claim_for_demo, default_demo_url, refuse_demo, will_create
from .records.clinic_settings import ClinicSettings, load_clinic_settings
from .drivers.board.ports import discover_ports, usb_selector
from .settings import Settings
from .station_identity import station_id as station_identity

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sim"
SIMULATOR_LABEL = "Simulated board (demo)"
#: The connection panel's one line when a clinical console has no board configured.
NO_BOARD_NOTICE = ("No board is configured: choose the board's serial port and press Connect "
                   "(the simulated board exists only in demo mode, ionto-console --demo).")
#: The connection panel's one line in demo mode.
DEMO_NOTICE = "Demo mode: simulated board, demo records and demo accounts, never a clinic's records."
SIMULATOR_REFUSED = ("The simulated board is not available on a clinical station: start the console with --demo "
                     "for the simulated bench.")


def _port_key(port) -> str:
    """A USB port is offered by its USB identity (found again after a replug renames it)."""
    selector = usb_selector(port)
    return selector.spec if selector is not None and selector.serial_number else port.device


class BoardSources:
    """Port choices for the connection panel, and connecting to one of them.

    WHY the simulator is a demo-mode choice for every role and no choice at all
    otherwise: a therapist on a clinical station must never be able to treat
    "a patient" on a simulated board into the clinic's records, and an engineer
    who needs the simulator gets a whole demo console (its own records) with
    ``--demo``, not a simulator inside a clinic's console."""

    def __init__(self, station: Station, settings: Settings) -> None:
        self._station = station
        self._settings = settings
        self._simulator = None  # ionto_sim.process.SimulatorProcess, started on first use (demo mode only)
        self._refused = ""

    @property
    def demo(self) -> bool:
        return self._settings.demo

    def choices(self) -> list[tuple[str, str]]:
        found = [(_port_key(p), f"{p.device} — {p.description}") for p in discover_ports()]
        configured = self._settings.board_port
        if configured and configured not in {key for key, _ in found}:
            found.insert(0, (configured, f"{configured} (configured)"))
        if not self.demo:
            return found
        simulator = [(SIMULATOR_KEY, SIMULATOR_LABEL)]
        return found + simulator if configured else simulator + found

    def notice(self) -> str:
        """One plain line for the connection panel ("" when there is nothing to say)."""
        if self._refused:
            return self._refused
        if self.demo:
            return DEMO_NOTICE
        return "" if self._settings.board_port else NO_BOARD_NOTICE

    def connect(self, key: str) -> None:
        """Connect the station to a choice; the simulator outside demo mode is refused (said on the panel)."""
        if key == SIMULATOR_KEY and not self.demo:
            log.warning("simulated board refused: not in demo mode")
            self._refused = SIMULATOR_REFUSED
            return
        self._refused = ""
        simulated = key == SIMULATOR_KEY
        port = self._simulator_port() if simulated else key
        # In demo mode every board counts as simulated: the demo's records are never clinical ones.
        self._station.connect(port, simulated=simulated or self.demo)

    def default_key(self) -> str | None:
        """What to connect at start: the configured port, else (demo mode only) the simulator, else nothing."""
        if self._settings.board_port:
            return self._settings.board_port
        return SIMULATOR_KEY if self.demo else None

    @property
    def station(self) -> Station:
        return self._station

    @property
    def simulator(self):
        return self._simulator

    def warm_up(self) -> None:
        """Launch the simulator process now when the console will use it (demo mode, no port set), so its
        start-up overlaps the console's own; ``connect`` then only waits for its port."""
        if self.default_key() == SIMULATOR_KEY and self._simulator is None:
            self._launch_simulator()

    def simulated_instruments(self) -> dict[str, str]:
        """Demo mode: the simulated bench instruments beside the simulated board (role -> VISA resource,
        e.g. ``{"dmm": "TCPIP::127.0.0.1::41069::SOCKET"}``); {} on a clinical console, which never
        starts the simulator and so never offers them."""
        if not self.demo or self._simulator is None:
            return {}
        return dict(self._simulator.instruments)

    def match_simulated_load(self, plan: SessionPlan) -> None:
        """Demo: the simulated patient matches the protocol, so a hyperhidrosis treatment runs to its
        end (on the skin model a tap-water tray tripped at the voltage limit near 3 mA). Only when the
        load was left at its default; a load chosen with --sim-load stays."""
        if self._simulator is None or self._settings.sim_load != "skin":
            return
        load = "tray" if plan.protocol.agent.kind is AgentKind.TAP_WATER else "skin"
        try:
            self._simulator.set_load(load)
        except (OSError, RuntimeError, ValueError) as exc:  # the demo carries on with the load it has
            log.warning("simulated load not switched to %s: %s", load, exc)

    def _launch_simulator(self) -> None:
        assert self.demo, "the simulator is started only in demo mode"
        from ionto_sim.process import SimulatorProcess  # the demo path only: a clinical console never loads it

        # bench=True: the simulated DMM, decade and LCR measure this very board, so an engineer can
        # calibrate it from the demo's Calibration tab without starting anything by hand
        self._simulator = SimulatorProcess(load=self._settings.sim_load, bench=True)
        self._simulator.launch()

    def _simulator_port(self) -> str:
        if self._simulator is None:
            self._launch_simulator()
        if not self._simulator.port:
            self._simulator.wait_ready()
            log.info("simulated board on %s, fault control on %s", self._simulator.port,
                     self._simulator.control_address)
        return self._simulator.port

    def shutdown(self) -> None:
        self._station.disconnect()
        if self._simulator is not None:
            self._simulator.stop()
            self._simulator = None


#: What the operator reads on the window when ``open_records`` closed sessions a crash left running.
RECOVERED_NOTICE = ("The last session on this station (record {ids}) ended without the console: it is kept, "
                    "marked interrupted; the board's watchdog switched its output off.")


def open_records(url: str | None, station: str | None = None, *, demo: bool = False, station_id: str | None = None,
                 data_folder: Path | None = None) -> tuple[Database | None, str, list[int]]:
    """Open the records database, write what the local journal holds into it, and close this
    station's sessions a crash left running.

    Demo mode takes only the demo database (marks an empty one it created itself,
    or one at its own place); a clinical console refuses the demo database (``records.demo``).
    Start-up integrity: a SQLite records file this station has used that is now missing or
    empty is refused (``file_guard``); SQLite's quick check runs on open; a damaged row or chunk
    only marks its session damaged. Journals whose session ended while the database was away are
    replayed and closed with their true reason; the crashes are the returned ids.

    Returns (db, "", recovered ids) or (None, why, []): the console still starts,
    shows why and refuses treatments, rather than treating unrecorded."""
    from .records.database import default_url
    from .records.file_guard import check_records_file, remember_records_file
    from .records.recovery import prune_journals, replay_journals
    from .station_identity import station_id as this_station

    folder = data_folder or user_data_folder()
    url = url or default_url()
    db = None
    created = demo and will_create(url)  # asked before the open creates it: only then is it the demo's own
    try:
        identity = station_id or this_station(folder)
        if not demo:  # a demo's own file holds no clinic's records: a fresh clone makes a new one
            check_records_file(url, folder)
        db = open_database(url, integrity_check=True)
        if demo:
            claim_for_demo(db, created=created)
        else:
            refuse_demo(db)
        if not demo:
            remember_records_file(url, folder)
        replayed = replay_journals(db, folder)
        if replayed:
            log.warning("sessions %s: written from the local journal", replayed)
        recovered = recover_interrupted(db, station=station, station_id=identity)
        prune_journals(db, folder)
    except (RecordsError, OSError, ValueError) as exc:
        log.error("records unavailable: %s", exc)
        if db is not None:
            db.close()
        return None, str(exc), []
    if recovered:
        log.warning("sessions %s were interrupted by a crash or power loss; kept and marked interrupted", recovered)
    return db, "", recovered


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ionto-console", description=__doc__)
    parser.add_argument("--demo", action="store_true", default=None,
                        help="demo mode: the simulated board, the demo database and demo accounts (IONTO_DEMO=1)")
    parser.add_argument("--port", dest="board_port",
                        help="board serial port or URL (default: choose on the panel; demo: the simulated board)")
    parser.add_argument("--database", dest="database_url", metavar="URL",
                        help="records database (SQLAlchemy URL; default: SQLite in the user data folder)")
    parser.add_argument("--sim-load", metavar="LOAD", help="simulated load: skin (default), tray, resistor:OHMS")
    parser.add_argument("--user", metavar="NAME", help="sign in as NAME without the dialog (needs --password-file)")
    parser.add_argument("--password-file", metavar="FILE", type=Path,
                        help="file whose first line is --user's password (for kiosks and automation)")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the window after --quit-after seconds")
    parser.add_argument("--quit-after", type=float, metavar="S", help="close the console after S seconds")
    return parser.parse_args(argv)


def prepare_accounts(db: Database | None, demo: bool) -> None:
    """Demo mode only: make sure the therapist/engineer demo accounts exist (in the demo database)."""
    if db is None or not demo:
        return
    try:
        created = ensure_demo_users(db)
    except (AccountError, RecordsError) as exc:
        log.error("demo accounts not created: %s", exc)
        return
    if created:
        log.warning("demo accounts created (%s) in the demo database", created)


def sign_in_without_dialog(args: argparse.Namespace, db: Database | None, demo: bool = False,
                           station: str = "station-1") -> tuple[User | None, str]:
    """``--user``/``--password-file``, or in demo mode ``IONTO_AUTOLOGIN``: (user, "") or (None, why) if refused.

    (None, "") means: no such option given, ask with the dialog. A password file others can read,
    and a wrong password (audited, slowed down, locked) are refused."""
    if args.user:
        if args.password_file is None:
            return None, "--user needs --password-file"
        if db is None:
            return None, "the records database is unavailable, nobody can sign in"
        try:
            password = read_password_file(args.password_file)
        except AccountError as exc:
            try:
                audit_refusal(db, who=args.user, what="ionto-console --password-file", why=str(exc))
            except RecordsError as records:
                log.error("refusal not audited: %s", records)
            return None, str(exc)
        try:
            user = sign_in(db, args.user, password, station=station)
        except AccountError as exc:
            return None, str(exc)
        except RecordsError as exc:
            return None, f"records unavailable: {exc}"
        if user.must_change_password:
            return None, (f"{user.username} must choose a new password first (an administrator set it): "
                          "sign in once with the dialog")
        return user, ""
    if db is not None:
        try:
            return autologin(db, demo=demo), ""
        except AccountError as exc:
            return None, str(exc)
        except RecordsError as exc:
            log.error("autologin failed: %s", exc)
    return None, ""


def ask_sign_in(db: Database | None, db_problem: str, station: str = "station-1") -> User | None:
    """The sign-in dialog (or first-administrator form); None if the user quits."""
    from .control.sign_in_service import SignInService
    from .ui.sign_in import SignInDialog

    service = SignInService(db, db_problem, station=station)
    dialog = SignInDialog(service)
    try:
        dialog.exec()
    finally:
        service.close()
    return dialog.user


def default_protocols_dir() -> Path:
    """Where a clinic keeps its own protocol files: ``protocols`` beside the records in the user data dir."""
    return user_data_folder() / "protocols"


def load_protocols(folder: Path) -> tuple[list[Protocol], list[str]]:
    """The shipped library, then the clinic's valid custom files; problems of the others, one line each.

    A broken shipped library raises (a build defect); a bad custom file is only left out."""
    library = load_library()
    custom, problems = load_custom(folder, {p.id for p in library}, {p.name for p in library})
    for problem in problems:
        log.warning("custom protocol left out: %s", problem)
    return library + custom, problems


def console_ready(started: float, painted: bool = True) -> None:
    """The first window is on the screen (or was not painted in time): say how long that took,
    then do what could wait."""
    if painted:
        log.info("console ready in %.2f s", time.perf_counter() - started)
    else:
        log.warning("console window not painted %.2f s after launch (minimized or hidden?)",
                    time.perf_counter() - started)
    freeze_start_up_objects()


#: How long a thread may hold the interpreter lock while another waits for it (Python's default: 5 ms).
#: WHY 1 ms: every Qt call from the GUI thread releases the lock, and while the board's reader and the
#: desk's threads run Python the GUI thread then waits a whole interval to get it back, several times
#: per repaint: the GUI thread's longest task measured 1.5-2x its CPU time, and a Stop click waits
#: behind that task (``benchmarks/stop_latency.py``: frame p99 15-22 ms at 5 ms, 10 ms at 1 ms). The
#: controller's thread gets the lock back sooner too. The cost is more switches between busy threads.
GIL_SWITCH_INTERVAL_S = 0.001


def share_the_interpreter() -> None:
    """Set the interpreter lock's switch interval for a console process (see GIL_SWITCH_INTERVAL_S)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def freeze_start_up_objects() -> None:
    """Move everything alive after start-up out of the garbage collector's reach.

    WHY: a full collection holds the GIL while it scans every tracked object;
    with the Qt bindings, pyqtgraph and SQLAlchemy loaded that is long enough to
    delay the link's heartbeat thread toward the board's 250 ms watchdog (a
    nuisance fault mid-treatment). Start-up objects live as long as the
    process anyway, so later collections need only scan what came after.
    The collector was off during start-up (``__main__``); it is on from here."""
    gc.collect()
    gc.freeze()
    gc.enable()


class RecordsAndSignIn(NamedTuple):
    """What the start-up worker found: the records (or why not), recovered sessions, the signed-in user."""

    db: Database | None
    db_problem: str
    recovered: list[int]
    user: User | None
    refused: str
    #: The start-up check of the newest anchored audit head ("" = intact; ``verify.anchored_tail_problem``).
    audit_problem: str = ""


def open_records_and_sign_in(args: argparse.Namespace, settings: Settings) -> RecordsAndSignIn:
    """Open the records, recover crashed sessions, prepare demo accounts and sign in without a dialog.

    Runs on a worker thread at start-up (no Qt here): the database work and the
    password-hash check (argon2 computes outside the interpreter lock) overlap
    the main thread's loading of Qt and the plots."""
    url = settings.database_url or (default_demo_url() if settings.demo else None)
    db, db_problem, recovered = open_records(url, settings.station_name, demo=settings.demo)
    prepare_accounts(db, settings.demo)
    user, refused = sign_in_without_dialog(args, db, settings.demo, settings.station_name)
    return RecordsAndSignIn(db, db_problem, recovered, user, refused, audit_tail_problem(db))


def audit_tail_problem(db: Database | None) -> str:
    """The start-up check of the audit trail's newest anchored entry, in words ("" = intact);
    logged as an error when it fails. Never stops the start: treatments are still recorded."""
    if db is None:
        return ""
    from .records.verify import anchored_tail_problem

    try:
        problem = anchored_tail_problem(db)
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is said, never a crash at start-up
        problem = f"Records check at start-up could not run ({exc}): run \"Verify audit trail\" in the Records tab."
    if problem:
        log.error("%s", problem)
    return problem


def main(argv: list[str] | None = None, *, launched: float | None = None) -> int:
    """Start the console; ``launched`` is the ``perf_counter`` at the process's first line (for the ready log)."""
    started = time.perf_counter() if launched is None else launched
    share_the_interpreter()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        settings = Settings.from_sources(
            {"demo": args.demo, "board_port": args.board_port, "sim_load": args.sim_load,
             "database_url": args.database_url}
        )
    except ValueError as exc:
        print(f"ionto-console: invalid setting: {exc}", file=sys.stderr)
        return 2
    try:
        secure_folder(user_data_folder())
    except (UnsafeDataFolder, OSError) as exc:
        print(f"ionto-console: not started: {exc}", file=sys.stderr)
        return 2
    station = Station()
    sources = BoardSources(station, settings)
    sources.warm_up()  # demo mode: the simulator process boots while Qt loads and the user signs in
    try:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="start-up")
        records = pool.submit(open_records_and_sign_in, args, settings)
        pool.shutdown(wait=False)  # the one job still runs; its thread ends with it, not with the console
        return run_console(args, settings, station, sources, started, records)
    finally:
        sources.shutdown()
        gc.enable()  # if the console ended before its window was up (see __main__)


def run_console(args: argparse.Namespace, settings: Settings, station: Station, sources: BoardSources,
                started: float, records: Future[RecordsAndSignIn]) -> int:
    """Sign-in (the dialog if the worker could not sign in), then the window for each signed-in user
    until nobody signs in again."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .ui.deferred_page import DeferredPage
    from .ui.first_paint import when_first_painted
    from .ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    db, db_problem, recovered, user, refused, audit_problem = records.result()
    if refused:
        print(f"ionto-console: not signed in: {refused}", file=sys.stderr)
        return 2
    if user is None:
        gc.enable()  # start-up is over while a person types: the collector need not wait for the window
        user = ask_sign_in(db, db_problem, settings.station_name)
        if user is None:
            return 0
    log.info("signed in: %s (%s)", user.username, user.role.value)

    protocols, protocol_problems = load_protocols(settings.protocols_dir or default_protocols_dir())
    clinic = clinic_settings_or_defaults(db)
    interval_days, interval_notice = calibration_interval(settings, db, who=user.username, clinic_settings=clinic)
    idle_lock_s = clinic.idle_lock_minutes * 60.0
    cosign = clinic.override_cosignature
    first = True
    while user is not None:
        desk = TreatmentDesk(station, calibration_interval_days=interval_days, db=db,
                             db_problem=db_problem, station_name=settings.station_name, demo=settings.demo,
                             station_id=station_identity() if db is not None else None,
                             data_folder=user_data_folder(),
                             prepare_board=sources.match_simulated_load,
                             operator=lambda name=user.display_name: name, signer=lambda u=user: u,
                             override_cosignature=cosign)
        window = MainWindow(station, sources, desk, protocols, user=user,
                            calibration_interval_days=interval_days,
                            calibration_ports=[p.device for p in discover_ports()] if can_calibrate(user.role) else [],
                            idle_lock_s=idle_lock_s, station_name=settings.station_name)
        if can_treat(user.role):  # patient records are for the people who treat
            window.add_page(DeferredPage(lambda: records_browser(db, settings.export_dir)), "Records")
        notices = [RECOVERED_NOTICE.format(ids=", ".join(map(str, recovered)))] if recovered and first else []
        if audit_problem and first:
            notices.insert(0, audit_problem)
        if interval_notice:
            notices.append(interval_notice)
        if protocol_problems:
            notices.append(f"{len(protocol_problems)} custom protocol file(s) left out: "
                           + "; ".join(protocol_problems))
        if notices:
            window.statusBar().showMessage("  ·  ".join(notices))  # stays until the next message
        signed_out: list[bool] = []
        window.sign_out_requested.connect(lambda w=window, flag=signed_out: (flag.append(True), w.close()))
        window.show_fitted()
        if first:
            first = False
            key = sources.default_key()
            if key is not None:  # a clinical console with no port configured waits for a choice
                sources.connect(key)
            when_first_painted(window, lambda painted: console_ready(started, painted))
            if args.quit_after is not None:
                QTimer.singleShot(int(args.quit_after * 1000), lambda w=window: _finish(app, w, args.screenshot))
        try:
            code = app.exec()
        finally:
            desk.shutdown()
        window.deleteLater()
        if not signed_out:
            return code
        log.info("signed out: %s", user.username)
        user = ask_sign_in(db, db_problem, settings.station_name)
    return 0


def clinic_settings_or_defaults(db: Database | None) -> ClinicSettings:
    """The clinic's settings, read once at start-up (the defaults when records are down: no treatment
    starts then anyway). WHY one read: the idle lock, the co-signature rule and the calibration interval
    each read the whole settings table before the window existed."""
    if db is not None:
        try:
            return load_clinic_settings(db)
        except RecordsError as exc:
            log.error("clinic settings unavailable, using the defaults: %s", exc)
    return ClinicSettings()


def calibration_interval(settings: Settings, db: Database | None, who: str = "",
                         clinic_settings: ClinicSettings | None = None) -> tuple[int, str]:
    """The interval that may shorten a board's certificate: the clinic's setting (records), or the station's
    ``IONTO_CALIBRATION_INTERVAL_DAYS`` when shorter; neither ever lengthens it (``core.calibration.lapse_date``).

    Returns (days, notice): a longer station setting is refused in plain words (the window shows the
    notice) and the refusal is audited with who started the console (issue 13: a setting that would
    weaken safety is refused, not silently taken)."""
    clinic = (clinic_settings or clinic_settings_or_defaults(db)).calibration_interval_days
    if settings.calibration_interval_days <= clinic:
        return settings.calibration_interval_days, ""
    notice = (f"IONTO_CALIBRATION_INTERVAL_DAYS={settings.calibration_interval_days} is refused: a station setting "
              f"cannot lengthen the clinic's calibration interval ({clinic} days).")
    log.warning("%s", notice)
    if db is not None:
        try:
            audit_refusal(db, who=who, what=f"IONTO_CALIBRATION_INTERVAL_DAYS={settings.calibration_interval_days}",
                          why=notice)
        except RecordsError as exc:
            log.error("the refused setting could not be audited: %s", exc)
    return clinic, notice


def records_browser(db: Database | None, export_dir: Path | None = None) -> QWidget:
    """The Records tab's content, imported and built when the tab is first opened (not at start-up).

    Its queries and exports run on the records service's own worker thread; its save dialogs open in
    ``export_dir`` (the clinic's export folder) when one is configured."""
    from .control.records_service import RecordsService
    from .ui.records_browser import RecordsBrowser

    return RecordsBrowser(RecordsService(db, export_folder=export_dir))


def _finish(app: object, window: object, screenshot: str | None) -> None:
    """--quit-after: save the picture if asked, then quit."""
    if screenshot:
        window.grab().save(screenshot)  # type: ignore[attr-defined]
    app.quit()  # type: ignore[attr-defined]
