"""Helpers for the calibration tests (own module name, so no clash with other test folders' helpers)."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import inspect

from ionto_console.control.calibration import BenchSpec, CalibrationRunner, RunEvent, RunnerSettings
from ionto_console.core.calibration import SweepPlan
from ionto_console.drivers.board.link import BoardLink, LinkState
from ionto_console.drivers.board.messages import Ident
from ionto_console.records import PatientData, create_patient, open_database, record_calibration
from ionto_sim.scpi import SimulatedBench

#: A short sweep: enough points for the fit and the rules, quick on a loaded machine. The board
#: simulator runs in the test process: a VM stall longer than the watchdog would trip it, so the
#: longest watchdog the ICD allows is used here (a real board runs on its own clock).
QUICK_PLAN = SweepPlan(currents_ua=(100, 1_000, 2_000, 4_000), loads_ohm=(1_000.0, 2_200.0), board_samples=10,
                       dmm_readings=3, settle_samples=2, watchdog_ms=2_000)


def spec_for(bench: SimulatedBench, lcr: bool = True, visa_timeout_ms: int = 2000) -> BenchSpec:
    return BenchSpec(bench.board.port, bench.resources["dmm"], bench.resources["decade"],
                     bench.resources["lcr"] if lcr else None, visa_timeout_ms=visa_timeout_ms)


def make_runner(bench: SimulatedBench, on_event: Callable[[RunEvent], None] | None = None,
                plan: SweepPlan = QUICK_PLAN, **spec_kwargs) -> CalibrationRunner:
    spec = spec_for(bench, **spec_kwargs)
    return CalibrationRunner(spec.connect, RunnerSettings(plan=plan), on_event=on_event, board_url=spec.board_url)


def read_ident(port: str) -> Ident:
    """The board's IDENT as a fresh console would read it."""
    link = BoardLink(port, reply_timeout_s=2.0)
    try:
        link.open()
        assert link.state is LinkState.CONNECTED, link.reason
        assert link.ident is not None
        return link.ident
    finally:
        link.close()


def output_is_off(bench: SimulatedBench) -> bool:
    with bench.board.lock:
        enabled = bench.board.board.output_enabled
    return not enabled and not bench.model.snapshot().output_enabled


def clinic_database(url: str) -> tuple[int, list[tuple]]:
    """A clinic's records with something in them (a patient, a real board's calibration); returns its state."""
    db = open_database(url)
    try:
        create_patient(db, PatientData("P-0001", "Ann Example"), who="dana")
        record_calibration(db, {"mode": "calibrate", "verdict": "pass", "engineer": "Ravi",
                                "board_serial": "IONTO1-000042", "written": True}, who="Ravi")
        return database_state(db)
    finally:
        db.close()


def database_state(db) -> tuple[dict[str, int], list[tuple]]:
    """Row counts of every table and the whole audit trail (what 'untouched' means)."""
    with db.engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        counts = {t: connection.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in tables}
        audit = [tuple(row) for row in connection.exec_driver_sql("SELECT * FROM audit_log ORDER BY seq")]
    return counts, audit
