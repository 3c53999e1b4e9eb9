"""Text fields that stay a readable height whatever squeezes their dialog.

A dialog whose rows appear after it was first sized (the first-start
administrator form shows two more rows once the records say there are no
accounts) can be left by Qt's layout at its first, shorter height; the form
then shares that height out and squeezes each line edit to ~12 px, below a
line of text. A minimum height from the field's own font (line spacing plus
the frame's padding) keeps every field readable at any scaling or font size.
"""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QWidget

#: Frame and padding above and below the text line (Fusion draws ~4 px each side).
FIELD_PADDING_PX = 8


def readable_height(widget: QWidget) -> int:
    """The least height at which ``widget``'s text line shows whole: its font's line spacing plus padding."""
    return max(widget.sizeHint().height(), QFontMetrics(widget.font()).lineSpacing() + FIELD_PADDING_PX)


def keep_readable(*widgets: QWidget) -> None:
    """Give each field a minimum height of ``readable_height`` so no layout can squeeze it."""
    for widget in widgets:
        widget.setMinimumHeight(readable_height(widget))
