"""A raw-bytes harness for the simulated board: commands go in as ICD frames
(encoded by messages.py), replies come out through FrameDecoder, time is injected."""

from __future__ import annotations

from ionto_console.drivers.board.framing import FrameDecoder
from ionto_console.drivers.board.messages import Fault, Heartbeat, Message, Telemetry, parse
from ionto_sim.board import SimulatedBoard
from ionto_sim.model import PhysicalModel


class Bench:
    """Drives one SimulatedBoard through its byte interface with a fake clock."""

    def __init__(self, load=None, seed: int = 1) -> None:
        self.model = PhysicalModel(seed=seed) if load is None else PhysicalModel(load=load, seed=seed)
        self.board = SimulatedBoard(self.model)
        self.decoder = FrameDecoder()
        self.t = 0.0
        self.seq = 0
        #: every frame the board sent: (time received, seq, message)
        self.log: list[tuple[float, int, Message]] = []

    def _collect(self) -> list[tuple[int, Message]]:
        frames = [(f.seq, parse(f)) for f in self.decoder.feed(self.board.take_output())]
        self.log += [(self.t, seq, msg) for seq, msg in frames]
        return frames

    def raw(self, data: bytes) -> list[Message]:
        """Feed raw bytes now; returns the non-telemetry frames they caused."""
        self.board.receive(data, self.t)
        return [m for _, m in self._collect() if not isinstance(m, Telemetry)]

    def cmd(self, msg: Message) -> Message:
        """Send one command; returns its single reply after checking the seq echo."""
        self.seq = (self.seq + 1) & 0xFF
        self.board.receive(msg.frame(self.seq), self.t)
        replies = [(s, m) for s, m in self._collect() if not isinstance(m, (Telemetry, Fault))]
        assert len(replies) == 1, replies
        seq, reply = replies[0]
        assert seq == self.seq
        return reply

    def run(self, seconds: float, heartbeat_s: float | None = 0.05, step_s: float = 0.01) -> list[Message]:
        """Advance the clock, sending HEARTBEAT every ``heartbeat_s`` (None: stay silent)."""
        start = len(self.log)
        end = self.t + seconds
        last_hb = self.t
        while self.t < end - 1e-12:
            self.t = min(end, self.t + step_s)
            if heartbeat_s is not None and self.t - last_hb >= heartbeat_s - 1e-12:
                self.board.receive(Heartbeat().frame(0), self.t)
                last_hb = self.t
            else:
                self.board.advance(self.t)
            self._collect()
        return [m for _, _, m in self.log[start:]]

    def telemetry(self, since: int = 0) -> list[Telemetry]:
        return [m for _, _, m in self.log[since:] if isinstance(m, Telemetry)]

    def last_telemetry(self) -> Telemetry:
        return self.telemetry()[-1]

