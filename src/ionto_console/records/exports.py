"""CSV exports of one session's samples and events.

WHY numpy for the samples: a 30-minute 1000 Hz session is 1.8 M rows; the
csv module would take many seconds, ``numpy.savetxt`` on preformatted
columns is several times faster. Columns carry their units in the header.
The sample columns are numbers the console formats itself; the event columns
carry text, every cell through ``safe_text.safe_row`` (no spreadsheet formulas).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import IO

import numpy as np

from .database import Database
from .queries import load_events, load_samples
from .safe_text import csv_writer, safe_row

SAMPLE_COLUMNS = ("t_s", "current_ma", "voltage_v", "impedance_kohm", "target_ma", "flags")
EVENT_COLUMNS = ("at_utc", "t_s", "kind", "alarm", "message", "evidence_json")


def write_samples_csv(db: Database, session_id: int, target: str | Path | IO[str]) -> int:
    """Write the samples as CSV (impedance empty when unknown); returns the number of rows."""
    series = load_samples(db, session_id)
    handle, close = (open(target, "w", newline="", encoding="utf-8"), True) if isinstance(target, (str, Path)) \
        else (target, False)
    try:
        handle.write(",".join(SAMPLE_COLUMNS) + "\n")
        step = 100_000
        for lo in range(0, len(series), step):
            hi = lo + step
            impedance = np.char.mod("%.4g", series.impedance_kohm[lo:hi].astype(np.float64))
            impedance[~np.isfinite(series.impedance_kohm[lo:hi])] = ""
            table = np.column_stack([
                np.char.mod("%.4f", series.t[lo:hi]),
                np.char.mod("%.5g", series.current_ma[lo:hi].astype(np.float64)),
                np.char.mod("%.5g", series.voltage_v[lo:hi].astype(np.float64)),
                impedance,
                np.char.mod("%.5g", series.target_ma[lo:hi].astype(np.float64)),
                series.flags[lo:hi].astype(str),
            ])
            np.savetxt(handle, table, fmt="%s", delimiter=",")
    finally:
        if close:
            handle.close()
    return len(series)


def samples_csv(db: Database, session_id: int) -> str:
    out = io.StringIO()
    write_samples_csv(db, session_id, out)
    return out.getvalue()


def events_csv(db: Database, session_id: int) -> str:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(EVENT_COLUMNS)
    for e in load_events(db, session_id):
        writer.writerow(safe_row((e.at.isoformat(), "" if e.t is None else f"{e.t:.3f}", e.kind, int(e.alarm),
                                  e.message, json.dumps(e.evidence, sort_keys=True))))
    return out.getvalue()
