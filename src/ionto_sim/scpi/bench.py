"""The whole simulated bench: board on a pty plus DMM, SMU, LCR meter and decade resistor on TCP.

All of them share one physical model (``SimulatedBoardServer.model``): the
decade resistor sets the board's load, the DMM in series reads the current
the board really drives into it, the LCR meter measures it. That is WHY a
calibration run against this bench finds the board's hidden front-end error.
"""

from __future__ import annotations

import os
from typing import Any

from ..model import PhysicalModel, ResistorLoad, SkinElectrodeLoad
from ..pty_server import SimulatedBoardServer
from .control import BenchControl
from .decade import SimDecade
from .dmm import SimDmm
from .instrument import SimInstrument
from .lcr import SimLcr
from .model_port import BenchModel
from .server import ScpiSocketServer
from .smu import SimSmu

INSTRUMENTS = ("dmm", "smu", "lcr", "decade")


class SimulatedBench:
    """Start with ``with SimulatedBench() as bench:``; ``bench.resources`` holds the VISA strings.

    - ``board``: an existing ``SimulatedBoardServer`` to share (not stopped by us), or
      ``None`` to run our own (``with_board=False``: instruments only, on a private model).
    - ``load_ohms``: the decade's initial setting, which becomes the board's load;
      ``None`` keeps the board's load as it is (skin by default).
    - ``base_port``: 0 lets the OS choose every port; N uses N..N+4 (dmm, smu, lcr, decade, control).
    """

    def __init__(self, board: SimulatedBoardServer | None = None, *, with_board: bool = True,
                 load_ohms: float | None = 1000.0, seed: int | None = None,
                 link_dir: str | os.PathLike[str] | None = None, board_control_port: int = 0,
                 base_port: int = 0) -> None:
        self._own_board = board is None and with_board
        if self._own_board:
            board = SimulatedBoardServer(load=SkinElectrodeLoad() if load_ohms is None else ResistorLoad(load_ohms),
                                         seed=seed, link_dir=link_dir, control_port=board_control_port)
        self.board = board
        self.model: BenchModel = board.model if board is not None else PhysicalModel(
            load=SkinElectrodeLoad() if load_ohms is None else ResistorLoad(load_ohms), seed=seed)
        sub = (lambda k: None) if seed is None else (lambda k: seed + k)
        self.dmm = SimDmm(self.model, sub(1))
        self.smu = SimSmu(self.model, sub(2))
        self.lcr = SimLcr(self.model, sub(3))
        self.decade = SimDecade(self.model, load_ohms)
        self.instruments: dict[str, SimInstrument] = dict(zip(INSTRUMENTS, (self.dmm, self.smu, self.lcr,
                                                                            self.decade)))
        self.control = BenchControl(self.instruments, lambda: self.resources)
        port = (lambda k: 0) if base_port == 0 else (lambda k: base_port + k)
        self._servers = {name: ScpiSocketServer(inst, port(i), name) for i, (name, inst)
                         in enumerate(self.instruments.items())}
        self._control_server = ScpiSocketServer(self.control, port(len(INSTRUMENTS)), "bench-control")

    @property
    def resources(self) -> dict[str, str]:
        """Instrument name -> ``TCPIP::127.0.0.1::<port>::SOCKET``."""
        return {name: srv.resource_name for name, srv in self._servers.items()}

    @property
    def control_resource(self) -> str:
        return self._control_server.resource_name

    @property
    def control_address(self) -> tuple[str, int]:
        return "127.0.0.1", self._control_server.port

    def set_fault(self, instrument: str, fault: str, code: int | None = None, text: str | None = None) -> None:
        """``none``, ``hang``, ``garbage`` or ``error`` on one instrument (also ``SIM:FAULT`` on the control port)."""
        if instrument not in self.instruments:
            raise ValueError(f"unknown instrument {instrument!r}; use one of {', '.join(INSTRUMENTS)}")
        self.instruments[instrument].set_fault(fault, code, text)

    def start(self) -> "SimulatedBench":
        if self._own_board and self.board is not None:
            self.board.start()
        for server in (*self._servers.values(), self._control_server):
            server.start()
        return self

    def stop(self) -> None:
        for server in (self._control_server, *self._servers.values()):
            server.stop()
        if self._own_board and self.board is not None:
            self.board.stop()

    def __enter__(self) -> "SimulatedBench":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
