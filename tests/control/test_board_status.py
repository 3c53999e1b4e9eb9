"""The board as the screens see it: plain status and words, no link or ICD types."""

from __future__ import annotations

from ionto_console.control.board_status import BoardStatus, board_view
from ionto_console.control.station import LiveValues, StationSnapshot
from ionto_console.core.samples import BoardFault
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import LinkState

IDENT = m.Ident(protocol_revision=1, fw_major=1, fw_minor=2, fw_patch=3, serial_number="IONTO1-000042",
                hw_max_current_ua=5000, compliance_mv=90000, cal_gain=1.0, cal_offset_ua=0.0, cal_date=1_767_225_600)


def snapshot(state: LinkState, *, reason: str = "", live: LiveValues | None = None) -> StationSnapshot:
    return StationSnapshot("/dev/ttyACM0", state, reason, IDENT, live, 10, 1, 2, "")


def test_each_link_state_has_a_status_and_a_line():
    assert board_view(snapshot(LinkState.CONNECTED)).status_text == "Board connected"
    connecting = board_view(snapshot(LinkState.CONNECTING, reason="opening /dev/ttyACM0"))
    assert connecting.status is BoardStatus.CONNECTING and connecting.status_text == "Connecting… opening /dev/ttyACM0"
    gone = board_view(snapshot(LinkState.DISCONNECTED, reason="the board stopped answering"))
    assert gone.status is BoardStatus.DISCONNECTED and gone.status_text == "The board stopped answering"
    assert gone.identity is None  # an identity is shown only while connected
    assert board_view(snapshot(LinkState.DISCONNECTED)).status_text == "Board disconnected"


def test_identity_live_values_and_latched_fault_in_words():
    live = LiveValues(current_ma=1.5, voltage_v=12.0, target_ma=1.5,
                      flags=m.Flags.OUTPUT_ENABLED, latched_fault=int(BoardFault.OVERCURRENT))
    view = board_view(snapshot(LinkState.CONNECTED, live=live))
    assert view.identity is not None and view.identity.serial_number == "IONTO1-000042"
    assert "Serial IONTO1-000042 · firmware" in view.identity.summary and "at most 5 mA" in view.identity.summary
    assert "protocol" not in view.identity.summary and "compliance" not in view.identity.summary  # plain words
    assert view.identity.cal_date_unix == IDENT.cal_date
    assert view.live is not None and view.live.output_on and view.live.impedance_kohm == live.impedance_kohm
    assert view.live.fault_text == f"Board fault latched: {BoardFault.describe(BoardFault.OVERCURRENT)}"
    assert view.link_stats == "telemetry 10 · lost 1 · dropped frames 2"
    idle = board_view(snapshot(LinkState.CONNECTED, live=LiveValues(0.0, 0.0, 0.0, m.Flags(0), 0)))
    assert idle.live is not None and not idle.live.output_on and idle.live.fault_text == ""
