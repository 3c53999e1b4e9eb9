"""BoardLink against scripted boards that expect exact bytes and answer exact bytes (``transcript``).

Every literal is a frame worked out from the ICD (see test_icd_known_answers):
the link must write exactly these bytes and understand exactly those it gets.
"""

from __future__ import annotations

import math

import pytest

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import BoardNakError
from ionto_console.drivers.board.link import LINK_FAULT, BoardLink, LinkState
from test_link import wait_for
from transcript import Expect, ScriptedBoard, Send, ref_crc16, ref_frame

H = bytes.fromhex

HELLO0 = H("02 01 03 3e 2e 00")
IDENT0 = H("02 81 11 01 01 02 03 53 4e 2d 54 45 53 54 2d 30 30 30 31 01 01 01 03 a8 61 01 04 90 5f 01 01 01 "
           "03 80 3f 01 01 01 01 06 f1 53 65 b9 ae 00")
LIMITS1 = H("05 06 01 a0 0f 01 02 64 01 01 05 f4 01 7e 84 00")  # 4000 uA, 100 uA/s, 500 ms
ACK_LIMITS1 = H("06 80 01 06 31 a4 00")
POL2 = H("06 03 02 01 8f e3 00")
ACK_POL2 = H("06 80 02 03 c7 a1 00")
WAVE3 = H("09 0b 03 01 e8 03 32 06 1f 00")  # pulsed, 1000 Hz, 50 %
ACK_WAVE3 = H("06 80 03 0b fe 13 00")
RATE4 = H("04 07 04 c8 03 d0 96 00")  # 200 Hz
ACK_RATE4 = H("06 80 04 07 e5 4b 00")
TARGET5 = H("05 04 05 e8 03 01 03 9f 73 00")  # 1000 uA
ACK_TARGET5 = H("06 80 05 04 b7 48 00")
OUT1_6 = H("06 05 06 01 eb 9d 00")
ACK_OUT6 = H("06 80 06 05 c5 0d 00")
TEL_A = H("02 90 04 a0 86 01 02 0a 01 01 03 e8 03 01 03 88 13 01 03 e8 03 01 02 01 01 03 e1 aa 00")
TEL_B = H("06 90 01 28 9a 01 02 0b 01 01 03 e8 03 01 03 88 13 01 03 e8 03 01 02 01 01 03 f3 8c 00")
TARGET7 = H("05 04 07 dc 05 01 03 a4 63 00")  # 1500 uA
ACK_TARGET7 = H("06 80 07 04 d5 2e 00")
STOP8 = H("04 0c 08 fa 03 59 9e 00")  # ramp 250 ms
ACK_STOP8 = H("06 80 08 0c e3 bf 00")
OUT0_9 = H("03 05 09 03 f4 9d 00")
ACK_OUT9 = H("06 80 09 05 fb 1d 00")
NAK_LIMITS1_BUSY = H("07 7f 01 06 04 49 cf 00")
FAULT_WD = H("02 91 05 01 c0 c6 2d 03 b6 03 01 03 c0 13 00")  # WATCHDOG at 3 s, 950 uA
OUT1_2 = H("06 05 02 01 2f 51 00")
NAK_OUT2_FA = H("07 7f 02 05 05 6b d3 00")
CLEAR3 = H("05 08 03 c5 a4 00")
ACK_CLEAR3 = H("06 80 03 08 9d 23 00")
TEL_1000 = H("02 90 04 40 42 0f 03 e8 03 01 01 01 01 01 03 88 13 01 03 e8 03 01 01 01 01 03 79 a2 00")
TEL_1001 = H("06 90 01 50 69 0f 03 e9 03 01 01 01 01 01 03 88 13 01 03 e8 03 01 01 01 01 03 75 f9 00")
TEL_0 = H("02 90 01 01 01 01 01 01 01 01 01 01 01 01 03 88 13 01 03 e8 03 01 01 01 01 03 f6 08 00")
HELLO1 = H("05 01 01 1f 3e 00")
IDENT1 = H("13 81 01 01 01 02 03 53 4e 2d 54 45 53 54 2d 30 30 30 31 01 01 01 03 a8 61 01 04 90 5f 01 01 01 "
           "03 80 3f 01 01 01 01 06 f1 53 65 59 16 00")
IDENT1_OTHER = H("14 81 01 01 01 02 03 53 4e 2d 4f 54 48 45 52 2d 30 30 30 32 01 01 03 a8 61 01 04 90 5f 01 01 "
                 "01 03 80 3f 01 01 01 01 06 f1 53 65 1a ec 00")
IDENT1_REV7 = H("13 81 01 07 01 02 03 53 4e 2d 54 45 53 54 2d 30 30 30 31 01 01 01 03 a8 61 01 04 90 5f 01 01 01 "
                "03 80 3f 01 01 01 01 06 f1 53 65 c3 51 00")
OUT0_2 = H("03 05 02 03 0e 41 00")


@pytest.fixture
def scripted(tmp_path):
    boards: list[ScriptedBoard] = []
    links: list[BoardLink] = []

    def make(steps) -> tuple[ScriptedBoard, BoardLink]:
        board = ScriptedBoard(tmp_path / f"scripted-{len(boards)}", steps)
        boards.append(board)
        link = BoardLink(str(board.path), reply_timeout_s=2.0, reconnect_period_s=0.05)
        links.append(link)
        return board, link

    yield make
    for link in links:
        link.close()
    for board in boards:
        board.close()


def test_the_reference_codec_agrees_with_the_icd_check_value():
    assert ref_crc16(b"123456789") == 0x29B1
    assert ref_frame(0x01, 0) == HELLO0


def test_handshake(scripted):
    board, link = scripted([Expect(HELLO0), Send(IDENT0)])
    link.open()
    board.wait_done()
    assert link.state is LinkState.CONNECTED
    assert link.ident == m.Ident(1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, 1.0, 0.0, 1_700_000_000)


def test_configure_start_raise_stop(scripted):
    """ICD §5's typical session, command by command, as the console's controller sends it."""
    board, link = scripted([
        Expect(HELLO0), Send(IDENT0),
        Expect(LIMITS1), Send(ACK_LIMITS1),
        Expect(POL2), Send(ACK_POL2),
        Expect(WAVE3), Send(ACK_WAVE3),
        Expect(RATE4), Send(ACK_RATE4),
        Expect(TARGET5), Send(ACK_TARGET5),
        Expect(OUT1_6), Send(ACK_OUT6), Send(TEL_A), Send(TEL_B),
        Expect(TARGET7), Send(ACK_TARGET7),
        Expect(STOP8), Send(ACK_STOP8),
        Expect(OUT0_9), Send(ACK_OUT9),
    ])
    events = []
    link.add_telemetry_listener(events.append)
    link.open()
    for msg in (m.SetLimits(4000, 100, 500), m.SetPolarity(1), m.SetWaveform(1, 1000, 50), m.SetRate(200),
                m.SetTarget(1000), m.Output(1)):
        assert link.request(msg) == m.Ack(msg.TYPE)
    wait_for(lambda: len(events) == 2, what="two telemetry samples")
    assert [e.msg for e in events] == [m.Telemetry(100_000, 10, 1000, 5000, 1000, 1, 0),
                                       m.Telemetry(105_000, 11, 1000, 5000, 1000, 1, 0)]
    assert events[1].lost_before == 0
    assert link.request(m.SetTarget(1500)) == m.Ack(m.MsgType.SET_TARGET)
    link.write_now(m.Stop(250))
    link.write_now(m.Output(0))
    board.wait_done()
    assert board.exact_frames + board.heartbeats >= 10


def test_naks_and_a_fault(scripted):
    board, link = scripted([
        Expect(HELLO0), Send(IDENT0),
        Expect(LIMITS1), Send(NAK_LIMITS1_BUSY), Send(FAULT_WD),
        Expect(OUT1_2), Send(NAK_OUT2_FA),
        Expect(CLEAR3), Send(ACK_CLEAR3),
    ])
    faults = []
    link.add_fault_listener(lambda fault, t: faults.append(fault))
    link.open()
    with pytest.raises(BoardNakError, match="BUSY|busy"):
        link.request(m.SetLimits(4000, 100, 500))
    wait_for(lambda: faults, what="the FAULT frame")
    assert faults == [m.Fault(m.FaultCode.WATCHDOG, 3_000_000, 950)]
    with pytest.raises(BoardNakError) as nak:
        link.request(m.Output(1))
    assert nak.value.error == m.NakError.FAULT_ACTIVE
    assert link.request(m.ClearFault()) == m.Ack(m.MsgType.CLEAR_FAULT)
    board.wait_done()


REBOOT = [Expect(HELLO0), Send(IDENT0), Send(TEL_1000), Send(TEL_1001), Send(TEL_0), Expect(HELLO1)]


def test_reboot_of_the_same_board_is_identified_again(scripted):
    board, link = scripted(REBOOT + [Send(IDENT1)])
    reasons = []
    link.add_state_listener(lambda s, r: reasons.append(r))
    link.open()
    board.wait_done()
    wait_for(lambda: any("identified again" in r for r in reasons), what="re-identified")
    assert link.state is LinkState.CONNECTED and link.stats.board_reboots == 1


@pytest.mark.parametrize("ident, words", [(IDENT1_OTHER, "different board"), (IDENT1_REV7, "revision 7")],
                         ids=["other_serial", "revision_7"])
def test_reboot_answered_by_an_unacceptable_ident_cuts_and_ends_the_connection(scripted, ident, words):
    board, link = scripted(REBOOT + [Send(ident), Expect(OUT0_2)])
    states = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    link.open()
    board.wait_done()
    wait_for(lambda: any(s is LinkState.DISCONNECTED and r.startswith(LINK_FAULT) for s, r in states),
             what="the link fault")
    reason = next(r for s, r in states if s is LinkState.DISCONNECTED and r.startswith(LINK_FAULT))
    assert words in reason
