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


def test_demo_mode_from_the_flag_or_the_environment_and_off_by_default(monkeypatch):
    from ionto_console.app import parse_args

    monkeypatch.delenv("IONTO_DEMO", raising=False)
    assert Settings.from_sources({}).demo is False  # a console is clinical unless asked
    assert Settings.from_sources({"demo": parse_args([]).demo}).demo is False
    assert Settings.from_sources({"demo": parse_args(["--demo"]).demo}).demo is True
    monkeypatch.setenv("IONTO_DEMO", "1")
    assert Settings.from_sources({"demo": parse_args([]).demo}).demo is True
    monkeypatch.setenv("IONTO_DEMO", "maybe")
    with pytest.raises(ValueError, match="demo"):
        Settings.from_sources({})


def test_console_sh_passes_demo_only_when_nothing_is_configured(tmp_path):
    """The script's choice, read from the script itself with a stub interpreter (no console started)."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    fake = tmp_path / "root"
    (fake / "scripts").mkdir(parents=True)
    shutil.copy(root / "scripts" / "console.sh", fake / "scripts" / "console.sh")
    (fake / "scripts" / "bootstrap.sh").write_text("true\n")
    (fake / ".venv" / "bin").mkdir(parents=True)
    python = fake / ".venv" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$@"\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("IONTO_BOARD_PORT", "IONTO_DATABASE_URL")}

    def args(*extra: str, **more: str) -> str:
        return subprocess.run(["bash", str(fake / "scripts" / "console.sh"), *extra], env={**env, **more},
                              capture_output=True, text=True, check=True).stdout.strip()

    assert args() == f"-m ionto_console --demo --database sqlite:///{fake}/.demo/records.sqlite3"
    assert "--demo" not in args("--port", "/dev/ttyACM0")
    assert "--demo" not in args(IONTO_DATABASE_URL="postgresql+psycopg://clinic/ionto")
    assert "--demo" not in args(IONTO_BOARD_PORT="/dev/ttyACM0")
