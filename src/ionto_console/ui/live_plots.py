"""Live current and impedance plots, refreshed from a telemetry history.

Refresh happens on a GUI timer that reads the history (never one Qt signal per
sample, never a pyqtgraph call off the GUI thread). Long sessions rely on
pyqtgraph's clip-to-view and peak downsampling, so a 30-minute 1000 Hz history
draws only what fits the screen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..control.telemetry_buffer import TelemetryView

MEASURED_PEN = pg.mkPen("#1f6fb2", width=2)
TARGET_PEN = pg.mkPen("#e07b00", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
IMPEDANCE_PEN = pg.mkPen("#2e7d32", width=2)


def _configure(plot: pg.PlotItem, y_label: str, units: str) -> None:
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setLabel("left", y_label, units=units)
    plot.setMenuEnabled(False)
    plot.getAxis("left").enableAutoSIPrefix(False)


class LivePlots(QWidget):
    """Current (measured and target) above impedance, sharing the time axis."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=False, background="w", foreground="#333")
        self._graphics = pg.GraphicsLayoutWidget()
        self.current_plot = self._graphics.addPlot(row=0, col=0)
        self.impedance_plot = self._graphics.addPlot(row=1, col=0)
        _configure(self.current_plot, "Current", "mA")
        _configure(self.impedance_plot, "Impedance", "kΩ")
        self.impedance_plot.setXLink(self.current_plot)
        self.impedance_plot.setLabel("bottom", "Time", units="s")
        self.current_plot.addLegend(offset=(10, 5))
        self.measured_curve = self.current_plot.plot(pen=MEASURED_PEN, name="measured")
        self.target_curve = self.current_plot.plot(pen=TARGET_PEN, name="target")
        self.impedance_curve = self.impedance_plot.plot(pen=IMPEDANCE_PEN)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._graphics)

    def clear(self) -> None:
        for curve in (self.measured_curve, self.target_curve, self.impedance_curve):
            curve.setData([], [])

    def show_history(self, view: TelemetryView) -> None:
        """Redraw from the history."""
        if len(view) == 0:
            self.clear()
            return
        self.measured_curve.setData(view.t, view.current_ma)
        self.target_curve.setData(view.t, view.target_ma)
        # NaN where the current is too small for an impedance; connect="finite" leaves a gap.
        self.impedance_curve.setData(view.t, view.impedance_kohm, connect="finite")

    def curve_points(self) -> int:
        data = self.measured_curve.getData()[0]
        return 0 if data is None else int(np.size(data))
