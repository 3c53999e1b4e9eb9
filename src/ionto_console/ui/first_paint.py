"""Call back once a window has been painted for the first time (or at the latest after a while).

WHY: "the console is ready" means the user sees the window, not that
``show()`` returned: Qt lays out and paints it later, in the event loop
(pyqtgraph's plots included). Start-up time is measured to this moment, and
work that can wait (the collector freeze) runs after it. A window that is
never painted (started minimized, covered on a platform that does not paint
hidden windows) still ends its start-up: the callback then runs at the
deadline, told that nothing was painted.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, callback: Callable[[bool], None], at_latest_ms: int) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback = callback
        # timers are children of this filter, itself a child of the widget: gone with the widget
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.timeout.connect(lambda: self._finish(painted=False))
        self._deadline.start(at_latest_ms)
        self._after_paint = QTimer(self)
        self._after_paint.setSingleShot(True)
        self._after_paint.timeout.connect(lambda: self._finish(painted=True))
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            # the window's paint event comes first; its children paint in the same pass, so the
            # next turn of the event loop is after the whole first frame
            self._widget.removeEventFilter(self)
            self._deadline.stop()
            self._after_paint.start(0)
        return False

    def _finish(self, painted: bool) -> None:
        self._widget.removeEventFilter(self)
        self._deadline.stop()
        callback, self._callback = self._callback, None
        if callback is not None:
            callback(painted)
        self.deleteLater()


def when_first_painted(widget: QWidget, callback: Callable[[bool], None], *, at_latest_ms: int = 5000) -> None:
    """Run ``callback(True)`` on the GUI thread just after ``widget``'s first complete paint, or
    ``callback(False)`` after ``at_latest_ms`` if it was not painted by then; exactly once."""
    _FirstPaint(widget, callback, at_latest_ms)
