"""A simulated instrument on a raw TCP socket (the "port 5025" SCPI socket), 127.0.0.1 only.

pyvisa-py opens it as ``TCPIP::127.0.0.1::<port>::SOCKET`` with read and
write termination ``"\\n"``. One thread per connection; the instrument's own
lock serialises them, as a real instrument serialises its interfaces.
Port 0 lets the OS choose (tests run in parallel with other helpers).
"""

from __future__ import annotations

import socket
import socketserver
import threading

from .instrument import SimInstrument

MAX_LINE = 64 * 1024


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        with server.conn_lock:
            server.conns.add(self.connection)
        try:
            while True:
                _quick_ack(self.connection)
                line = self.rfile.readline(MAX_LINE)
                if not line:
                    return
                reply = server.instrument.respond(line.decode("ascii", "replace").rstrip("\r\n"))
                if reply is not None:
                    self.wfile.write(reply + b"\n")
        except OSError:
            return  # the client went away or the server is stopping
        finally:
            with server.conn_lock:
                server.conns.discard(self.connection)


def _quick_ack(conn: socket.socket) -> None:
    """ACK at once (Linux): the host's Nagle algorithm holds its next small write until our ACK,
    and a delayed ACK would make every write-then-query pair (a setting + ``SYST:ERR?``) cost ~40 ms."""
    quick_ack = getattr(socket, "TCP_QUICKACK", None)
    if quick_ack is not None:
        try:
            conn.setsockopt(socket.IPPROTO_TCP, quick_ack, 1)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], instrument: SimInstrument) -> None:
        self.instrument = instrument
        self.conns: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(address, _Handler)


class ScpiSocketServer:
    """Serve ``instrument`` on 127.0.0.1:``port`` until ``stop()``."""

    def __init__(self, instrument: SimInstrument, port: int = 0, name: str = "scpi") -> None:
        self.instrument = instrument
        self._server = _Server(("127.0.0.1", port), instrument)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"ionto-sim-{name}", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def resource_name(self) -> str:
        """The VISA resource string for pyvisa-py."""
        return f"TCPIP::127.0.0.1::{self.port}::SOCKET"

    def start(self) -> "ScpiSocketServer":
        if not self._thread.is_alive():
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5.0)
        with self._server.conn_lock:
            conns = list(self._server.conns)
        for conn in conns:  # wake handler threads blocked in readline
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()

    def __enter__(self) -> "ScpiSocketServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
