"""The alarm banner: colour and flash by priority, acknowledge, audio pause, the log.

It reads ``AlarmManager`` (thread-safe) on a 20 Hz timer and sends intents
(acknowledge, pause audio). The burst schedule follows the priority's
pattern: a burst starts when sounding begins and again every pattern period.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.alarms import SIGNALS, AlarmManager, AlarmPriority
from .alarm_sound import Player, pattern_wav
from .readouts import set_style, set_text

TEXT_COLOUR = {AlarmPriority.HIGH: "white", AlarmPriority.MEDIUM: "black", AlarmPriority.LOW: "black"}


class AlarmBanner(QWidget):
    def __init__(
        self,
        alarms: AlarmManager,
        player: Player,
        clock: Callable[[], float] = time.monotonic,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.alarms = alarms
        self.player = player
        self._clock = clock
        self._wavs = {p: pattern_wav(SIGNALS[p].audio) for p in AlarmPriority}
        self._next_burst: float | None = None
        self._burst_priority: AlarmPriority | None = None
        self.text = QLabel("")
        self.text.setObjectName("alarm_text")
        self.text.setWordWrap(True)
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.setObjectName("alarm_ack")
        self.pause_button = QPushButton("Pause audio 2 min")
        self.pause_button.setObjectName("alarm_pause")
        self.log_button = QPushButton("Alarm log")
        self.audio_note = QLabel("" if player.available else "No audio output on this station: visual alarm only.")
        self.audio_note.setObjectName("audio_note")
        self.audio_note.setWordWrap(True)
        # the message on its own full-width line, the buttons below it: the banner floats over the
        # page (it never pushes STOP down), so it is as short as the message allows
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addWidget(self.text)
        row = QHBoxLayout()
        row.addWidget(self.audio_note, 1)
        for button in (self.ack_button, self.pause_button, self.log_button):
            button.setMinimumHeight(36)
            row.addWidget(button)
        layout.addLayout(row)
        self.ack_button.clicked.connect(lambda: self.alarms.acknowledge_all(self._clock()))
        self.pause_button.clicked.connect(lambda: self.alarms.pause_audio(self._clock()))
        self.log_button.clicked.connect(self.show_log)
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        now = self._clock()
        state = self.alarms.visual_state(now)
        self.setVisible(state.priority is not None)
        if state.priority is None:
            self._next_burst = None
            return
        more = f"  (+{state.active_count - 1} more)" if state.active_count > 1 else ""
        paused = self.alarms.audio_paused_remaining(now)
        pause_text = f"  · audio paused {int(paused) // 60}:{int(paused) % 60:02d}" if paused > 0 else ""
        set_text(self.text, f"{state.priority.value.upper()} ALARM: {state.message}{more}{pause_text}")
        background = state.colour_hex if state.lit else "#fafafa"
        colour = TEXT_COLOUR[state.priority] if state.lit else state.colour_hex
        # only when the colours change (the flash, a new priority): WHY: every setStyleSheet re-polishes
        # the banner and its children and asks for a new layout, at this timer's 20 Hz, on the GUI thread
        set_style(self,
            f"AlarmBanner, QLabel#alarm_text {{ background:{background}; color:{colour}; "
            "font-size:16pt; font-weight:bold; padding:6px; }"
            # the note in the banner's own colours: small black text on flashing red was unreadable
            f"QLabel#audio_note {{ background:{background}; color:{colour}; font-size:12pt; font-weight:bold; }}"
        )
        if not self.autoFillBackground():
            self.setAutoFillBackground(True)
        self._sound(now)

    def _sound(self, now: float) -> None:
        priority = self.alarms.audio_priority(now)
        if priority is None:
            self._next_burst = None
            self._burst_priority = None
            return
        if priority != self._burst_priority:
            self._next_burst = now  # a new or escalated alarm sounds at once
            self._burst_priority = priority
        if self._next_burst is not None and now >= self._next_burst:
            self.player.play(self._wavs[priority])
            period = SIGNALS[priority].audio.period_s
            self._next_burst = now + period if period else None

    def show_log(self) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle("Alarm log")
        view = QPlainTextEdit()
        view.setReadOnly(True)
        view.setPlainText(
            "\n".join(
                f"{e.t:10.2f}  {e.event.value:12s} {e.priority.value if e.priority else '':6s} {e.message}"
                for e in self.alarms.log
            )
        )
        layout = QVBoxLayout(dialog)
        layout.addWidget(view)
        dialog.resize(800, 400)
        dialog.show()
        self._log_dialog = dialog
