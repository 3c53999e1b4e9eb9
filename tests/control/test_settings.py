import pytest

from ionto_console.settings import Settings


def test_environment_then_overrides(monkeypatch):
    monkeypatch.setenv("IONTO_CALIBRATION_INTERVAL_DAYS", "180")
    monkeypatch.setenv("IONTO_BOARD_PORT", "/dev/ttyACM0")
    s = Settings.from_sources({"board_port": "/dev/ttyUSB1", "sim_load": None})
    assert s.calibration_interval_days == 180
    assert s.board_port == "/dev/ttyUSB1"


def test_invalid_setting_names_the_field(monkeypatch):
    monkeypatch.setenv("IONTO_CALIBRATION_INTERVAL_DAYS", "0")
    with pytest.raises(ValueError, match="calibration_interval_days"):
        Settings.from_sources({})
