"""Large numeric readouts, legible from two metres, and a grid that reflows them.

WHY the unit sits beside the title rather than the number: the number alone
then sets the readout's width, so three 48-point readouts share a row on a
1366-pixel screen and reflow to fewer columns on a smaller one.

WHY ``LiveText`` instead of a QLabel for a value that changes at the screen's
30 Hz: QLabel.setText always asks for a new layout (updateGeometry), and the
request climbs to the main window, which lays out and repaints the whole window
(measured: every widget of the treatment screen repainted about 20 times a
second while the current's last digit and the remaining time jittered; each
such repaint was the GUI thread's longest task). ``LiveText`` repaints only
itself when its text changes, and asks for a layout only when a text is wider
than any it has shown.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLayout, QSizePolicy, QVBoxLayout, QWidget

from ..core.numbers import fixed

#: Point size of the numbers a therapist reads across the room (current, dose, remaining time).
BIG_PT = 48
#: Point size of the secondary numbers (goal, voltage, impedance, elapsed time).
SMALL_PT = 24


class LiveText(QWidget):
    """One line of text that repaints itself on change without a new layout of the window."""

    MARGIN_PX = 2

    def __init__(self, text: str = "", alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft
                 | Qt.AlignmentFlag.AlignVCenter, parent: QWidget | None = None, *, widest: str = "") -> None:
        """``widest``: a text as wide as any this will show (room is reserved for it from the start)."""
        super().__init__(parent)
        self._text = text
        # the widest text shown so far (or reserved): what the size hint makes room for
        self._widest = max(text, widest, key=len)
        self._alignment = alignment
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name, so callers need not care)
        if text == self._text:
            return
        self._text = text
        metrics = self.fontMetrics()
        if metrics.horizontalAdvance(text) > metrics.horizontalAdvance(self._widest):
            self._widest = text
            self.updateGeometry()  # rare: only a text wider than any before needs more room
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance(self._widest) + 2 * self.MARGIN_PX,
                     metrics.height() + 2 * self.MARGIN_PX)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.rect().adjusted(self.MARGIN_PX, 0, -self.MARGIN_PX, 0), self._alignment, self._text)


class Readout(QFrame):
    """One number with its name and unit."""

    def __init__(self, title: str, unit: str, parent: QWidget | None = None, *, point_size: int = SMALL_PT,
                 widest: str = "") -> None:
        """``widest``: a value as wide as the widest this readout shows (e.g. "000:00"): the readout's
        width is then the same from the first run to the last, whatever the numbers and the unit line."""
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName(f"readout_{title.lower().replace(' ', '_')}")
        self._title_text = title
        self._title = QLabel()
        self._value = LiveText("--", Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, widest=widest)
        self._value.setObjectName("value")
        self.set_unit(unit)
        big = QFont()
        big.setPointSize(point_size)
        big.setBold(True)
        self._value.setFont(big)
        self._title.setStyleSheet("color: #444; font-size: 12pt;")
        self._title.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        layout.addWidget(self._title)
        layout.addWidget(self._value)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """As wide as the value (the title and unit line wrap under that width): WHY: the unit line
        "Dose (of 400 mA·min)" used to widen the tile, and the grid then fell to fewer columns."""
        hint = super().sizeHint()
        margins = self.contentsMargins().left() + self.contentsMargins().right()
        layout_margins = self.layout().contentsMargins()
        hint.setWidth(self._value.sizeHint().width() + margins + layout_margins.left() + layout_margins.right())
        return hint

    def set_unit(self, unit: str) -> None:
        """The unit line beside the title (e.g. the dose's target: "of 40 mA·min")."""
        set_text(self._title, f"{self._title_text} ({unit})" if unit else self._title_text)  # called at 30 Hz

    def set_value(self, text: str) -> None:
        """Repaints only this value, and only when the text changes (called 30 times a second)."""
        self._value.setText(text)

    def text(self) -> str:
        return self._value.text()

    def point_size(self) -> int:
        return self._value.font().pointSize()


class ReflowGrid(QWidget):
    """Widgets in as many equal columns as fit the width (at least one), re-laid on resize.

    WHY: at 1920 pixels the readouts sit in one row; at 1280x720 and 150 % they
    stack, and the page scrolls instead of pushing the window wider than the screen."""

    def __init__(self, widgets: list[QWidget], parent: QWidget | None = None, *, max_columns: int | None = None) -> None:
        super().__init__(parent)
        self._widgets = widgets
        self._max = max_columns or len(widgets)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        # the layout must not pin this widget's minimum width to the widest arrangement
        self._grid.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self._columns = 0
        self._lay_out(self._max)

    def _column_width(self) -> int:
        return max(w.sizeHint().width() for w in self._widgets) + self._grid.horizontalSpacing()

    def _lay_out(self, columns: int) -> None:
        columns = max(1, min(columns, self._max))
        if columns == self._columns:
            return
        self._columns = columns
        for widget in self._widgets:
            self._grid.removeWidget(widget)
        for column in range(self._max):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)
        for index, widget in enumerate(self._widgets):
            self._grid.addWidget(widget, index // columns, index % columns)
        self.updateGeometry()  # fewer columns, more rows: the page's height changes

    def columns(self) -> int:
        return self._columns

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), self._column_width()))
        return hint

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._lay_out(event.size().width() // max(self._column_width(), 1))
        super().resizeEvent(event)


def set_text(label: QLabel | LiveText, text: str) -> None:
    """``label.setText(text)`` unless it already shows ``text`` (no layout, no repaint then)."""
    if label.text() != text:
        label.setText(text)


def set_style(widget: QWidget, css: str) -> None:
    """``widget.setStyleSheet(css)`` unless it already has ``css``: WHY: every setStyleSheet
    re-polishes the widget (style resolution, a relayout and a repaint), even with the same
    text; the screens refresh at 30 Hz and their banners change colour a few times a session."""
    if widget.styleSheet() != css:
        widget.setStyleSheet(css)


def format_number(value: float | None, decimals: int) -> str:
    """A reading for the screen: "--" when unknown, and never "-0.0" (a tiny negative is zero)."""
    return "--" if value is None else fixed(value, decimals)


def current_text(value: float | None, output_on: bool) -> str:
    """The measured current: 0.00 while the board reports its output off.

    WHY: with the output off the measurement shows the amplifier's offset (0.01-0.02 mA);
    "0.01 mA" beside "Output off" makes a therapist doubt the output is off."""
    if value is None:
        return "--"
    return format_number(value if output_on else 0.0, 2)
