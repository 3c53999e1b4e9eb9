"""The fault-drill bench: a recorded treatment on the station's real pieces, and what a drill checks.

WHY a bench of its own: a drill must exercise the whole chain a clinic runs
(board simulator on a pty -> BoardLink -> Station -> TreatmentDesk ->
TreatmentController -> SessionRecorder -> SQLite), then judge the outcome on
the evidence that matters: what the board's output did (telemetry and the
simulator's own state), what the stored record says, and what the therapist
is shown. Log text is never evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ionto_console.control.session_recorder import SessionRecorder
from ionto_console.control.station import Station
from ionto_console.control.treatment import TreatmentController
from ionto_console.control.treatment_desk import SessionPlan, TreatmentDesk
from ionto_console.core.protocols import Protocol
from ionto_console.drivers.board.link import LinkState
from ionto_sim.pty_server import SimulatedBoardServer
from ionto_console.records import Database, load_events, load_samples, load_session, verify_audit
from ionto_console.records.queries import SessionSummary
from ionto_console.records.samples import SampleSeries
from support import small_protocol, wait_for

#: Generous deadlines: the machine is shared and loaded; a drill only waits as long as it must.
DEADLINE_S = 10.0
#: Current the drills treat at before injecting a fault (mA): the protocol's start is 1.0 mA.
TREATING_MA = 0.9
#: The drill console's station identity (a fixed UUID; a real console's comes from its data folder).
DRILL_STATION_ID = "00000000-0000-4000-8000-0000000d0111"
#: A dose far beyond what a drill delivers, so the session is still running at the fault.
LONG_DOSE_MA_MIN = 5.0


def drill_protocol(**changes) -> Protocol:
    return small_protocol(dose_target_ma_min=LONG_DOSE_MA_MIN, **changes)


def drill_plan(protocol: Protocol | None = None, patient_id: str = "DRILL-0001") -> SessionPlan:
    """What the therapist would have chosen: a passed checklist, nothing overridden."""
    return SessionPlan(
        protocol=protocol or drill_protocol(),
        patient_id=patient_id,
        patient_name="Drill Patient",
        site="left forearm",
        electrode="standard 12 cm²",
        checklist_passed=True,
        checklist_record={"answers": {"patient_informed": True}, "overridden": []},
    )


def connect_station(port: str) -> Station:
    """A station connected to ``port`` with the board identified and telemetry flowing."""
    station = Station()
    station.connect(port, simulated=True)  # as the demo console connects its simulator

    def ready() -> bool:
        link = station.link
        return (link is not None and link.state is LinkState.CONNECTED and link.ident is not None
                and station.snapshot().live is not None)

    wait_for(ready, DEADLINE_S, "the board connected with telemetry")
    return station


@dataclass
class Bench:
    """One drill's world: the simulated board, the station, the records and the desk."""

    server: SimulatedBoardServer
    station: Station
    db: Database
    desk: TreatmentDesk

    @property
    def controller(self) -> TreatmentController:
        controller = self.desk.controller
        assert controller is not None, "no treatment was started"
        return controller

    @property
    def session_id(self) -> int:
        recorder = self.desk.recorder
        assert recorder is not None, "the treatment is not recorded"
        return recorder.session_id

    def start_treating(self, protocol: Protocol | None = None) -> TreatmentController:
        """Begin a recorded treatment and wait until current flows and samples are being saved."""
        controller = self.desk.begin(drill_plan(protocol))
        wait_for(lambda: controller.snapshot().current_ma > TREATING_MA, DEADLINE_S, "current flowing", controller)
        wait_for(lambda: len(load_samples(self.db, self.session_id)) > 0, DEADLINE_S, "samples saved")
        return controller

    def board_output(self) -> tuple[bool, float]:
        """(output enabled flag, true current in A) from the simulated board itself."""
        with self.server.lock:
            return bool(self.server.board.flags() & 1), self.server.model.snapshot().true_current_a

    def wait_output_off(self) -> None:
        wait_for(lambda: self.board_output() == (False, 0.0), DEADLINE_S, "the board's output off", self.controller)

    def wait_ended(self) -> None:
        wait_for(lambda: self.controller.snapshot().state.terminal, DEADLINE_S, "the session to end", self.controller)

    def wait_record_closed(self) -> SessionSummary:
        recorder = self.desk.recorder
        assert recorder is not None
        assert recorder.finished.wait(DEADLINE_S), "the session record was not closed in time"
        return load_session(self.db, self.session_id)

    def event_kinds(self) -> list[str]:
        return [event.kind for event in load_events(self.db, self.session_id)]

    def alarm_message(self) -> str:
        alarm = self.desk.alarms.highest(time.monotonic())
        return "" if alarm is None else alarm.message


def assert_samples_kept(series: SampleSeries, *, min_current_ma: float = TREATING_MA) -> None:
    """The record holds the treatment up to the fault: current above ``min_current_ma``, time in order."""
    assert len(series) > 20, f"only {len(series)} samples stored"
    assert float(series.current_ma.max()) > min_current_ma, "the stored samples never show the treatment current"
    assert (series.t[1:] >= series.t[:-1]).all(), "stored sample times go backwards"


def assert_nothing_lost(db: Database, recorder: SessionRecorder) -> SampleSeries:
    """Every sample the controller handed to the record is in it: none lost, none twice, no hole."""
    series = load_samples(db, recorder.session_id)
    assert len(series) > 20, f"only {len(series)} samples stored"
    assert len(series) == recorder.samples_seen, \
        f"{recorder.samples_seen - len(series)} of {recorder.samples_seen} samples the console saw are not in the record"
    steps = np.diff(series.t)
    assert (steps > 0).all(), "stored sample times are not strictly increasing (a sample twice?)"
    assert steps.max() < 0.1, f"a {steps.max():.3f} s hole in the stored samples"
    return series


def assert_record_intact(db: Database) -> None:
    verdict = verify_audit(db)
    assert verdict.ok, verdict


def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"
