"""The alarm banner restyles only when its colours change (it refreshes at 20 Hz on the GUI thread)."""

from __future__ import annotations

from ionto_console.core.alarms import AlarmManager, AlarmPriority
from ionto_console.ui.alarm_banner import AlarmBanner
from ionto_console.ui.alarm_sound import RecordingPlayer


def test_the_banner_restyles_when_it_flashes_and_not_on_every_refresh(qtbot, monkeypatch):
    now = [100.0]
    alarms = AlarmManager()
    banner = AlarmBanner(alarms, RecordingPlayer(), clock=lambda: now[0])
    qtbot.addWidget(banner)
    banner._timer.stop()  # refreshed by hand below, at chosen times
    alarms.raise_alarm("electrode", AlarmPriority.HIGH, "Electrode contact lost", now[0])
    banner.refresh()
    assert banner.isVisible() and "HIGH ALARM" in banner.text.text()
    styles: list[str] = []
    real = banner.setStyleSheet
    monkeypatch.setattr(banner, "setStyleSheet", lambda css: (styles.append(css), real(css)))
    lit = alarms.visual_state(now[0]).lit
    for _ in range(3):  # the same instant: the same colours, nothing to restyle
        banner.refresh()
    assert styles == []
    flashes = 0
    for _ in range(200):  # 10 s at the timer's 50 ms: a high alarm flashes, each flash restyles once
        now[0] += 0.05
        banner.refresh()
        state = alarms.visual_state(now[0])
        if state.lit != lit:
            flashes += 1
            lit = state.lit
    assert flashes > 0
    assert len(styles) == flashes
    assert ("#fafafa" in banner.styleSheet()) != lit  # the colours shown are those of the flash
