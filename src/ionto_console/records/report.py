"""Everything a one-page session report needs, gathered once as plain data.

WHY a data function and no PDF here: the UI renders the page with Qt; the
records layer decides *what* is on it, so the PDF, a print preview and a test
all see the same content. The sample plot is reduced to at most
``PLOT_POINTS`` points keeping each bucket's min and max (no hidden peaks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .audit import verify_audit
from .course import courses_of_session
from .billing import billable_minutes, cpt_units, CPT_IONTOPHORESIS, assess_coverage
from .database import Database
from .queries import load_events, load_samples, load_session

PLOT_POINTS = 1200


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _course_position(db: Database, summary: Any) -> str:
    """"Session 3 of 6" of this session in its course (the course's id is for grouping, not for reading)."""
    courses = courses_of_session(db, summary.patient.id, summary.simulated)
    return next((entry.label for course in courses.courses for entry in course.entries
                 if entry.session_id == summary.id), "")


def report_data(db: Database, session_id: int, *, plot_points: int = PLOT_POINTS) -> dict[str, Any]:
    """A dict: patient, session, protocol, calibration, dose, side effects, alarms, notes, signatures,
    billing, coverage, sample statistics, a reduced plot series and the audit verdict."""
    summary = load_session(db, session_id)
    series = load_samples(db, session_id)
    events = load_events(db, session_id)
    duration_s = summary.duration_s
    minutes = billable_minutes(duration_s or 0.0)
    current = _finite(series.current_ma.astype(np.float64))
    impedance = _finite(series.impedance_kohm.astype(np.float64))
    plot = series.downsample(plot_points)
    # This record (the session with its samples, signatures..., and its patient) and the whole chain.
    audit = verify_audit(db, [f"session:{session_id}", f"patient:{summary.patient.id}"])

    def stat(values: np.ndarray, fn: Any) -> float | None:
        return float(fn(values)) if values.size else None

    return {
        "patient": {"identifier": summary.patient.identifier, "name": summary.patient.name,
                    "date_of_birth": summary.patient.date_of_birth},
        "session": {"id": summary.id, "uid": summary.uid, "started_at": summary.started_at,
                    "ended_at": summary.ended_at, "duration_s": duration_s, "state": summary.state,
                    "reason": summary.reason, "operator": summary.operator, "station": summary.station,
                    "course": summary.course, "simulated": summary.simulated, "site": summary.site_text,
                    "continues_session_id": summary.continues_session_id,
                    "course_position": _course_position(db, summary)},
        "protocol": {"name": summary.protocol_name, "sha256": summary.protocol_sha256, "content": summary.protocol},
        "board": {"serial": summary.board_serial, "cal_gain": summary.calibration.gain,
                  "cal_offset_ua": summary.calibration.offset_ua, "cal_date": summary.calibration.date},
        "dose": {"delivered_ma_min": summary.dose_delivered_ma_min, "target_ma_min": summary.dose_target_ma_min,
                 "percent": (100.0 * summary.dose_delivered_ma_min / summary.dose_target_ma_min
                             if summary.dose_target_ma_min else None)},
        "checklist": summary.checklist,
        "overrides": summary.overrides,
        "side_effects": [{"at": e.at, "kind": e.kind, "note": e.note} for e in summary.side_effects],
        "alarms": [{"at": e.at, "t": e.t, "kind": e.kind, "message": e.message} for e in events if e.alarm],
        "events": [{"at": e.at, "t": e.t, "kind": e.kind, "message": e.message} for e in events],
        "notes": [{"at": n.at, "author": n.author, "text": n.text, "amended": n.amends_id is not None}
                  for n in summary.current_notes],
        "signatures": [{"name": g.name, "at": g.at, "meaning": g.meaning, "username": g.username,
                        "covers": g.covers, "manifestation": g.manifestation} for g in summary.signatures],
        "amendments": [{"field": a.field, "value": a.value, "at": a.at, "who": a.who, "why": a.why}
                       for a in summary.amendments],
        "billing": {"cpt": CPT_IONTOPHORESIS, "attended_minutes": minutes, "units": cpt_units(minutes),
                    "diagnosis_code": summary.diagnosis_code},
        "coverage": coverage_of(summary),
        "samples": {"count": len(series), "peak_current_ma": stat(current, np.max),
                    "mean_current_ma": stat(current, np.mean),
                    "impedance_kohm_first": float(impedance[0]) if impedance.size else None,
                    "impedance_kohm_last": float(impedance[-1]) if impedance.size else None,
                    "impedance_kohm_min": stat(impedance, np.min), "sha256": summary.samples_sha256},
        "plot": {"t_s": plot.t.tolist(), "current_ma": _nan_to_none(plot.current_ma),
                 "target_ma": _nan_to_none(plot.target_ma), "impedance_kohm": _nan_to_none(plot.impedance_kohm)},
        "audit": {"ok": audit.ok, "reason": audit.reason, "head_hash": audit.head_hash,
                  "head_short": audit.head_short, "anchored": audit.anchored},
    }


def coverage_of(summary: Any) -> dict[str, Any]:
    """The coverage guideline's verdict on a recorded session (status, reason, guideline, answers): the
    report and the Records tab's summary show the same one."""
    note = assess_coverage(summary.diagnosis_code, summary.coverage_answers, summary.protocol)
    return {"status": note.status.value, "reason": note.reason, "guideline": note.guideline,
            "answers": summary.coverage_answers}


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(v) else v for v in values.astype(np.float64).tolist()]
