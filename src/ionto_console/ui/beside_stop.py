"""Questions and save dialogs that leave the stop panel working.

WHY: a modal dialog blocks every other window of the application. In a new-user pass, while the
"Treatment running" question of the window's close was up (and while the Records tab's save dialog
for the billing CSV was open during a treatment), a click on STOP did nothing and the current kept
rising from 2.0 to 2.9 mA; Esc only dismissed the question. These dialogs are shown non-modal with
a local event loop: the caller still waits for the answer, the stop panel takes clicks meanwhile,
and the dialog is laid over the area it is about (never over the stop panel). Esc stops from any
window while a treatment runs (``stop_panel.EscapeStopsEverywhere``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QPoint, Qt, QTimer
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

#: How often a question asked during a treatment checks whether the treatment has ended meanwhile.
WATCH_MS = 100


def place_over(dialog: QWidget, area: QWidget) -> None:
    """Centre ``dialog`` on ``area`` (kept on ``area``'s screen): WHY: centred on the window, a wide
    dialog covered the side-effect buttons and half of STOP."""
    centre = area.mapToGlobal(area.rect().center())
    frame = dialog.frameGeometry()
    top_left = centre - QPoint(frame.width() // 2, frame.height() // 2)
    screen = area.screen().availableGeometry() if area.screen() is not None else None
    if screen is not None:
        top_left.setX(max(screen.left(), min(top_left.x(), screen.right() - frame.width())))
        top_left.setY(max(screen.top(), min(top_left.y(), screen.bottom() - frame.height())))
    dialog.move(top_left)


def run_beside_stop(dialog: QDialog, over: QWidget | None = None,
                    dismiss_when: Callable[[], bool] | None = None) -> int:
    """Show ``dialog`` non-modal over ``over`` and wait (in a local event loop) until it is answered;
    ``dismiss_when()`` turning true rejects it (e.g. the treatment it asked about has stopped).
    Returns the dialog's result code."""
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    loop = QEventLoop()
    dialog.finished.connect(loop.quit)
    watch = None
    if dismiss_when is not None:
        watch = QTimer(dialog)
        watch.setInterval(WATCH_MS)
        watch.timeout.connect(lambda: dismiss_when() and dialog.reject())
        watch.start()
    dialog.show()
    if over is not None:
        place_over(dialog, over)
    dialog.raise_()
    dialog.activateWindow()
    if dialog.isVisible():
        loop.exec()
    if watch is not None:
        watch.stop()
    return dialog.result()


def ask_yes_no(parent: QWidget, title: str, question: str, over: QWidget | None = None,
               dismiss_when: Callable[[], bool] | None = None) -> bool:
    """A yes/no question (No is the default) that leaves the stop panel working; True for Yes."""
    box = QMessageBox(QMessageBox.Icon.Question, title, question,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    run_beside_stop(box, over, dismiss_when)
    clicked = box.clickedButton()
    answer = clicked is not None and box.standardButton(clicked) == QMessageBox.StandardButton.Yes
    box.deleteLater()
    return answer


def ask_save_path(parent: QWidget, title: str, proposed: str | Path, file_filter: str) -> str:
    """The save dialog of ``QFileDialog.getSaveFileName``, leaving the stop panel working; "" if cancelled."""
    proposed = Path(proposed)
    dialog = QFileDialog(parent, title, str(proposed.parent), file_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.selectFile(proposed.name)
    accepted = run_beside_stop(dialog, parent) == QDialog.DialogCode.Accepted
    files = dialog.selectedFiles() if accepted else []
    dialog.deleteLater()
    return files[0] if files else ""
