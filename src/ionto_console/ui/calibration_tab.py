"""The engineer's Calibration tab (engineers and administrators only; see ``accounts.can_calibrate``)."""

from __future__ import annotations

import dataclasses
from typing import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..control.calibration import (BenchSpec, BoardLender, CalibrationRunner, RecordsCalibrationSink, RunEvent,
                                   RunnerSettings)
from ..core.calibration import CalibrationResult
from ..control.background import Worker
from ..control.calibration.discovery import offered_ports, serial_ports, visa_resources
from .background_pump import BackgroundPump
from .calibration_wizard import CalibrationWizard, default_runner_factory


class CalibrationTab(QWidget):
    """The engineer's Calibration tab: the calibration wizard embedded as a page.

    WHY a fresh wizard after each finish or cancel: closing the wizard cancels
    its run and stops its timer, so the tab starts over with a new one, ready
    for the next board, with the signed-in engineer's name filled in.

    ``lender``: the console's own board port, borrowed when the engineer
    calibrates the board the station is connected to (one owner per port).
    ``simulated``: demo mode, every result is marked simulated (its certificate
    says so, and the records keep it only in the demo database)."""

    def __init__(self, interval_days: int, engineer: str, ports: list[str], records_url: str | None,
                 lender: BoardLender | None = None, *, simulated: bool = False,
                 connected_port: Callable[[], str] = lambda: "", account: str | None = None,
                 instruments: Callable[[], dict[str, str]] = dict,
                 stored: Callable[[], None] = lambda: None) -> None:
        """``engineer``: the signed-in account's printed full name (shown, not editable: the signed-in
        account authors the certificate); ``account``: its user name, for the audit trail.
        ``instruments``: the bench instruments known to be there, role -> VISA resource (the demo's
        simulated bench, from the composition root; a clinical console gives none). ``stored``: called
        (on the archive's worker) after a result was kept, so the board header's certificate date is
        looked up again (``TreatmentDesk.forget_certificate``)."""
        super().__init__()
        self._connected_port = connected_port
        self._instruments = instruments
        self._offered: tuple | None = None
        self._resources: list[str] = []
        #: Lists the VISA resources once, off the GUI thread (a bus scan can take seconds).
        self._finder = Worker("bench-discovery")
        self._pump = BackgroundPump(self._finder, self)
        self._finder.submit(lambda: (serial_ports(), visa_resources(self._settings_backend())), self._found)
        self._settings = RunnerSettings(interval_days=interval_days, simulated=simulated)
        self._engineer = engineer
        self._ports = ports
        self._lender = lender
        #: one records connection for every result this tab stores (opened on the first)
        self.sink = None if records_url is None else RecordsCalibrationSink(records_url, who=account)
        self._stored = stored
        self._store: Callable[[CalibrationResult], str] | None = None if self.sink is None else self._keep
        self._layout = QVBoxLayout(self)
        self.wizard = self._new_wizard()
        self._offer()
        #: the connected board and the demo's instruments can appear after the tab was built (the
        #: simulator starts beside the console): re-offered while the tab is shown, when they change
        self._watch = QTimer(self)
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self._offer_if_changed)
        self._watch.start()

    def _new_wizard(self) -> CalibrationWizard:
        wizard = CalibrationWizard(self._settings, ports=self._ports, store=self._store,
                                   audit_head=None if self.sink is None else self.sink.audit_head,
                                   runner_factory=self._runner)
        wizard.setWindowFlags(Qt.WindowType.Widget)
        wizard.connect_page.engineer.setText(self._engineer)
        wizard.connect_page.engineer.setReadOnly(True)  # the author is the signed-in account, not a typed name
        self._offered = None
        wizard.finished.connect(self._renew)
        self._layout.addWidget(wizard)
        wizard.show()
        return wizard

    def _keep(self, result: CalibrationResult) -> str:
        """Store in the records (on the archive's worker), then tell whoever shows the board's certificate."""
        assert self.sink is not None
        line = self.sink.store(result)
        self._stored()
        return line

    @staticmethod
    def _settings_backend() -> str:
        return BenchSpec("", "", "").visa_backend

    def _found(self, outcome) -> None:
        if outcome.ok and outcome.value is not None:
            self._ports, self._resources = outcome.value
        self._offer()
        self._finder.shutdown()  # asked once: its thread is not needed any more

    def _offer(self) -> None:
        """The board the console is connected to first (chosen), the VISA resources found, and the
        instruments known to be on this bench (the demo's simulated ones) in their fields."""
        ports = offered_ports(self._connected_port(), self._ports)
        instruments = self._instruments()
        self._offered = (tuple(ports), tuple(self._resources), tuple(sorted(instruments.items())))
        self.wizard.connect_page.offer(ports, self._resources, instruments)

    def _offer_if_changed(self) -> None:
        if not self.isVisible() or self.wizard.currentId() != self.wizard.CONNECT:
            return
        ports = offered_ports(self._connected_port(), self._ports)
        if self._offered != (tuple(ports), tuple(self._resources), tuple(sorted(self._instruments().items()))):
            self._offer()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Each time the tab is shown: the board the console is connected to comes first."""
        super().showEvent(event)
        self._offer()

    def _runner(self, spec: BenchSpec, settings: RunnerSettings,
                on_event: Callable[[RunEvent], None]) -> CalibrationRunner:
        return default_runner_factory(dataclasses.replace(spec, lender=self._lender), settings, on_event)

    def _renew(self, _result: int = 0) -> None:
        old = self.wizard
        self._layout.removeWidget(old)
        old.deleteLater()
        self.wizard = self._new_wizard()
        self._offer()
