"""The bench's fault-injection port: itself a SCPI instrument on its own TCP socket.

WHY SCPI and not another protocol: the tester already talks SCPI to the
bench (pyvisa, a terminal, ``nc``), and the same parser and error queue serve:

    SIM:FAULT dmm,hang            dmm stops answering (none|hang|garbage|error)
    SIM:FAULT dmm,error,-241,"Hardware missing"   every line queues that error
    SIM:FAULT? dmm                -> hang
    SIM:ERROR smu,-310,"Overheat" queue one error in the SMU
    SIM:RES?                      -> dmm=TCPIP::...,smu=...
    SYST:ERR?                     -> why the last SIM command was refused
"""

from __future__ import annotations

import socket
from typing import Callable, Mapping

from .instrument import ScpiError, SimInstrument

CONTROL_TIMEOUT_S = 5.0


class BenchControl(SimInstrument):
    IDN = "Ionto,BENCH-CONTROL,SIM,1.0"

    def __init__(self, instruments: Mapping[str, SimInstrument], resources: Callable[[], Mapping[str, str]]) -> None:
        super().__init__()
        self._instruments = instruments
        self._resources = resources
        self.add("SIMulation:FAULt", self._set_fault, max_args=4)
        self.add("SIMulation:FAULt", lambda a: self._instrument(a).fault, query=True, max_args=1)
        self.add("SIMulation:ERRor", self._push_error, max_args=3)
        self.add("SIMulation:RESources", lambda a: ",".join(f"{k}={v}" for k, v in self._resources().items()),
                 query=True)

    def _instrument(self, args: list[str]) -> SimInstrument:
        name = args[0].strip().strip('"').lower() if args else ""
        if name not in self._instruments:
            raise ScpiError(-224, f"Illegal parameter value; instruments: {', '.join(self._instruments)}")
        return self._instruments[name]

    def _set_fault(self, args: list[str]) -> None:
        instrument = self._instrument(args)
        if len(args) < 2:
            raise ScpiError(-109, "Missing parameter")
        code, text = _code_text(args[2:]) if len(args) > 2 else (None, None)
        try:
            instrument.set_fault(args[1].strip().strip('"'), code, text)
        except ValueError:
            raise ScpiError(-224, "Illegal parameter value; faults: none, hang, garbage, error") from None

    def _push_error(self, args: list[str]) -> None:
        instrument = self._instrument(args)
        instrument.push_error(*_code_text(args[1:]))


def _code_text(args: list[str]) -> tuple[int, str]:
    try:
        code = int(args[0])
    except (IndexError, ValueError):
        raise ScpiError(-104, "Data type error") from None
    text = args[1].strip().strip('"') if len(args) > 1 else "Simulated error"
    return code, text


def send_control(address: tuple[str, int], line: str) -> str:
    """Send one control line; for a query return its answer, for a command the error queue's answer.

    Raises ``RuntimeError`` with the bench's own error text if the command was refused.
    """
    with socket.create_connection(address, timeout=CONTROL_TIMEOUT_S) as sock, sock.makefile("rwb") as stream:
        is_query = line.split(" ", 1)[0].endswith("?")
        stream.write(line.encode("ascii") + b"\n" + (b"" if is_query else b"SYST:ERR?\n"))
        stream.flush()
        answer = stream.readline().decode("ascii", "replace").strip()
    if not is_query and not answer.startswith("+0,"):
        raise RuntimeError(f"bench control refused {line!r}: {answer}")
    return answer
