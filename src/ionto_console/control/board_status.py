"""The board as the screens show it: plain state, identity line and live values, no ICD types.

Qt-free. WHY: the link's ``LinkState``, the ICD's ``Ident`` and flag bits are
the driver's vocabulary; a second board family or a test double would speak
another. The screens read this view model instead, built from a
``StationSnapshot`` on the GUI's poll (pure, no I/O: a few attribute reads).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..core.samples import ma_from_wire, v_from_wire
from ..drivers.board.link import LinkState
from .station import StationSnapshot, fault_name


class BoardStatus(enum.Enum):
    """Whether the console can talk to the board."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


_STATUS = {LinkState.DISCONNECTED: BoardStatus.DISCONNECTED, LinkState.CONNECTING: BoardStatus.CONNECTING,
           LinkState.CONNECTED: BoardStatus.CONNECTED}


@dataclass(frozen=True)
class BoardIdentity:
    """Who the connected board is, in display words; ``cal_date_unix`` 0 = never calibrated."""

    serial_number: str
    summary: str
    cal_date_unix: int


@dataclass(frozen=True)
class BoardLive:
    """The latest telemetry in display units."""

    current_ma: float
    voltage_v: float
    target_ma: float
    impedance_kohm: float | None
    output_on: bool
    fault_text: str  # "" when no fault is latched


@dataclass(frozen=True)
class BoardView:
    """Everything the connection panel and the board monitor show, copied at one instant."""

    status: BoardStatus
    status_text: str
    identity: BoardIdentity | None
    live: BoardLive | None
    last_fault: str
    link_stats: str
    #: The port of the connected board ("" unless connected): the Calibration tab's default.
    port: str = ""


def status_text(status: BoardStatus, reason: str) -> str:
    if status is BoardStatus.CONNECTED:
        return "Board connected"
    if status is BoardStatus.CONNECTING:
        return f"Connecting… {reason}"
    return reason[:1].upper() + reason[1:] if reason else "Board disconnected"


def board_view(snap: StationSnapshot) -> BoardView:
    """The station's snapshot in the screens' words."""
    status = _STATUS[snap.state]
    ident = snap.ident if status is BoardStatus.CONNECTED else None
    identity = None if ident is None else BoardIdentity(
        ident.serial_number,
        # plain words for the therapist who reads this line too: "protocol rev" read as a treatment protocol
        f"Serial {ident.serial_number} · firmware {ident.firmware} (interface revision {ident.protocol_revision})"
        f" · at most {ma_from_wire(ident.hw_max_current_ua):.0f} mA, up to {v_from_wire(ident.compliance_mv):.0f} V",
        ident.cal_date)
    live = snap.live
    board_live = None if live is None else BoardLive(
        live.current_ma, live.voltage_v, live.target_ma, live.impedance_kohm, live.output_on,
        f"Board fault latched: {fault_name(live.latched_fault)}" if live.latched_fault else "")
    return BoardView(status, status_text(status, snap.reason), identity, board_live, snap.last_fault,
                     f"telemetry {snap.telemetry_received} · lost {snap.samples_lost} · "
                     f"dropped frames {snap.frames_dropped}",
                     snap.port if status is BoardStatus.CONNECTED else "")
