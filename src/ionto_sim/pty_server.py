"""The simulated board in real time behind a pseudo-terminal: what the console connects to.

``SimulatedBoardServer`` runs one I/O thread that owns the pty master and the
``SimulatedBoard``: it sleeps (select) until host bytes arrive or the next
TELEMETRY is due, then advances the board to the wall clock. Because the
board emits every sample that came due with the time stamp of its schedule,
a late wake-up (loaded machine) produces a batch of samples with honest
stamps and no gap; at high rates the thread wakes at most every 2 ms and
writes the due frames in one ``write``.

The host opens ``srv.port``, a symlink that stays the same across
``unplug()``/``replug()`` so the console can reconnect to the same path.
``unplug`` closes the pty master: reads on the host's open port then fail,
which is how the console notices a disconnected board. The board itself keeps
running meanwhile (its watchdog ends any output), like a board whose USB cable
was pulled.

With ``tcp_port`` set the same board listens on ``127.0.0.1`` instead (for
hosts without pseudo-terminals): ``srv.port`` is then a pyserial URL,
``socket://127.0.0.1:PORT``, one client at a time. ``unplug`` closes the client
connection and the listener (connections are refused, as for a vanished
device); ``replug`` listens again on the same port.

Outgoing bytes the host does not read are not kept forever: after 1 s without
a successful write the stale bytes are flushed, like a USB CDC device that
drops data nobody collects (the host sees a gap in the sample counter).
"""

from __future__ import annotations

import errno
import os
import queue
import random
import select
import shutil
import socket
import tempfile
import termios
import threading
import time
import tty
from typing import Any, Callable

from .board import BoardNvram, SimulatedBoard
from .control import ControlServer, snapshot_dict
from .model import Load, PhysicalModel, SkinElectrodeLoad, load_from_spec

LINK_NAME = "ionto-board"
#: How old the simulated factory calibration claims to be by default.
FACTORY_CAL_AGE_S = 60 * 86_400
MAX_PENDING_BYTES = 64 * 1024
STALE_FLUSH_S = 1.0
BATCH_S = 0.002
MAX_SLEEP_S = 0.05
CALL_TIMEOUT_S = 5.0
#: A wake-up later than this means this thread was starved, not that the host was silent.
STARVED_S = 0.05


class SimulatedBoardServer:
    """A SimulatedBoard on a pty in real time, plus a fault-injection control socket."""

    def __init__(self, load: Load | None = None, serial_number: str = "SIM-00001", seed: int | None = None,
                 link_dir: str | os.PathLike[str] | None = None, control_port: int = 0,
                 factory_cal_date: int | None = None, tcp_port: int | None = None) -> None:
        """``tcp_port``: serve over TCP on 127.0.0.1 instead of a pty (0 = any free port).

        ``factory_cal_date`` (Unix s): the date the factory calibration claims.
        By default 60 days ago, so the simulated station can treat; its
        constants are still the deliberately wrong factory ones (gain 1,
        offset 0), which a calibration run corrects. 0 = never calibrated."""
        self.model = PhysicalModel(load=load if load is not None else SkinElectrodeLoad(), seed=seed)
        if factory_cal_date is None:
            factory_cal_date = int(time.time()) - FACTORY_CAL_AGE_S
        self.board = SimulatedBoard(self.model, serial_number=serial_number, now_s=0.0,
                                    nvram=BoardNvram(cal_date=factory_cal_date))
        #: Guards the board: the I/O thread holds it while stepping, callers may too.
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._own_dir = link_dir is None
        self._link_dir = tempfile.mkdtemp(prefix="ionto-sim-") if link_dir is None else os.fspath(link_dir)
        self._link = os.path.join(self._link_dir, LINK_NAME)
        self._control_port = control_port
        self._control: ControlServer | None = None
        self._t0 = time.monotonic()
        self._master: int | None = None  # the pty master, or the TCP client's socket fd
        self._slave: int | None = None
        self._tcp_port = tcp_port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None
        self._pending = bytearray()
        self._last_write_ok = 0.0
        self._stall_until = -1.0
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], threading.Event, list]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._thread: threading.Thread | None = None
        self._running = False
        #: bytes dropped because the link was stalled/unplugged or the host did not read
        self.bytes_lost = 0

    # --- lifecycle -----------------------------------------------------------

    @property
    def port(self) -> str:
        """Stable path of the board's serial port (a symlink to the current pty slave),
        or its ``socket://127.0.0.1:PORT`` URL when served over TCP."""
        if self._tcp_port is not None:
            return f"socket://127.0.0.1:{self._tcp_port}"
        return self._link

    @property
    def control_address(self) -> tuple[str, int]:
        if self._control is None:
            raise RuntimeError("the simulator is not started")
        return self._control.address

    def start(self) -> "SimulatedBoardServer":
        if self._running:
            return self
        self._open_pty()
        with self.lock:
            self.board.advance(self._now())
            self.board.take_output()  # nobody could have heard what was sent before the port existed
        self._running = True
        self._thread = threading.Thread(target=self._run, name="ionto-sim-board", daemon=True)
        self._thread.start()
        self._control = ControlServer(self, port=self._control_port)
        self._control.start()
        return self

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()
        if self._running:
            self._running = False
            self._wake()
            if self._thread is not None:
                self._thread.join(timeout=CALL_TIMEOUT_S)
        self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1
        if self._own_dir:
            shutil.rmtree(self._link_dir, ignore_errors=True)

    def __enter__(self) -> "SimulatedBoardServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- fault injection (same names as the control socket commands) ----------

    def lift_electrode(self) -> None:
        self.model.lift_electrode()

    def restore_electrode(self) -> None:
        self.model.restore_electrode()

    def short_electrodes(self) -> None:
        self.model.short_electrodes()

    def clear_short(self) -> None:
        self.model.clear_short()

    def inject_overcurrent(self) -> None:
        """A regulator failure: the next enabled output spikes until the board cuts it."""
        self.model.inject_regulator_failure()

    def set_load(self, load: Load | str) -> None:
        """Swap the load (a ``Load`` or a spec: ``skin``, ``tray``, ``resistor:OHMS``)."""
        self.model.set_load(load_from_spec(load) if isinstance(load, str) else load)

    def stall_link(self, seconds: float) -> None:
        """For ``seconds`` the board neither receives nor sends (its watchdog still runs)."""
        if not 0 <= seconds <= 3600:
            raise ValueError(f"stall seconds must be 0..3600, got {seconds}")
        self._call(lambda: setattr(self, "_stall_until", self._now() + seconds))

    def unplug(self) -> None:
        """The port vanishes: the pty is closed and the symlink removed."""
        self._call(self._close_pty)

    def replug(self) -> None:
        """The port comes back on the same path (a new pty behind the same symlink, or the same TCP port)."""
        if self._tcp_port is not None:
            self._call(lambda: None if self._listener is not None else self._open_pty())
        else:
            self._call(lambda: None if self._master is not None else self._open_pty())

    def send_garbage(self, nbytes: int) -> None:
        """Send ``nbytes`` of line noise (then a delimiter) between two frames."""
        if not 1 <= nbytes <= 65536:
            raise ValueError(f"nbytes must be 1..65536, got {nbytes}")
        noise = bytes(self._rng.randrange(1, 256) for _ in range(nbytes)) + b"\x00"
        self._call(lambda: self._queue_out(noise))

    def press_hw_stop(self) -> None:
        self._call(lambda: self.board.press_hw_stop(self._now()))

    def release_hw_stop(self) -> None:
        self._call(lambda: self.board.release_hw_stop(self._now()))

    def reboot(self) -> None:
        self._call(lambda: self.board.reboot(self._now()))

    def drop_output(self) -> None:
        """The board's output opens by itself: no fault, no STOP (telemetry bit0 clear)."""
        self._call(lambda: self.board.drop_output(self._now()))

    def fail_self_test(self, test_no: int) -> None:
        """Arm a self-test failure for the next reboot (detail = ``test_no``)."""
        if not 0 <= test_no <= 255:
            raise ValueError(f"test number must be 0..255, got {test_no}")
        self._call(lambda: self.board.fail_self_test_at_next_boot(test_no))

    def status(self) -> dict[str, Any]:
        """Port, link and board state plus the model snapshot (for the control socket)."""
        with self.lock:
            board = self.board
            return {
                "port": self.port, "plugged": self._master is not None,
                "stalled": self._now() < self._stall_until,
                "board": {"output_enabled": board.output_enabled, "target_ua": board.target_ua,
                          "latched_fault": int(board.latched_fault), "flags": board.flags(),
                          "rate_hz": board.rate_hz, "frames_dropped": board.frames_dropped,
                          "samples": board.sample_counter, "cal_gain": board.nvram.cal_gain,
                          "cal_offset_ua": board.nvram.cal_offset_ua},
                "model": snapshot_dict(self.model.snapshot()),
            }

    # --- internals -----------------------------------------------------------

    def _now(self) -> float:
        return time.monotonic() - self._t0

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the I/O thread (which owns the pty) and wait for it."""
        if not self._running or threading.current_thread() is self._thread:
            with self.lock:
                return fn()
        done, box = threading.Event(), []
        self._calls.put((fn, done, box))
        self._wake()
        if not done.wait(CALL_TIMEOUT_S):
            raise TimeoutError("the simulator's I/O thread did not answer")
        if box and isinstance(box[0], BaseException):
            raise box[0]
        return box[0] if box else None

    def _run_calls(self) -> None:
        while True:
            try:
                fn, done, box = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                with self.lock:
                    box.append(fn())
            except BaseException as exc:  # handed back to the caller's thread
                box.append(exc)
            done.set()

    def _open_pty(self) -> None:
        if self._tcp_port is not None:
            self._open_tcp()
            return
        master, slave = os.openpty()
        tty.setraw(slave, termios.TCSANOW)  # no echo, no CR/LF translation: bytes pass untouched
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._pending.clear()
        self._last_write_ok = self._now()
        tmp = f"{self._link}.{os.getpid()}.tmp"
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self._link)  # atomic re-point: the path never dangles to a stale pty

    def _open_tcp(self) -> None:
        """Listen on 127.0.0.1 (the same port across unplug/replug); a client is accepted in ``_run``."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._tcp_port or 0))
        listener.listen(1)
        listener.setblocking(False)
        self._tcp_port = listener.getsockname()[1]
        self._listener = listener

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        if self._client is not None:
            client.close()  # one host at a time, like a serial port opened exclusively
            return
        client.setblocking(False)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client, self._master = client, client.fileno()
        self._pending.clear()
        self._last_write_ok = self._now()

    def _drop_client(self) -> None:
        """The TCP host went away: forget it and wait for the next one."""
        if self._client is not None:
            self._client.close()
        self._client = self._master = None
        self._pending.clear()

    def _close_pty(self) -> None:
        if self._tcp_port is not None:
            self._drop_client()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            return
        try:
            os.unlink(self._link)
        except FileNotFoundError:
            pass
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        self._pending.clear()

    def _link_up(self) -> bool:
        return self._master is not None and self._now() >= self._stall_until

    def _queue_out(self, data: bytes) -> None:
        if not data:
            return
        if not self._link_up() or len(self._pending) + len(data) > MAX_PENDING_BYTES:
            self.bytes_lost += len(data)
            return
        self._pending += data

    def _flush(self) -> None:
        if self._master is None or not self._pending:
            return
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            written = 0
        except OSError:
            if self._client is not None:
                self._drop_client()  # the TCP host closed its end
                return
            written = 0
        if written:
            del self._pending[:written]
            self._last_write_ok = self._now()
        elif self._now() - self._last_write_ok > STALE_FLUSH_S:
            # Nobody reads: drop what waits here and in the pty, as a USB device would.
            self.bytes_lost += len(self._pending)
            self._pending.clear()
            if self._slave is not None:
                termios.tcflush(self._slave, termios.TCIFLUSH)
            self._last_write_ok = self._now()

    def _read_host(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if self._client is not None:
                self._drop_client()
                return
            if exc.errno != errno.EIO:
                raise
            return
        if not data and self._client is not None:
            self._drop_client()  # EOF: the TCP host disconnected
            return
        if data and self._link_up():
            with self.lock:
                self.board.receive(data, self._now())

    def _run(self) -> None:
        last_wake = 0.0
        while self._running:
            self._run_calls()
            with self.lock:
                self.board.advance(self._now())
                out = self.board.take_output()
            self._queue_out(out)
            self._flush()
            now = self._now()
            last_wake = now
            wake_at = max(self.board.next_sample_s, last_wake + BATCH_S if self.board.rate_hz > 250 else 0.0)
            timeout = min(max(wake_at - now, 0.0), MAX_SLEEP_S)
            planned_wake = now + timeout
            readers = [self._wake_r] + ([self._master] if self._master is not None else [])
            if self._listener is not None and self._client is None:
                readers.append(self._listener.fileno())
            writers = [self._master] if self._master is not None and self._pending else []
            try:
                readable, _, _ = select.select(readers, writers, [], timeout)
            except (OSError, ValueError):
                continue  # an fd was closed under us by unplug(); loop and rebuild the lists
            late = self._now() - planned_wake
            if late > STARVED_S:
                with self.lock:
                    self.board.excuse_starvation(late)
            if self._wake_r in readable:
                try:
                    os.read(self._wake_r, 4096)
                except OSError:
                    pass
            if self._listener is not None and self._listener.fileno() in readable:
                self._accept()
            if self._master is not None and self._master in readable:
                self._read_host()
