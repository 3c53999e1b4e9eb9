"""Call back once a window has been painted for the first time.

WHY: "the console is ready" means the user sees the window, not that
``show()`` returned: Qt lays out and paints it later, in the event loop
(pyqtgraph's plots included). Start-up time is measured to this moment, and
work that can wait (the collector freeze) runs after it.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback = callback

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            # the window's paint event comes first; its children paint in the same pass, so the
            # next turn of the event loop is after the whole first frame
            QTimer.singleShot(0, self._callback)
            self.deleteLater()
        return False


def when_first_painted(widget: QWidget, callback: Callable[[], None]) -> None:
    """Run ``callback`` on the GUI thread just after ``widget``'s first complete paint."""
    widget.installEventFilter(_FirstPaint(widget, callback))
