"""The console command's check of Qt's system libraries (scripts/qt_system_libs.sh, issue 14 item 13).

A stand-in ``ldd`` (the script's LDD) answers as the real one does on a machine without a library,
and the script must name the Debian package to install and refuse to go on (exit 1), never pass.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "qt_system_libs.sh"


def run_check(tmp_path: Path, ldd_stdout: str, ldd_stderr: str = "", ldd_status: int = 0):
    venv = tmp_path / "venv"
    plugin = venv / "lib" / "python3.11" / "site-packages" / "PySide6" / "Qt" / "plugins" / "platforms"
    plugin.mkdir(parents=True)
    (plugin / "libqxcb.so").write_bytes(b"")
    ldd = tmp_path / "ldd"
    ldd.write_text(f"#!/bin/sh\nprintf '%s' '{ldd_stdout}'\nprintf '%s\\n' '{ldd_stderr}' >&2\nexit {ldd_status}\n")
    ldd.chmod(0o755)
    env = {**os.environ, "LDD": str(ldd), "IONTO_NO_APT": "1"}
    return subprocess.run(["bash", str(SCRIPT), str(venv)], capture_output=True, text=True, env=env, timeout=60)


def test_a_library_not_found_is_named_by_its_package(tmp_path):
    done = run_check(tmp_path, "\tlibxcb-icccm.so.4 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n")
    assert done.returncode == 1
    assert "sudo apt-get install libxcb-icccm4" in done.stderr


def test_a_library_present_but_unusable_is_named_too(tmp_path):
    """New-user pass: an empty libxcb-cursor.so.0 made ldd stop with an error and list nothing;
    the check passed and Qt aborted with 'Could not load the Qt platform plugin "xcb"'."""
    done = run_check(tmp_path, "", "/x/libqxcb.so: error while loading shared libraries: "
                     "/lib/x86_64-linux-gnu/libxcb-cursor.so.0: file too short", ldd_status=1)
    assert done.returncode == 1, done.stderr
    assert "libxcb-cursor0" in done.stderr


def test_nothing_missing_passes_quietly(tmp_path):
    done = run_check(tmp_path, "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n")
    assert done.returncode == 0 and done.stderr.strip() == ""
