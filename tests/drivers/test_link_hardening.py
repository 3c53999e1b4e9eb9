"""Field report hardening of BoardLink (F1, F2, F3): each test failed on the link before the fix.

The scripted fake board of ``test_link`` (a real pseudo-terminal) plays what an
independent implementation of the ICD did to the console: a "reboot" followed
by an IDENT from another board, a counter that alternates between 0 and 2^31+1,
and board time that runs backwards without a restart.
"""

from __future__ import annotations

import logging
import math
import time

import pytest

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.link import LINK_FAULT, BoardLink, LinkState, ident_problem
from test_link import IDENT, FakeBoard, board, collect_telemetry, link, make_link, telemetry, wait_for  # noqa: F401

LINK_LOGGER = "ionto_console.drivers.board.link"


def reboot_then_answer(board: FakeBoard, ident: m.Ident) -> None:
    """The board 'restarts' (its counter and clock start again from 0) and answers HELLO with ``ident``."""
    board.replies[m.MsgType.HELLO] = lambda seq, msg: ident
    for counter in (1000, 1001, 0, 1):
        board.send(telemetry(counter))


def outputs_off(board: FakeBoard) -> int:
    return sum(1 for _, msg in board.commands(m.Output) if msg.enable == 0)


# --- F1: every re-identification is judged like the first -----------------------------


@pytest.mark.parametrize(
    "ident, words",
    [
        (m.Ident(7, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, 1.0, 0.0, 1_700_000_000), "revision 7"),
        (m.Ident(1, 1, 2, 3, "SN-OTHER-0002", 25_000, 90_000, 1.0, 0.0, 1_700_000_000), "different board"),
        (m.Ident(1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, math.nan, 0.0, 1_700_000_000), "calibration"),
        (m.Ident(1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, 1.02, 0.0, 1_700_000_000), "calibration changed"),
    ],
    ids=["revision", "serial", "nan_gain", "calibration_changed"],
)
def test_an_unacceptable_ident_after_a_reboot_is_a_link_fault_with_the_output_cut(board, link, ident, words):
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    reboot_then_answer(board, ident)
    wait_for(lambda: any(s is LinkState.DISCONNECTED and r.startswith(LINK_FAULT) for s, r in states),
             what="the re-identification refused as a link fault")
    reason = next(r for s, r in states if s is LinkState.DISCONNECTED)
    assert words in reason, reason
    wait_for(lambda: outputs_off(board) >= 1, what="OUTPUT 0 from the link before it left")
    assert link.stats.link_faults == 1


def test_the_same_board_after_a_reboot_is_identified_again_and_stays_connected(board, link):
    reasons: list[str] = []
    link.add_state_listener(lambda s, r: reasons.append(r))
    reboot_then_answer(board, IDENT)
    wait_for(lambda: any("identified again" in r for r in reasons), what="re-identified")
    assert link.state is LinkState.CONNECTED and link.ident == IDENT
    assert link.stats.rehandshakes == 1 and link.stats.link_faults == 0
    assert any(r.startswith("board rebooted") for r in reasons)


def test_a_nan_calibration_gain_is_refused_at_first_connect(board, make_link):
    board.replies[m.MsgType.HELLO] = lambda seq, msg: m.Ident(
        1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, math.nan, 0.0, 1_700_000_000)
    link = make_link()
    link.open()
    assert link.state is not LinkState.CONNECTED
    wait_for(lambda: "calibration" in link.reason, what="refusal naming the calibration")


def test_ident_problem_rules():
    assert ident_problem(IDENT) == ""
    assert "revision 2" in ident_problem(m.Ident(2, 1, 2, 3, "SN", 1, 1, 1.0, 0.0, 0))
    assert "serial" in ident_problem(m.Ident(1, 1, 2, 3, "", 1, 1, 1.0, 0.0, 0))
    assert "calibration" in ident_problem(m.Ident(1, 1, 2, 3, "SN", 1, 1, 1.0, math.inf, 0))
    assert "calibration" in ident_problem(m.Ident(1, 1, 2, 3, "SN", 1, 1, -1.0, 0.0, 0))


# --- F2: re-handshakes rate-limited, lost-sample count sane --------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        [(0, 0), (2**31 + 1, 10_000)],  # the field report: counter alternating 0 and 2^31+1
        [(0, 0), (1, 10_000)],  # a board that restarts after every sample
    ],
    ids=["counter_0_and_2^31+1", "restart_every_sample"],
)
def test_a_counter_that_keeps_going_back_is_rate_limited_and_counts_no_absurd_losses(board, link, pattern, caplog):
    caplog.set_level(logging.WARNING, logger=LINK_LOGGER)
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    hellos = len(board.commands(m.Hello))
    frames = 150  # 1.5 s at 100 Hz
    start = time.monotonic()
    for i in range(frames):
        counter, board_time = pattern[i % 2]
        board.send(m.Telemetry(board_time, counter, 1000, 5000, 1000, 1, 0))
        time.sleep(0.01)
    time.sleep(0.1)
    elapsed = time.monotonic() - start
    stats = link.stats
    assert stats.samples_lost <= stats.telemetry_received, stats
    # at most one HELLO per second (re-identification or reconnect), not one per frame
    assert len(board.commands(m.Hello)) - hellos <= elapsed / 1.0 + 2, board.commands(m.Hello)
    assert len(states) <= 4 * (elapsed + 1), states
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == LINK_LOGGER]
    assert len(warnings) <= 2, [r.getMessage() for r in warnings]


# --- F3: board time going backwards without a restart --------------------------------


def test_board_time_going_back_without_a_restart_is_a_fault_not_a_wrap(board, link):
    events = collect_telemetry(link)
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    for counter in range(5000, 5005):
        board.send(telemetry(counter))
    # the counter advances by one, the clock goes back 2 s: not a wrap (that would be +71.6 min)
    board.send(m.Telemetry(5005 * 1000 - 2_000_000, 5005, 1000, 5000, 1000, 1, 0))
    board.send(telemetry(5006))
    wait_for(lambda: any(r.startswith(LINK_FAULT) for _, r in states), what="the fault")
    reason = next(r for _, r in states if r.startswith(LINK_FAULT))
    assert "board time went back" in reason
    assert [e.msg.counter for e in events] == list(range(5000, 5005)), "the contradicting frame was delivered"
    wait_for(lambda: outputs_off(board) >= 1, what="OUTPUT 0 from the link")
    assert link.stats.board_reboots == 0


def test_the_u32_clock_wrap_is_still_a_wrap(board, link):
    events = collect_telemetry(link)
    base = (1 << 32) // 1000 - 2  # counter whose board time lies 2 ms before the u32 wrap
    for counter in range(base, base + 5):
        board.send(telemetry(counter))
    wait_for(lambda: len(events) == 5, what="five samples across the clock wrap")
    assert link.state is LinkState.CONNECTED and link.stats.link_faults == 0


def test_a_counter_jump_the_board_clock_cannot_explain_is_a_fault_not_lost_samples(board, link):
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    board.send(telemetry(10))
    board.send(m.Telemetry(11_000, 2_000_000_000, 1000, 5000, 1000, 1, 0))  # 2e9 samples in 1 ms
    wait_for(lambda: any(r.startswith(LINK_FAULT) for _, r in states), what="the fault")
    assert link.stats.samples_lost == 0
