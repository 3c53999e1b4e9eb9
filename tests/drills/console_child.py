"""The console side of the "console killed" drill, in a process of its own so it can be SIGKILLed.

Usage: ``console_child.py <board port> <records URL>``. Connects a station to
the simulated board the parent owns, opens the records, begins a recorded
treatment through the treatment desk (as the console does) and, once current
flows and samples are saved, prints ``session <id>``; then about every 50 ms
``treating <state> <current mA> <session time of the newest sample s>``,
flushed, until it is killed. The parent decides when to kill it.
"""

from __future__ import annotations

import sys
import time

from ionto_console.control.treatment_desk import TreatmentDesk
from ionto_console.records import load_samples, open_database
from ionto_console.records.demo import mark_as_demo
from ionto_console.records.database import user_data_folder
from ionto_console.station_identity import station_id

from drill_bench import DEADLINE_S, TREATING_MA, connect_station, drill_plan
from support import wait_for

REPORT_EVERY_S = 0.05


def main(port: str, url: str) -> None:
    station = connect_station(port)
    db = open_database(url)
    mark_as_demo(db)
    # as the console: this station's identity and its journal in the data folder (IONTO_DATA_DIR)
    desk = TreatmentDesk(station, db=db, operator=lambda: "Drill Therapist", station_name="drill-station", demo=True,
                         station_id=station_id(), data_folder=user_data_folder())
    controller = desk.begin(drill_plan())
    recorder = desk.recorder
    assert recorder is not None
    wait_for(lambda: controller.snapshot().current_ma > TREATING_MA, DEADLINE_S, "current flowing", controller)
    wait_for(lambda: len(load_samples(db, recorder.session_id)) > 0, DEADLINE_S, "samples saved")
    print(f"session {recorder.session_id}", flush=True)
    while True:
        snap = controller.snapshot()
        view = controller.history.view()
        newest = float(view.t[-1]) if len(view.t) else 0.0
        print(f"treating {snap.state.value} {snap.current_ma:.3f} {newest:.3f}", flush=True)
        time.sleep(REPORT_EVERY_S)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
