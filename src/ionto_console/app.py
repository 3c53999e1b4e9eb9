"""Composition root: reads settings, builds the station, the simulator and the window.

This is the only module that knows both the transports (serial ports, the
simulated bench) and the UI. With no board port configured the console starts
the board simulator in-process and connects to it, so it runs on any machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .control.station import Station
from .control.treatment_desk import TreatmentDesk
from .core.protocols import load_library
from .records import Database, RecordsError, open_database, recover_interrupted
from .drivers.board.ports import discover_ports
from .settings import Settings

log = logging.getLogger(__name__)

SIMULATOR_KEY = "sim"


class BoardSources:
    """Port choices for the connection panel, and connecting to one of them."""

    def __init__(self, station: Station, settings: Settings) -> None:
        self._station = station
        self._settings = settings
        self._simulator = None  # SimulatorProcess, started on first use

    def choices(self) -> list[tuple[str, str]]:
        found = [(p.device, f"{p.device} — {p.description}") for p in discover_ports()]
        configured = self._settings.board_port
        if configured and configured not in {key for key, _ in found}:
            found.insert(0, (configured, f"{configured} (configured)"))
        simulator = [(SIMULATOR_KEY, "Simulated board (no hardware)")]
        return found + simulator if configured else simulator + found

    def connect(self, key: str) -> None:
        port = self._simulator_port() if key == SIMULATOR_KEY else key
        self._station.connect(port)

    def default_key(self) -> str:
        return self._settings.board_port or SIMULATOR_KEY

    @property
    def station(self) -> Station:
        return self._station

    @property
    def simulator(self):
        return self._simulator

    def _simulator_port(self) -> str:
        if self._simulator is None:
            from .drivers.sim.process import SimulatorProcess

            self._simulator = SimulatorProcess(load=self._settings.sim_load)
            self._simulator.start()
            log.info("simulated board on %s, fault control on %s", self._simulator.port,
                     self._simulator.control_address)
        return self._simulator.port

    def shutdown(self) -> None:
        self._station.disconnect()
        if self._simulator is not None:
            self._simulator.stop()
            self._simulator = None


def open_records(url: str | None) -> tuple[Database | None, str]:
    """Open the records database and close sessions a crash left running.

    Returns (db, "") or (None, why): the console still starts, shows why and
    refuses treatments, rather than treating unrecorded."""
    try:
        db = open_database(url)
        recovered = recover_interrupted(db)
    except RecordsError as exc:
        log.error("records unavailable: %s", exc)
        return None, str(exc)
    if recovered:
        log.warning("sessions %s were interrupted by a crash or power loss; kept and marked interrupted", recovered)
    return db, ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ionto-console", description=__doc__)
    parser.add_argument("--port", dest="board_port", help="board serial port or URL (default: simulated board)")
    parser.add_argument("--database", dest="database_url", metavar="URL",
                        help="records database (SQLAlchemy URL; default: SQLite in the user data folder)")
    parser.add_argument("--sim-load", metavar="LOAD", help="simulated load: skin (default), tray, resistor:OHMS")
    parser.add_argument("--screenshot", metavar="PNG", help="save a picture of the window after --quit-after seconds")
    parser.add_argument("--quit-after", type=float, metavar="S", help="close the console after S seconds")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        settings = Settings.from_sources(
            {"board_port": args.board_port, "sim_load": args.sim_load, "database_url": args.database_url}
        )
    except ValueError as exc:
        print(f"ionto-console: invalid setting: {exc}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    db, db_problem = open_records(settings.database_url)
    station = Station()
    sources = BoardSources(station, settings)
    desk = TreatmentDesk(station, calibration_interval_days=settings.calibration_interval_days, db=db,
                         db_problem=db_problem, station_name=settings.station_name)
    window = MainWindow(station, sources, desk, load_library(),
                        calibration_interval_days=settings.calibration_interval_days)
    window.resize(1200, 800)
    window.show()
    sources.connect(sources.default_key())
    window.refresh_ports()
    log.info("console ready in %.2f s", time.perf_counter() - started)

    if args.quit_after is not None:
        def finish() -> None:
            if args.screenshot:
                window.grab().save(args.screenshot)
            app.quit()

        QTimer.singleShot(int(args.quit_after * 1000), finish)
    try:
        return app.exec()
    finally:
        desk.shutdown()
        sources.shutdown()
