"""A page whose content is built the first time it is shown or asked for.

WHY: the console must be usable within 2 s of launch, and every pyqtgraph
plot area costs about 40 ms to build. The tabs nobody sees at start (the board
monitor's plots, the records browser) are built when their tab is first
opened; what they show comes from the station's history or the records
database, so building them late loses nothing.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


class DeferredPage(QWidget, Generic[W]):
    """Holds a factory; ``content`` builds the widget once (on the first show, or when code asks first)."""

    def __init__(self, build: Callable[[], W], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self._content: W | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._content is not None

    @property
    def content(self) -> W:
        if self._content is None:
            self._content = self._build()
            self._layout.addWidget(self._content)
            if self.isVisible():  # added while this page is being shown: show it now, not a frame later
                self._content.show()
        return self._content

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        self.content
        super().showEvent(event)
