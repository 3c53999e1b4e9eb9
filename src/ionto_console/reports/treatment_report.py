"""One-page treatment report (PDF) of a recorded session.

WHY it draws only from ``records.report_data``: the records layer decides
*what* a report holds (and reduces the samples to a plot series keeping every
peak); this module only lays it out. A report can be re-issued from the
record alone, identical, and a test can compare the page with the data.

WHY exactly one page: the clinic files it with the patient's chart. Lists
that could grow (alarms, notes, events) are cut to what fits, with "and N
more" pointing to the CSV/FHIR exports that hold everything.

Same page and drawing style as the calibration certificate (``pdf_page``:
QPdfWriter at 72 dpi, so drawing units are PDF points on A4).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from ..core.numbers import signed
from ..core.markers import MarkerKind, kind_words, place_labels, plot_markers
from ..core.indications import words_of
from ..core.outcomes import outcome_words
from ..core.protocols import lead_text
from ..records import Database, report_data
from .pdf_page import MARGIN, PAGE_H, PAGE_W, SIMULATED_COLOR, SIMULATED_MARK, PdfPage, a4_pdf, ensure_gui_app

LINE = 12.0
#: Space kept at the bottom of the page for the signature line and footer.
BOTTOM_RESERVE = 74.0
STATE_COLOR = {"complete": QColor("#1b5e20"), "stopped": QColor("#8d6e00"), "faulted": QColor("#b71c1c"),
               "interrupted": QColor("#b71c1c")}
CURRENT_COLOR = QColor("#1f6fb2")
TARGET_COLOR = QColor("#e07b00")
SIDE_EFFECT_COLOR = QColor("#c62828")
ALARM_COLOR = QColor("#6a1b9a")
FLAG_COLOR = QColor("#b71c1c")


def write_treatment_report(db: Database, session_id: int, path: str | os.PathLike[str]) -> Path:
    """Draw the one-page report of session ``session_id`` into the PDF file ``path``; returns the path.

    Raises the records errors of ``report_data`` (``RecordNotFound``...) before any file is created,
    and ``OSError`` when the file cannot be written.
    """
    data = report_data(db, session_id)
    return render_treatment_report(data, path)


def render_treatment_report(data: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Draw an already gathered ``report_data`` dict (a print preview can reuse it)."""
    ensure_gui_app()
    path = Path(path)
    if not path.parent.is_dir():
        raise OSError(f"The folder does not exist: {path.parent}")
    with a4_pdf(path, report_title(data), f"Cannot write the report to {path}") as (painter, _writer):
        _Report(painter, data).draw()
    return path


def report_title(data: dict[str, Any]) -> str:
    patient = data["patient"]
    mark = f" ({SIMULATED_MARK})" if data["session"].get("simulated") else ""
    return f"Iontophoresis treatment report{mark}: {patient['name']} ({patient['identifier']})"


def when(value: dt.datetime | dt.date | None, *, seconds: bool = False) -> str:
    """A recorded time in the station's local zone (records store aware UTC times)."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
    return value.isoformat()


def clock(value: dt.datetime | None, day_of: dt.datetime | None = None) -> str:
    """Time of day; with the date too when it is not the day of ``day_of`` (a note added days later)."""
    if value is None:
        return "—"
    local = value.astimezone()
    if day_of is not None and local.date() != day_of.astimezone().date():
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s"


def dose_text(dose: dict[str, Any]) -> str:
    percent = "" if dose.get("percent") is None else f" ({dose['percent']:.0f} %)"
    return f"{dose['delivered_ma_min']:.1f} of {dose['target_ma_min']:.1f} mA·min{percent}"


def overrides_lines(overrides: dict[str, Any]) -> list[str]:
    """Checklist overrides as sentences; the console records ``{"overridden": [{check, message, reason}]}``."""
    lines = []
    for key, value in overrides.items():
        if key == "overridden" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    lines.append(f"{item.get('message') or item.get('check', '?')} — reason: {item.get('reason', '')}")
                else:
                    lines.append(str(item))
        elif value not in (None, "", [], {}):
            lines.append(f"{key}: {value}")
    return lines


def outcome_text(session: dict[str, Any]) -> str:
    """The outcome in words ("Stopped: dizziness"), as the Records tab says it (``core.outcomes``)."""
    return outcome_words(str(session["state"]), session.get("reason") or "")


def calibration_words(gain: float, offset_ua: float, dated: Any) -> str:
    """The board's calibration constants in plain words, for the report's technical line (not for the
    therapist's summary): what the console did to every measured current."""
    return (f"measured current corrected by a factor of {gain:.4f} and {signed(offset_ua, 1)} µA "
            f"(the board's calibration of {when(dated)})")


def _segments(xs: Sequence[float], ys: Sequence[float | None]) -> Iterable[list[tuple[float, float]]]:
    """Runs of finite points (a None/NaN is a gap in the recorded data)."""
    run: list[tuple[float, float]] = []
    for x, y in zip(xs, ys):
        if y is None or not math.isfinite(y):
            if run:
                yield run
            run = []
        else:
            run.append((x, y))
    if run:
        yield run


class _Report(PdfPage):
    """Top-to-bottom drawing of the page; every block checks it fits above the signature area.

    Shares the certificate's text and heading helpers (same look for every document the console prints).
    """

    def __init__(self, painter: QPainter, data: dict[str, Any]) -> None:  # noqa: D107 - no writer: one page only
        super().__init__(painter)
        self.d = data
        self.limit = PAGE_H - MARGIN - BOTTOM_RESERVE

    def text_height(self, x: float, text: str, size: float, width: float | None = None) -> float:
        self.font(size)
        w = width if width is not None else PAGE_W - MARGIN - x
        return max(self.p.boundingRect(QRectF(x, 0, w, 1000), Qt.TextFlag.TextWordWrap, text).height(), size * 1.25)

    def cell(self, x: float, label: str, value: str, label_w: float = 78, width: float = 240,
             color: QColor | None = None) -> float:
        """A label/value pair at column ``x`` starting at the current y; returns its height."""
        top = self.y
        self.font(8.5, True)
        self.p.setPen(QColor("#444444"))
        self.p.drawText(QRectF(x, top, label_w, LINE), Qt.AlignmentFlag.AlignLeft, label)
        self.text(x + label_w, value, 8.5, width=width - label_w - 8, color=color)
        height = self.y - top
        self.y = top
        return height

    def fields(self, pairs: Sequence[tuple[str, str]], columns: int = 2) -> None:
        col_w = (PAGE_W - 2 * MARGIN) / columns
        for start in range(0, len(pairs), columns):
            heights = [self.cell(MARGIN + i * col_w, label, value, width=col_w - 6)
                       for i, (label, value) in enumerate(pairs[start:start + columns])]
            self.y += max(heights) + 1

    def items(self, title: str, lines: Sequence[str], empty: str, reserve_after: float = 0.0,
              color: QColor | None = None) -> None:
        """A heading and one line per item, as many as fit (the rest counted, never silently lost)."""
        if self.y + 30 > self.limit - reserve_after:
            return
        self.heading(title)
        if not lines:
            self.text(MARGIN, empty, 8.5, color=QColor("#555555"))
            return
        for i, line in enumerate(lines):
            rest = len(lines) - i
            need = self.text_height(MARGIN + 8, line, 8.5) + (LINE if rest > 1 else 0)
            if self.y + need > self.limit - reserve_after:
                self.text(MARGIN + 8, f"… and {rest} more (see the CSV or FHIR export).", 8.5,
                          color=QColor("#555555"))
                return
            self.text(MARGIN + 8, "• " + line, 8.5, color=color)

    # --- the page ------------------------------------------------------------------------

    def draw(self) -> None:
        d = self.d
        session, patient, board = d["session"], d["patient"], d["board"]
        simulated = bool(session.get("simulated"))
        if simulated:
            self.simulated_watermark()
            self.text(MARGIN, f"Iontophoresis treatment report — {SIMULATED_MARK} board",
                      16, True, QColor(SIMULATED_COLOR))
        else:
            self.text(MARGIN, "Iontophoresis treatment report", 16, True)
        self.text(MARGIN, f"Session {session['uid']}", 8, color=QColor("#555555"))
        self.y += 2
        self.text(MARGIN, outcome_text(session), 12.5, True, STATE_COLOR.get(session["state"], QColor("black")))
        self.y += 2
        dob = when(patient.get("date_of_birth")) if patient.get("date_of_birth") else "—"
        billing = d["billing"]
        code = billing.get("diagnosis_code") or ""
        self.fields([
            ("Patient", f"{patient['name']} ({patient['identifier']})"),
            ("Date of birth", dob),
            ("Protocol", d["protocol"]["name"]),
            ("Site", session.get("site") or "—"),
            ("Polarity", polarity_line(d["protocol"]["content"])),
            ("Course", session.get("course_position") or "—"),
            ("Dose", dose_text(d["dose"])),
            ("Duration", duration(session.get("duration_s"))),
            ("Started", when(session["started_at"], seconds=True)),
            ("Ended", when(session["ended_at"], seconds=True)),
            ("Operator", session["operator"]),
            ("Station", session["station"] or "—"),
            ("Board", (board["serial"] or "—") + (" (simulated)" if simulated else "")),
            ("Calibration", f"calibrated {when(board['cal_date'])}"),
            ("Billing", "not billed: simulated board" if simulated else
             f"CPT {billing['cpt']}: {billing['attended_minutes']} min, {billing['units']} unit(s)"),
            ("Diagnosis", diagnosis_line(code)),
        ] + ([("Continues", f"session {session['continues_session_id']} (its remaining dose)")]
             if session.get("continues_session_id") else []))
        # the guideline's verdict on the diagnosis takes the page's width: a flag must be read whole
        flag, flagged = coverage_line(code, d["coverage"])
        self.y += self.cell(MARGIN, "Coverage", flag, width=PAGE_W - 2 * MARGIN,
                            color=FLAG_COLOR if flagged else None) + 1

        self.heading("Timeline: current and target")
        plot_h = 160.0
        self.plot(QRectF(MARGIN + 34, self.y + 14, PAGE_W - 2 * MARGIN - 40, plot_h))
        self.y += plot_h + 40

        # The signatures are what makes the record the signer's: their room is kept before anything
        # else is listed, so a long list of notes or alarms is what gets counted, never a signature.
        signatures = [g["manifestation"] for g in d["signatures"]]
        keep = 30 + sum(self.text_height(MARGIN + 8, "• " + line, 8.5) + 2 for line in signatures or ["-"])
        self.items("Side effects", [f"{clock(e['at'])}  {kind_words(e['kind'])}"
                                    + (f" — {e['note']}" if e.get("note") else "") for e in d["side_effects"]],
                   "None reported.", reserve_after=80 + keep, color=SIDE_EFFECT_COLOR)
        self.items("Alarms and trips", [f"{clock(a['at'])}  {a['message'] or a['kind']}" for a in d["alarms"]],
                   "None.", reserve_after=60 + keep)
        self.items("Checklist overrides", overrides_lines(d["overrides"]), "None.", reserve_after=40 + keep)
        self.items("Notes", [f"{clock(n['at'], session['started_at'])}  {n['author']}: {n['text']}" + (" (amended)" if n["amended"] else "")
                             for n in d["notes"]], "None.", reserve_after=keep)
        self.items("Signatures", signatures, "Not signed yet.")
        self.signature_block()

    def signature_block(self) -> None:
        y = PAGE_H - MARGIN - BOTTOM_RESERVE + 22
        self.y = y
        self.text(MARGIN, "Therapist's signature: ______________________________      Date: ______________", 10)
        audit = self.d["audit"]
        verdict = "Audit trail intact" if audit["ok"] else f"AUDIT TRAIL BROKEN: {audit['reason']}"
        self.font(7.5)
        board = self.d["board"]
        # the engineer's detail, apart from what the therapist reads above
        self.p.setPen(QColor("#666666"))
        self.p.drawText(QRectF(MARGIN, PAGE_H - MARGIN - 24, PAGE_W - 2 * MARGIN, 12), Qt.AlignmentFlag.AlignLeft,
                        "Technical details: "
                        f"{calibration_words(board['cal_gain'], board['cal_offset_ua'], board['cal_date'])}.")
        self.p.setPen(QColor("#666666") if audit["ok"] else SIDE_EFFECT_COLOR)
        samples = self.d["samples"]
        self.p.drawText(QRectF(MARGIN, PAGE_H - MARGIN - 10, PAGE_W - 2 * MARGIN, 20), Qt.TextFlag.TextWordWrap,
                        f"{verdict}; audit head {audit.get('head_short', '—')}. "
                        f"{samples['count']:,} samples, digest {samples['sha256'][:16] or '—'}. "
                        f"Printed {when(dt.datetime.now(dt.timezone.utc))} by Ionto Console. Page 1 of 1.")

    def plot(self, area: QRectF) -> None:
        """Current (solid) and target (dashed) against time; side effects and alarms as marked lines."""
        p, d = self.p, self.d
        plot = d["plot"]
        ts: list[float] = plot["t_s"]
        end_s = d["session"].get("duration_s") or 0.0
        t_max = max([end_s, *(ts[-1:] or [0.0]), 1.0])
        in_minutes = t_max > 120
        scale = 60.0 if in_minutes else 1.0
        x_max = t_max / scale
        values = [v for v in plot["current_ma"] + plot["target_ma"] if v is not None and math.isfinite(v)]
        y_max = _nice_ceiling(max(values + [1.0]) * 1.1)

        def to_xy(t_s: float, y: float) -> QPointF:
            return QPointF(area.left() + area.width() * min(max(t_s / scale / x_max, 0.0), 1.0),
                           area.bottom() - area.height() * y / y_max)

        # axes, grid, ticks
        self.font(7.5)
        for y in _ticks(y_max, 5):
            pos = to_xy(0, y)
            p.setPen(QPen(QColor("#e3e3e3"), 0.5))
            p.drawLine(pos, QPointF(area.right(), pos.y()))
            p.setPen(QColor("#333333"))
            p.drawText(QRectF(pos.x() - 32, pos.y() - 5, 28, 10), Qt.AlignmentFlag.AlignRight, f"{y:g}")
        for x in _ticks(x_max, 8):
            pos = to_xy(x * scale, 0)
            p.setPen(QPen(QColor("#e3e3e3"), 0.5))
            p.drawLine(pos, QPointF(pos.x(), area.top()))
            p.setPen(QColor("#333333"))
            p.drawText(QRectF(pos.x() - 20, pos.y() + 3, 40, 10), Qt.AlignmentFlag.AlignHCenter, f"{x:g}")
        p.drawText(QRectF(area.left(), area.bottom() + 13, area.width(), 10), Qt.AlignmentFlag.AlignHCenter,
                   "time (min)" if in_minutes else "time (s)")
        p.save()
        p.translate(area.left() - 30, area.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-40, -10, 80, 10), Qt.AlignmentFlag.AlignHCenter, "current (mA)")
        p.restore()
        p.setPen(QPen(QColor("#333333"), 0.8))
        p.drawRect(area)

        # markers under the curves: side effects (red) and alarms (purple)
        markers = plot_markers(d["session"]["started_at"], [(e["at"], e["kind"]) for e in d["side_effects"]],
                               [(a["at"], a["t"], a["kind"]) for a in d["alarms"]])
        self.font(7)
        # labels laid out by the one rule of the live plot and the replay (core.markers.place_labels):
        # beside their line, never over each other; one that fits in no row is left out (its line stays,
        # and the event is in the tables)
        boxes = place_labels([to_xy(mark.t_s, y_max).x() for mark in markers],
                             [(p.fontMetrics().horizontalAdvance(mark.label) + 4, 9.0) for mark in markers],
                             left=area.left(), right=area.right(), top=area.top() + 2, rows=3, gap=1.0)
        for mark, box in zip(markers, boxes):
            color = SIDE_EFFECT_COLOR if mark.kind is MarkerKind.SIDE_EFFECT else ALARM_COLOR
            top, bottom = to_xy(mark.t_s, y_max), to_xy(mark.t_s, 0)
            p.setPen(QPen(color, 0.9, Qt.PenStyle.DotLine))
            p.drawLine(top, bottom)
            if box is not None:
                p.setPen(color)
                p.drawText(QRectF(box.left, box.top, box.width, box.height), Qt.AlignmentFlag.AlignLeft, mark.label)

        p.save()
        p.setClipRect(area.adjusted(-1, -1, 1, 1))
        # target last: a dashed line on top stays visible where the current follows it exactly
        for key, pen in (("current_ma", QPen(CURRENT_COLOR, 0.9)),
                         ("target_ma", QPen(TARGET_COLOR, 1.0, Qt.PenStyle.DashLine))):
            p.setPen(pen)
            for run in _segments(ts, plot[key]):
                path = QPainterPath(to_xy(*run[0]))
                for t_s, y in run[1:]:
                    path.lineTo(to_xy(t_s, y))
                if len(run) == 1:
                    p.drawPoint(to_xy(*run[0]))
                else:
                    p.drawPath(path)
        p.restore()

        # legend: above the frame, right-aligned (never over the curves)
        self.font(7.5)
        legend = [("measured", QPen(CURRENT_COLOR, 1.2)), ("target", QPen(TARGET_COLOR, 1.2, Qt.PenStyle.DashLine))]
        if d["side_effects"]:
            legend.append(("side effect", QPen(SIDE_EFFECT_COLOR, 1.0, Qt.PenStyle.DotLine)))
        if d["alarms"]:
            legend.append(("alarm", QPen(ALARM_COLOR, 1.0, Qt.PenStyle.DotLine)))
        width = sum(p.fontMetrics().horizontalAdvance(name) + 34 for name, _ in legend)
        x = area.right() - width
        y = area.top() - 6
        for name, pen in legend:
            p.setPen(pen)
            p.drawLine(QPointF(x, y), QPointF(x + 14, y))
            p.setPen(QColor("#333333"))
            p.drawText(QPointF(x + 17, y + 3), name)
            x += p.fontMetrics().horizontalAdvance(name) + 34


def diagnosis_line(code: str) -> str:
    """The diagnosis as code and name ("M76.60 Achilles tendinitis"); a code the console does not know
    keeps its code and says so; none says what that means for billing."""
    code = (code or "").strip().upper()
    if not code:
        return "— (none entered)"
    return f"{code} {words_of(code) or '(a code the console does not list by name)'}"


def coverage_line(code: str, coverage: dict[str, Any]) -> tuple[str, bool]:
    """The coverage guideline's verdict on the session (``records.billing.assess_coverage``, gathered by
    ``report_data``) in words, and whether it is a flag: anything but "medically necessary" is one."""
    guideline = coverage.get("guideline") or "the coverage guideline"
    reason = coverage.get("reason") or ""
    if not (code or "").strip():
        return f"Flagged: no diagnosis, so no coverage verdict ({guideline}).", True
    if coverage.get("status") == "medically_necessary":
        return f"Medically necessary ({guideline}): {reason}", False
    if coverage.get("status") == "not_medically_necessary":  # its reason says "not medically necessary"
        return f"Flagged ({guideline}): {reason}", True
    return f"Flagged for review ({guideline}): {reason}", True


def _ticks(limit: float, most: int) -> list[float]:
    """Round tick values from 0 to ``limit``, at most about ``most`` + 1 of them."""
    step = _nice_ceiling(limit / most)
    return [i * step for i in range(int(limit / step + 1e-9) + 1)]


def _nice_ceiling(value: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten at or above ``value`` (round axis labels)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def polarity_line(protocol: dict[str, Any]) -> str:
    """Which lead carried what, from the record's protocol copy (its planned polarity at the start)."""
    polarity = protocol.get("polarity")
    if polarity not in ("anode", "cathode"):
        return "—"
    carries_drug = (protocol.get("agent") or {}).get("kind") == "drug"
    text = lead_text(carries_drug, polarity == "anode").split(" · ")[0]  # the return lead is the other one
    return text + (" (reversed halfway)" if protocol.get("polarity_reversal_halfway") else "")
