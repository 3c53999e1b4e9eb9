"""The console's main window: connection, live readouts and plots.

It only shows state and sends intents. A 30 Hz timer polls the station's
snapshot and history; nothing here runs on any other thread.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable, Protocol

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from ..control.station import Station, StationSnapshot, fault_name
from ..control.treatment_desk import TreatmentDesk
from ..core.protocols import Protocol
from ..drivers.board import messages as m
from .alarm_banner import AlarmBanner
from .alarm_sound import CommandLinePlayer, Player
from .connection_panel import ConnectionPanel
from .live_plots import LivePlots
from .readouts import Readout, format_number
from .session_setup import SessionSetup
from .treatment_view import TreatmentView

REFRESH_HZ = 30


class PortSources(Protocol):
    """What the window needs from the composition root to offer ports."""

    def choices(self) -> list[tuple[str, str]]: ...

    def connect(self, key: str) -> None: ...


class MainWindow(QMainWindow):
    def __init__(
        self,
        station: Station,
        sources: PortSources,
        desk: TreatmentDesk,
        protocols: list[Protocol],
        *,
        calibration_interval_days: int = 365,
        today: Callable[[], dt.date] = dt.date.today,
        alarm_player: Player | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Ionto Console")
        self.station = station
        self.desk = desk
        self._sources = sources
        self._interval_days = calibration_interval_days
        self._today = today
        self.setup = SessionSetup(protocols, today=today)
        self.treatment = TreatmentView(desk, self.setup)
        self._shortcuts = self.treatment.stops.bind_shortcuts(self)
        self.alarm_banner = AlarmBanner(desk.alarms, alarm_player or CommandLinePlayer())

        self.connection = ConnectionPanel()
        self.current = Readout("Current", "mA")
        self.target = Readout("Target", "mA")
        self.voltage = Readout("Voltage", "V")
        self.impedance = Readout("Impedance", "kΩ")
        self.output_state = QLabel("Output OFF")
        self.output_state.setObjectName("output_state")
        self.output_state.setStyleSheet(
            "font-size:18pt; font-weight:bold; padding:8px; background:#eceff1; color:#37474f;"
        )
        self.fault_label = QLabel("")
        self.fault_label.setObjectName("fault_text")
        self.fault_label.setStyleSheet("color:#b71c1c; font-size:12pt;")
        self.plots = LivePlots()
        self.link_stats = QLabel("")
        self.statusBar().addPermanentWidget(self.link_stats)

        readouts = QHBoxLayout()
        for readout in (self.current, self.target, self.voltage, self.impedance):
            readouts.addWidget(readout)
        monitor = QWidget()
        monitor_layout = QVBoxLayout(monitor)
        monitor_layout.addWidget(self.output_state)
        monitor_layout.addLayout(readouts)
        monitor_layout.addWidget(self.fault_label)
        monitor_layout.addWidget(self.plots, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.treatment, "Treatment")
        self.tabs.addTab(monitor, "Board monitor")
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.alarm_banner)
        layout.addWidget(self.connection)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.connection.connect_requested.connect(self._sources.connect)
        self.connection.disconnect_requested.connect(self.station.disconnect)
        self.connection.refresh_requested.connect(self.refresh_ports)
        self.refresh_ports()

        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / REFRESH_HZ))
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def refresh_ports(self) -> None:
        self.connection.set_choices(self._sources.choices())

    def refresh(self) -> None:
        """Poll the station and redraw; must never raise into the event loop."""
        snap = self.station.snapshot()
        self.connection.show_snapshot(snap, self._interval_days, self._today())
        self._show_live(snap)
        if self.tabs.currentIndex() == 1:  # draw the monitor only when it is visible
            self.plots.show_history(self.station.buffer.view())
        self.link_stats.setText(
            f"telemetry {snap.telemetry_received} · lost {snap.samples_lost} · dropped frames {snap.frames_dropped}"
        )

    def _show_live(self, snap: StationSnapshot) -> None:
        live = snap.live
        self.current.set_value(format_number(live and live.current_ma, 2))
        self.target.set_value(format_number(live and live.target_ma, 2))
        self.voltage.set_value(format_number(live and live.voltage_v, 1))
        self.impedance.set_value(format_number(live.impedance_kohm if live else None, 1))
        on = bool(live and live.flags & m.Flags.OUTPUT_ENABLED)
        self.output_state.setText("Output ON" if on else "Output OFF")
        self.output_state.setStyleSheet(
            "font-size:18pt; font-weight:bold; padding:8px; "
            + ("background:#fff3e0; color:#e65100;" if on else "background:#eceff1; color:#37474f;")
        )
        fault = live.latched_fault if live else 0
        if fault:
            self.fault_label.setText(f"Board fault latched: {fault_name(fault)}")
        else:
            self.fault_label.setText(snap.last_fault)
