"""Delivers a control worker's results on the GUI thread, and tells the screen when it is busy.

WHY a QTimer drains the worker's queue (and not a signal emitted by the
worker): the worker stays Qt-free (control/background.py), and each callback
runs on the thread that owns the widgets. The timer runs only while a job is
outstanding, so an idle screen costs no wake-ups.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..control.background import Worker

#: How often finished jobs are looked for while one is outstanding (a click answers within a frame or two).
DRAIN_MS = 15


class BackgroundPump(QObject):
    """Drains ``worker`` from a QTimer while it has work; ``busy_changed(bool)`` for the busy state.

    Submit through the worker (or a control service that owns it) from the GUI thread."""

    busy_changed = Signal(bool)

    def __init__(self, worker: Worker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_MS)
        self._timer.timeout.connect(self.drain)
        worker.on_submit = self._submitted

    @property
    def busy(self) -> bool:
        return self.worker.pending > 0

    def _submitted(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
        if not self._busy:
            self._busy = True
            self.busy_changed.emit(True)

    def drain(self) -> None:
        """Deliver finished results now (the timer calls it)."""
        self.worker.drain()
        if not self.busy:
            self._timer.stop()
            if self._busy:
                self._busy = False
                self.busy_changed.emit(False)
