"""BoardLink against a scripted fake board on a real pseudo-terminal.

The fake board owns the pty master; the link opens the slave through a
symlink (a stable path, like a udev rule), so "unplug" is closing the master
and "replug" is a new pty behind the same symlink.
"""

from __future__ import annotations

import os
import pty
import select
import threading
import time
import tty
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.errors import (
    BoardDisconnected,
    BoardError,
    BoardNakError,
    ReplyTimeout,
)
from ionto_console.drivers.board.framing import FrameDecoder, encode_frame
from ionto_console.drivers.board.link import BoardLink, LinkState, TelemetryEvent

IDENT = m.Ident(1, 1, 2, 3, "SN-TEST-0001", 25_000, 90_000, 1.0, 0.0, 1_700_000_000)
DEADLINE_S = 5.0

Reply = Callable[[int, m.Message], "m.Message | None"]


def wait_for(predicate: Callable[[], object], timeout: float = DEADLINE_S, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.005)


def default_reply(seq: int, msg: m.Message) -> m.Message | None:
    if isinstance(msg, m.Hello):
        return IDENT
    if isinstance(msg, m.GetStatus):
        return m.Status(0, 0, 4000, 100, 250, 100, 0, seq)
    return m.Ack(msg.TYPE)


class FakeBoard:
    """Answers commands per ``replies`` (type -> function returning a reply or None)."""

    def __init__(self, link_path: Path) -> None:
        self.link_path = link_path
        self.replies: dict[int, Reply] = {}
        self.received: list[tuple[int, m.Message]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.plug()

    # --- wire ------------------------------------------------------------------
    def plug(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        tmp = self.link_path.with_suffix(".tmp")
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(os.ttyname(self.slave))
        os.replace(tmp, self.link_path)  # atomic: the link never sees a half-made path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=DEADLINE_S)
        os.close(self.master)
        os.close(self.slave)

    def send(self, msg: m.Message, seq: int = 0) -> None:
        self.send_raw(msg.frame(seq))

    def send_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def _serve(self) -> None:
        decoder = FrameDecoder()
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                continue
            for frame in decoder.feed(data):
                msg = m.parse(frame)
                with self._lock:
                    self.received.append((frame.seq, msg))
                reply = self.replies.get(msg.TYPE, default_reply)(frame.seq, msg)
                if reply is not None:
                    self.send(reply, frame.seq)

    # --- inspection ------------------------------------------------------------
    def commands(self, kind: type[m.Message] | None = None) -> list[tuple[int, m.Message]]:
        with self._lock:
            return [(s, msg) for s, msg in self.received if kind is None or isinstance(msg, kind)]


@pytest.fixture
def board(tmp_path):
    fake = FakeBoard(tmp_path / "ionto-board")
    yield fake
    if not fake._stop.is_set():
        fake.unplug()


@pytest.fixture
def make_link(board):
    links: list[BoardLink] = []

    def make(**kwargs) -> BoardLink:
        kwargs.setdefault("reply_timeout_s", 2.0)  # generous: the CPU is shared
        kwargs.setdefault("reconnect_period_s", 0.05)
        link = BoardLink(str(board.link_path), **kwargs)
        links.append(link)
        return link

    yield make
    for link in links:
        link.close()


@pytest.fixture
def link(make_link):
    link = make_link()
    link.open()
    assert link.state is LinkState.CONNECTED, link.reason
    return link


def telemetry(counter: int, current_ua: int = 1000) -> m.Telemetry:
    return m.Telemetry(counter * 1000 & 0xFFFFFFFF, counter, current_ua, 5000, current_ua, 1, 0)


def collect_telemetry(link: BoardLink) -> list[TelemetryEvent]:
    events: list[TelemetryEvent] = []
    link.add_telemetry_listener(events.append)
    return events


# --- connection --------------------------------------------------------------


def test_open_says_hello_and_stores_ident(board, link):
    assert link.ident == IDENT
    assert "SN-TEST-0001" in link.reason and "1.2.3" in link.reason
    assert isinstance(board.commands()[0][1], m.Hello)


def test_missing_port_is_a_state_not_an_exception_then_connects_when_it_appears(tmp_path):
    path = tmp_path / "later"
    link = BoardLink(str(path), reply_timeout_s=2.0, reconnect_period_s=0.05)
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    try:
        link.open()
        assert link.state is LinkState.DISCONNECTED
        assert link.reason == f"board not found: cannot open {path}: No such file or directory"
        with pytest.raises(BoardDisconnected, match="not connected"):
            link.request(m.GetStatus())
        board = FakeBoard(path)
        try:
            wait_for(lambda: link.state is LinkState.CONNECTED, what="connect once the port exists")
            assert link.stats.reconnects == 0  # first connection, not a re-connection
            assert [s for s, _ in states] == [
                LinkState.DISCONNECTED, LinkState.CONNECTING, LinkState.CONNECTED
            ]
        finally:
            link.close()
            board.unplug()
    finally:
        link.close()


def test_a_port_that_never_answers_hello_is_reported(board, make_link):
    board.replies[m.MsgType.HELLO] = lambda seq, msg: None
    link = make_link(reply_timeout_s=0.05)
    link.open()
    assert link.state is not LinkState.CONNECTED
    wait_for(lambda: "answered HELLO" in link.reason, what="handshake failure reason")
    assert link.ident is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("loop://", "no IONTO-1 board answered HELLO on loop://"),  # hears its own HELLO
        ("socket://127.0.0.1:1", "board not found: cannot open socket://127.0.0.1:1: [Errno 111]"),
        ("nosuch://x", "board not found: cannot open nosuch://x: invalid URL"),
    ],
)
def test_any_pyserial_url_is_accepted_and_failures_have_reasons(url, reason):
    link = BoardLink(url, reconnect_period_s=10.0)
    try:
        link.open()
        assert link.state is LinkState.DISCONNECTED
        assert link.reason.startswith(reason), link.reason
    finally:
        link.close()


def test_close_fails_requests_and_stops(link):
    link.close()
    assert link.state is LinkState.DISCONNECTED and link.reason == "link closed"
    with pytest.raises(BoardDisconnected):
        link.request(m.GetStatus())
    with pytest.raises(BoardDisconnected):
        link.write_now(m.Stop(0))


# --- requests ----------------------------------------------------------------


def test_replies_are_matched_by_seq_even_out_of_order(board, link):
    held: dict[int, int] = {}
    board.replies[m.MsgType.SET_TARGET] = lambda seq, msg: held.__setitem__(msg.TYPE, seq)
    board.replies[m.MsgType.GET_STATUS] = lambda seq, msg: held.__setitem__(msg.TYPE, seq)
    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=lambda: results.__setitem__("target", link.request(m.SetTarget(500)))),
        threading.Thread(target=lambda: results.__setitem__("status", link.request(m.GetStatus()))),
    ]
    for t in threads:
        t.start()
    wait_for(lambda: len(held) == 2, what="both commands on the wire")
    target_seq, status_seq = held[m.MsgType.SET_TARGET], held[m.MsgType.GET_STATUS]
    board.send(m.Ack(m.MsgType.SET_TARGET), seq=status_seq)  # right seq, wrong command: ignored
    board.send(m.Ack(m.MsgType.SET_TARGET), seq=(target_seq + 100) % 256)  # stray seq: ignored
    board.send(m.Status(0, 0, 4000, 100, 250, 100, 0, 4242), seq=status_seq)
    board.send(m.Ack(m.MsgType.SET_TARGET), seq=target_seq)
    for t in threads:
        t.join(DEADLINE_S)
    assert results["status"] == m.Status(0, 0, 4000, 100, 250, 100, 0, 4242)
    assert results["target"] == m.Ack(m.MsgType.SET_TARGET)
    assert link.stats.replies_unmatched >= 2


def test_nak_raises_readable_board_nak_error(board, link):
    board.replies[m.MsgType.SET_TARGET] = lambda seq, msg: m.Nak(msg.TYPE, m.NakError.OUT_OF_RANGE)
    with pytest.raises(BoardNakError) as info:
        link.request(m.SetTarget(30_000))
    assert str(info.value) == "SET_TARGET refused: OUT_OF_RANGE"
    assert info.value.command == m.MsgType.SET_TARGET and info.value.error == m.NakError.OUT_OF_RANGE
    assert isinstance(info.value, BoardError)


def test_no_reply_raises_reply_timeout_and_the_link_stays_usable(board, link):
    board.replies[m.MsgType.SET_TARGET] = lambda seq, msg: None
    with pytest.raises(ReplyTimeout, match=r"^no reply to SET_TARGET within 50 ms$"):
        link.request(m.SetTarget(100), timeout=0.05)
    assert link.state is LinkState.CONNECTED
    assert isinstance(link.request(m.GetStatus()), m.Status)


def test_seq_wraps_and_every_reply_still_matches(board, link):
    link.set_heartbeat_period(0.08)
    for _ in range(300):
        status = link.request(m.GetStatus())
        # the fake board puts the seq it saw into uptime_ms: this reply is ours
        assert board.commands(m.GetStatus)[-1][0] == status.uptime_ms
    seqs = [s for s, _ in board.commands(m.GetStatus)]
    assert len(seqs) == 300
    assert sum(b < a for a, b in zip(seqs, seqs[1:])) >= 1  # wrapped 255 -> 0 at least once


def test_commands_that_are_not_host_commands_are_refused(link):
    with pytest.raises(ValueError, match="not a host-to-board command"):
        link.request(m.Ack(1))
    with pytest.raises(ValueError, match="does not fit"):
        link.request(m.SetTarget(-1))


def test_write_now_puts_the_frame_on_the_wire_and_consumes_the_reply(board, link):
    seq = link.write_now(m.Stop(0))
    wait_for(lambda: board.commands(m.Stop), what="STOP on the wire")
    assert board.commands(m.Stop) == [(seq, m.Stop(0))]
    unmatched = link.stats.replies_unmatched
    assert isinstance(link.request(m.GetStatus()), m.Status)  # the STOP's ACK came before this
    assert link.stats.replies_unmatched == unmatched


def test_heartbeats_arrive_and_follow_the_watchdog(board, link):
    wait_for(lambda: len(board.commands(m.Heartbeat)) >= 3, what="three heartbeats")
    with pytest.raises(ValueError, match="at most a third"):
        link.set_heartbeat_period(0.2)  # default watchdog 250 ms -> max 83 ms
    link.request(m.SetLimits(4000, 100, 100))
    assert link.heartbeat_period <= 0.1 / 3 + 1e-9


# --- telemetry ---------------------------------------------------------------


def test_lost_samples_are_counted_across_the_u32_wrap(board, link):
    events = collect_telemetry(link)
    counters = (0xFFFF_FFF0, 0xFFFF_FFF1, 0xFFFF_FFF4, 0xFFFF_FFFE, 0xFFFF_FFFF, 0, 2, 3)
    for counter in counters:
        board.send(telemetry(counter))
    wait_for(lambda: len(events) == len(counters), what="all telemetry events")
    assert [e.lost_before for e in events] == [0, 0, 2, 9, 0, 0, 1, 0]
    assert not any(e.board_rebooted for e in events)
    assert link.stats.samples_lost == 12 and link.stats.board_reboots == 0
    assert link.stats.telemetry_received == len(counters)


def test_counter_reset_is_reported_as_reboot_not_as_lost_samples(board, link):
    events = collect_telemetry(link)
    reasons: list[str] = []
    link.add_state_listener(lambda state, reason: reasons.append(reason))
    hellos = len(board.commands(m.Hello))
    for counter in (1000, 1001, 0, 1):
        board.send(telemetry(counter))
    wait_for(lambda: len(events) == 4, what="four telemetry events")
    assert [e.board_rebooted for e in events] == [False, False, True, False]
    assert [e.lost_before for e in events] == [0, 0, 0, 0]
    assert link.stats.samples_lost == 0 and link.stats.board_reboots == 1
    assert any(r.startswith("board rebooted") for r in reasons)
    wait_for(lambda: len(board.commands(m.Hello)) > hellos, what="HELLO again after the reboot")


def test_garbage_between_frames_is_dropped_and_valid_frames_still_arrive(board, link):
    events = collect_telemetry(link)
    faults: list[m.Fault] = []
    link.add_fault_listener(lambda fault, t: faults.append(fault))
    bad_crc = bytearray(telemetry(2).frame(0))
    bad_crc[5] ^= 0x40
    board.send_raw(b"\x01\x02\x03garbage\x00" + telemetry(1).frame(0))
    board.send_raw(bytes(bad_crc) + b"\xff" * 200 + b"\x00")  # bad CRC, then an oversized run
    board.send_raw(encode_frame(0x55, 0, b"xyz"))  # CRC-valid, unknown type
    board.send_raw(encode_frame(m.MsgType.TELEMETRY, 0, b"short"))  # CRC-valid, wrong size
    board.send_raw(m.Hello().frame(0))  # a host command coming from the board
    board.send(telemetry(2))
    board.send(m.Fault(m.FaultCode.OPEN_CIRCUIT, 123, 7))
    wait_for(lambda: faults, what="the fault after the garbage")
    assert [e.msg.counter for e in events] == [1, 2]
    stats = link.stats
    assert stats.frames_dropped >= 3 and stats.frames_rejected == 3
    assert faults == [m.Fault(m.FaultCode.OPEN_CIRCUIT, 123, 7)]
    assert link.state is LinkState.CONNECTED
    assert isinstance(link.request(m.GetStatus()), m.Status)


def test_a_failing_listener_does_not_stop_the_reader(board, link):
    def explode(event):
        raise RuntimeError("listener bug")

    link.add_telemetry_listener(explode)
    link.add_fault_listener(lambda fault, t: 1 / 0)
    events = collect_telemetry(link)
    for counter in range(1, 6):
        board.send(telemetry(counter))
    board.send(m.Fault(1, 0, 0))
    board.send(telemetry(6))
    wait_for(lambda: len(events) == 6, what="telemetry after listener exceptions")
    assert link.state is LinkState.CONNECTED


# --- unplug / replug ---------------------------------------------------------


def test_unplug_fails_pending_requests_at_once_and_replug_reconnects(board, make_link):
    link = make_link(reply_timeout_s=60.0)  # a timeout could not explain a prompt failure
    link.open()
    states: list[tuple[LinkState, str]] = []
    link.add_state_listener(lambda s, r: states.append((s, r)))
    board.replies[m.MsgType.GET_STATUS] = lambda seq, msg: None
    outcome: list[BaseException] = []

    def ask():
        try:
            link.request(m.GetStatus())
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    asker = threading.Thread(target=ask)
    asker.start()
    wait_for(lambda: board.commands(m.GetStatus), what="request on the wire")
    board.unplug()
    asker.join(DEADLINE_S)
    assert not asker.is_alive(), "pending request was not failed by the disconnect"
    assert len(outcome) == 1 and isinstance(outcome[0], BoardDisconnected)
    assert "board disconnected" in str(outcome[0])
    wait_for(lambda: link.state is LinkState.DISCONNECTED, what="DISCONNECTED")
    # the link sets its state, then tells its listeners (on its own thread): wait for the telling too
    wait_for(lambda: states, what="the state listener called")
    assert states[0][0] is LinkState.DISCONNECTED
    assert "board disconnected" in states[0][1] and str(board.link_path) in states[0][1]
    assert link.ident is None

    board.replies.clear()
    hellos_before = len(board.commands(m.Hello))
    board.plug()
    wait_for(lambda: link.state is LinkState.CONNECTED, what="reconnect after replug")
    assert link.stats.reconnects == 1
    assert len(board.commands(m.Hello)) > hellos_before
    assert link.ident == IDENT
    assert isinstance(link.request(m.GetStatus()), m.Status)


def test_silent_board_is_treated_as_gone(board, make_link):
    link = make_link(silence_timeout_s=0.3)
    link.open()
    board.replies[m.MsgType.HEARTBEAT] = lambda seq, msg: None  # alive port, dead firmware
    board.replies[m.MsgType.HELLO] = lambda seq, msg: None
    wait_for(lambda: "no frame from" in link.stats.last_error, what="silence detected")
    assert link.state is not LinkState.CONNECTED


# --- fuzz ----------------------------------------------------------------------


def _flip(frame: bytes, where: int, mask: int) -> bytes:
    """One corrupted byte somewhere before the delimiter."""
    pos = where % (len(frame) - 1)
    return frame[:pos] + bytes([frame[pos] ^ mask]) + frame[pos + 1:]


def _mangled_frames():
    good = st.builds(lambda c: telemetry(c).frame(0), st.integers(0, 2**32 - 1))
    # cut before the last body byte: what is left can never be a whole frame
    truncated = st.tuples(good, st.integers(1, 64)).map(lambda t: t[0][: min(t[1], len(t[0]) - 2)])
    bad_crc = st.tuples(good, st.integers(0, 255), st.integers(1, 255)).map(lambda t: _flip(*t))
    oversized = st.binary(min_size=67, max_size=300).map(lambda b: b.replace(b"\x00", b"\x01") + b"\x00")
    return st.lists(st.one_of(st.binary(max_size=200), truncated, bad_crc, oversized), max_size=8)


def test_fuzzed_bytes_never_crash_the_reader_nor_make_telemetry(board, link):
    events = collect_telemetry(link)
    faults: list[int] = []
    link.add_fault_listener(lambda fault, t: faults.append(fault.detail))
    marker = iter(range(1, 10**9))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mangled_frames())
    def feed(chunks):
        stamp = next(marker)
        for chunk in chunks:
            board.send_raw(chunk)
        # A delimiter ends any partial chunk; the FAULT then proves the reader got here.
        board.send_raw(b"\x00" + m.Fault(1, 0, stamp).frame(0))
        wait_for(lambda: stamp in faults, what="marker fault after the garbage")
        assert events == []

    feed()
    assert link.state is LinkState.CONNECTED
    assert link.stats.frames_dropped > 0


def test_a_doubled_telemetry_frame_early_in_the_boards_run_is_dropped_not_a_reboot(board, link):
    """ICD section 3 "Reboot": counter AND board time restart from 0. A frame doubled on the line in
    the board's first seconds is not that: dropped and counted, no reboot, no HELLO, no interruption."""
    events = collect_telemetry(link)
    reasons: list[str] = []
    link.add_state_listener(lambda state, reason: reasons.append(reason))
    hellos = len(board.commands(m.Hello))
    for counter in (100, 101, 101, 102):
        board.send(telemetry(counter))
    wait_for(lambda: link.stats.telemetry_received == 4, what="four telemetry frames read")
    wait_for(lambda: len(events) == 3, what="three telemetry events")
    assert [e.msg.counter for e in events] == [100, 101, 102]
    assert [e.lost_before for e in events] == [0, 0, 0] and not any(e.board_rebooted for e in events)
    assert link.stats.telemetry_duplicates == 1 and link.stats.board_reboots == 0
    assert link.stats.link_faults == 0 and link.state is LinkState.CONNECTED
    assert not any(r.startswith("board rebooted") for r in reasons)
    assert len(board.commands(m.Hello)) == hellos
