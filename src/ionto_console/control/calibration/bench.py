"""Wiring the calibration bench: the board port and the instruments, opened together or not at all.

WHY the board comes from the station when it can: a serial port has one
owner. When the console's station is already connected to the board being
calibrated, the run borrows the station's port (its listeners are added for
the run and removed after; the port stays open, owned by the station).
Otherwise (``ionto-cal``, a board on another port) the bench builds its own
link through the same factory the station uses (``board_port.board_link``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ...drivers.bench import BenchError, DecadeResistor, KeysightDmm, KeysightE4980A, open_instrument
from ...drivers.board.link import LinkState
from ..board_port import BoardPort, board_link
from .roles import CurrentMeter, DecadeLoadSetter, DmmCurrentMeter, ImpedanceMeter, LcrImpedanceMeter, LoadSetter
from .tap import TelemetryTap
from .wording import RunAborted, describe_instrument_failure

log = logging.getLogger(__name__)

DEFAULT_VISA_TIMEOUT_MS = 2_000
#: Reply timeout for the board during a calibration (a bench run is not a stop path: patience is fine).
BOARD_REPLY_TIMEOUT_S = 2.0


@dataclass
class Bench:
    """An open board port plus open instruments; the runner owns and closes it.

    ``owns_link`` False: the port is lent by the station; closing the bench
    gives it back (listeners removed, ``give_back`` called, port left open)
    instead of closing it."""

    link: BoardPort
    tap: TelemetryTap
    meter: CurrentMeter
    load: LoadSetter
    impedance: ImpedanceMeter | None = None
    owns_link: bool = True
    #: Reply timeout for the runner's requests (None: the port's own).
    reply_timeout_s: float | None = None
    give_back: Callable[[], None] = field(default=lambda: None, repr=False)
    #: Tells the lender the run drives the output (True) or no longer (False): its guard against an
    #: output nobody asked for looks away only meanwhile. No-op for a port the bench owns.
    drive_output: Callable[[bool], None] = field(default=lambda driving: None, repr=False)

    @property
    def identities(self) -> dict[str, str]:
        ids = {"dmm": self.meter.identity, "load": self.load.identity}
        if self.impedance is not None:
            ids["lcr"] = self.impedance.identity
        return ids

    def close(self) -> None:
        for inst in (self.meter, self.load, self.impedance):
            if inst is not None:
                try:
                    inst.close()
                except Exception:  # closing must not hide why a run ended
                    log.debug("closing %r failed", inst, exc_info=True)
        if self.owns_link:
            self.link.close()
        else:
            self.tap.detach(self.link)
            self.give_back()


def open_board(url: str, reply_timeout_s: float = BOARD_REPLY_TIMEOUT_S, *,
               factory: Callable[..., BoardPort] = board_link) -> tuple[BoardPort, TelemetryTap]:
    """Open a board port of our own and wait for its IDENT; RunAborted with the port's reason otherwise."""
    link = factory(url, reply_timeout_s=reply_timeout_s, reconnect_period_s=0.5)
    tap = TelemetryTap()
    tap.attach(link)
    link.open(wait=True)
    if link.state is not LinkState.CONNECTED or link.ident is None:
        reason = link.reason
        link.close()
        raise RunAborted(f"no board: {reason}")
    tap.lost = ""  # state changes before the handshake finished are not losses
    return link, tap


def borrow_board(link: BoardPort) -> TelemetryTap:
    """Listen to a port someone else owns and has connected (the station's); RunAborted if it is not."""
    if link.state is not LinkState.CONNECTED or link.ident is None:
        raise RunAborted(f"no board: {link.reason}")
    tap = TelemetryTap()
    tap.attach(link)
    return tap


class BoardLender(Protocol):
    """Who owns the console's board port and can lend it to a calibration run."""

    def lend(self, port: str) -> BoardPort | None:
        """The port connected to the board at ``port``, now lent (None: not connected there).
        Raises ValueError, in plain words, when it must not be lent now."""

    def give_back(self) -> None: ...

    def lent_output(self, driving: bool) -> None:
        """The run drives the output now (True) or no longer (False)."""


@dataclass(frozen=True)
class BenchSpec:
    """Where the board and instruments are (what the CLI and the wizard's connect page collect).

    ``lender``: where the console's own port can be borrowed (the ``TreatmentDesk``,
    or the ``Station``): when it lends the port connected to ``board_url``, the run
    borrows it instead of opening the serial port a second time, and gives it back
    when the bench closes."""

    board_url: str
    dmm: str
    load: str
    lcr: str | None = None
    visa_backend: str = "@py"
    visa_timeout_ms: int = DEFAULT_VISA_TIMEOUT_MS
    lender: BoardLender | None = field(default=None, compare=False, repr=False)
    link_factory: Callable[..., BoardPort] = field(default=board_link, compare=False, repr=False)

    def connect(self) -> Bench:
        """Open everything, or nothing: a failure closes what was opened and raises RunAborted."""
        try:
            lent = self.lender.lend(self.board_url) if self.lender is not None else None
        except ValueError as exc:
            raise RunAborted(str(exc)) from exc
        if lent is not None:
            try:
                link, tap, owns = lent, borrow_board(lent), False
            except RunAborted:
                self._give_back()
                raise
        else:
            (link, tap), owns = open_board(self.board_url, factory=self.link_factory), True
        opened: list[object] = []
        try:
            meter = DmmCurrentMeter(self._open("DMM", self.dmm, KeysightDmm, opened))
            load = DecadeLoadSetter(self._open("decade resistor", self.load, DecadeResistor, opened))
            lcr = (LcrImpedanceMeter(self._open("LCR meter", self.lcr, KeysightE4980A, opened))
                   if self.lcr else None)
        except BaseException:
            for inst in opened:
                inst.close()  # type: ignore[attr-defined]
            if owns:
                link.close()
            else:
                tap.detach(link)
                self._give_back()
            raise
        return Bench(link, tap, meter, load, lcr, owns_link=owns,
                     reply_timeout_s=None if owns else BOARD_REPLY_TIMEOUT_S, give_back=self._give_back,
                     drive_output=self._drive_output if not owns else (lambda driving: None))

    def _give_back(self) -> None:
        if self.lender is not None:
            self.lender.give_back()

    def _drive_output(self, driving: bool) -> None:
        if self.lender is not None:
            self.lender.lent_output(driving)

    def _open(self, role: str, resource: str, cls: type, opened: list[object]):
        try:
            inst = open_instrument(resource, cls, backend=self.visa_backend, timeout_ms=self.visa_timeout_ms)
        except BenchError as exc:
            raise RunAborted(describe_instrument_failure(role, f"connecting to {resource}", exc)) from exc
        opened.append(inst)
        return inst
