"""Fault injection from outside a running simulator: JSON lines over TCP on 127.0.0.1.

WHY a socket: the console (or a tester, or a UI test) runs in another process
and must be able to lift an electrode or unplug the board while a treatment
runs, exactly as on the real bench. One request per line, one answer per line:

    {"cmd": "lift_electrode"}                -> {"ok": true}
    {"cmd": "stall_link", "seconds": 2}       -> {"ok": true}
    {"cmd": "set_load", "load": "resistor:4700"}
    {"cmd": "nonsense"}                       -> {"ok": false, "error": "unknown command ..."}

``status`` answers with the port, the board's state and the model snapshot.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from dataclasses import asdict
from typing import Any

#: command name -> its arguments in order, with the type each is converted to.
COMMANDS: dict[str, tuple[tuple[str, type], ...]] = {
    "lift_electrode": (),
    "restore_electrode": (),
    "short_electrodes": (),
    "clear_short": (),
    "inject_overcurrent": (),
    "stall_link": (("seconds", float),),
    "unplug": (),
    "replug": (),
    "send_garbage": (("nbytes", int),),
    "press_hw_stop": (),
    "release_hw_stop": (),
    "reboot": (),
    "drop_output": (),
    "fail_self_test": (("test_no", int),),
    "set_load": (("load", str),),
    "ping": (),
    "status": (),
}
MAX_LINE = 4096


class ControlError(RuntimeError):
    """The simulator refused a control command (or could not be reached)."""


def dispatch(target: Any, request: Any) -> dict[str, Any]:
    """Run one decoded request against ``target``; never raises, answers an error instead."""
    if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
        return {"ok": False, "error": 'request must be a JSON object with a "cmd" string'}
    name = request["cmd"]
    if name not in COMMANDS:
        return {"ok": False, "error": f"unknown command {name!r}; known: {', '.join(sorted(COMMANDS))}"}
    kwargs = {}
    for arg, kind in COMMANDS[name]:
        if arg not in request:
            return {"ok": False, "error": f"{name} needs {arg!r} ({kind.__name__})"}
        try:
            kwargs[arg] = kind(request[arg])
        except (TypeError, ValueError):
            return {"ok": False, "error": f"{name}: {arg!r} must be a {kind.__name__}, got {request[arg]!r}"}
    extra = set(request) - {"cmd"} - set(kwargs)
    if extra:
        return {"ok": False, "error": f"{name}: unexpected argument(s) {sorted(extra)}"}
    try:
        if name == "ping":
            return {"ok": True}
        if name == "status":
            return {"ok": True, **target.status()}
        getattr(target, name)(**kwargs)
    except Exception as exc:  # a bad value must become an answer, not kill the server thread
        return {"ok": False, "error": f"{name} failed: {exc}"}
    return {"ok": True}


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            try:
                request = json.loads(line)
            except ValueError as exc:
                answer = {"ok": False, "error": f"not JSON: {exc}"}
            else:
                answer = dispatch(self.server.target, request)  # type: ignore[attr-defined]
            try:
                self.wfile.write(json.dumps(answer).encode() + b"\n")
            except OSError:
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ControlServer:
    """The JSON-lines control socket, bound to 127.0.0.1 only (never to the network)."""

    def __init__(self, target: Any, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.target = target  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="ionto-sim-control", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5.0)
        self._server.server_close()


def send_command(address: tuple[str, int], cmd: str, timeout_s: float = 5.0, **args: Any) -> dict[str, Any]:
    """Send one control command; returns the answer, raises ``ControlError`` on refusal."""
    try:
        with socket.create_connection(address, timeout=timeout_s) as sock:
            sock.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
            answer = sock.makefile("rb").readline(MAX_LINE)
    except OSError as exc:
        raise ControlError(f"cannot reach the simulator control socket at {address[0]}:{address[1]}: {exc}") from None
    try:
        reply = json.loads(answer)
    except ValueError:
        raise ControlError(f"bad answer from the simulator: {answer!r}") from None
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "refused"))
    return reply


def snapshot_dict(snapshot: Any) -> dict[str, Any]:
    """A model snapshot as plain JSON values (inf becomes None)."""
    data = asdict(snapshot)
    data["circuit"] = {k: (None if v == float("inf") else v) for k, v in data["circuit"].items()}
    return data


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or just ``PORT`` for 127.0.0.1) -> a socket address."""
    host, sep, port = text.rpartition(":")
    try:
        return (host if sep and host else "127.0.0.1"), int(port)
    except ValueError:
        raise ValueError(f"bad control address {text!r}: use HOST:PORT") from None
