"""The mouse wheel scrolls the page; it never changes a choice of the set-up form.

WHY: a new-user pass scrolled down the set-up form with the wheel and the Site drop-down under
the pointer changed from "Lateral epicondyle" to "Other" without a click. Qt gives the wheel to
whatever widget is under the pointer, so a long form of drop-downs is edited by scrolling it.
WHY not even a focused one: a later pass picked "Dexamethasone 4 mg/mL, 40 mA·min" from the list
(the drop-down keeps the focus after a pick), scrolled the page down and the protocol became
"Lidocaine 2% before venipuncture" as it passed under the pointer. A choice changes by a click
or the keyboard only. The same hand-over makes a wheel over the treatment screen's fixed plot
scroll the page.
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


class _WheelToPage(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and isinstance(event, QWheelEvent) and isinstance(watched, QWidget):
            send_wheel_to_page(watched, event)
            return True
        return False


def guard_choices_from_the_wheel(form: QWidget) -> None:
    """Every drop-down and number field in ``form``: the wheel scrolls the page and never changes
    the field, focused or not (a click or the keyboard does; the wheel gives no focus either)."""
    guard = _WheelToPage(form)
    for field in [*form.findChildren(QComboBox), *form.findChildren(QAbstractSpinBox)]:
        field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(guard)
