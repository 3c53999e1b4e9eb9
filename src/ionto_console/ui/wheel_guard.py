"""The mouse wheel scrolls the page; it changes a choice only in a field the user clicked into.

WHY: a new-user pass scrolled down the set-up form with the wheel and the Site drop-down under
the pointer changed from "Lateral epicondyle" to "Other" without a click. Qt gives the wheel to
whatever widget is under the pointer, so a long form of drop-downs is edited by scrolling it.
The same hand-over makes a wheel over the treatment screen's fixed plot scroll the page.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget


def send_wheel_to_page(widget: QWidget, event: QWheelEvent) -> None:
    """Give ``event`` to the nearest scroll area around ``widget`` (its own viewport excluded)."""
    area = widget.parentWidget()
    while area is not None and not isinstance(area, QAbstractScrollArea):
        area = area.parentWidget()
    if area is None:
        return
    target = area.viewport()
    local = target.mapFromGlobal(event.globalPosition().toPoint())
    QApplication.sendEvent(target, QWheelEvent(
        local.toPointF(), event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
        event.modifiers(), event.phase(), event.inverted(), event.source()))


class _UnfocusedWheelToPage(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if (event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent) and isinstance(watched, QWidget)
                and not watched.hasFocus()):
            send_wheel_to_page(watched, event)
            return True
        return False


def guard_choices_from_the_wheel(form: QWidget) -> None:
    """Every drop-down and number field in ``form``: the wheel changes it only once clicked into
    (focus by click or Tab, not by the wheel); otherwise the wheel scrolls the page."""
    guard = _UnfocusedWheelToPage(form)
    for field in [*form.findChildren(QComboBox), *form.findChildren(QAbstractSpinBox)]:
        field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(guard)
