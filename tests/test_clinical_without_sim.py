"""The clinical product works without the simulator: ``ionto_console`` loads ``ionto_sim`` only on the demo path."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import ionto_console

PACKAGE = Path(ionto_console.__file__).parent

#: Run in a fresh interpreter where ``import ionto_sim`` fails, as on a station built without it.
CLINICAL_STATION = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys, tempfile
    from pathlib import Path

    class NoSimulator(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "ionto_sim" or name.startswith("ionto_sim."):
                raise ModuleNotFoundError(f"No module named {name!r} (clinical station)", name=name)
            return None

    sys.meta_path.insert(0, NoSimulator())

    import ionto_console
    skipped = {"ionto_console.__main__"}
    for info in pkgutil.walk_packages(ionto_console.__path__, "ionto_console."):
        if info.name not in skipped and ".records.migrations" not in info.name:  # Alembic runs those
            importlib.import_module(info.name)  # every clinical module imports

    from ionto_console.app import SIMULATOR_KEY, BoardSources, NO_BOARD_NOTICE, open_records
    from ionto_console.calibration_cli import main as ionto_cal
    from ionto_console.control.station import Station
    from ionto_console.control.treatment_desk import TreatmentDesk
    from ionto_console.settings import Settings

    sources = BoardSources(Station(), Settings())
    assert SIMULATOR_KEY not in [key for key, _ in sources.choices()]
    assert sources.default_key() is None and sources.notice() == NO_BOARD_NOTICE
    folder = Path(tempfile.mkdtemp())
    db, problem, recovered = open_records(f"sqlite:///{folder / 'records.sqlite3'}")
    assert db is not None and problem == "" and recovered == []
    desk = TreatmentDesk(sources.station, db=db)
    assert "The treatment board is not connected." in desk.blockers()
    from ionto_console.accounts import create_first_admin

    create_first_admin(db, "ravi", "Ravi Menon", "he calibrates boards")  # an administrator calibrates too
    secret = folder / "ravi.pw"
    secret.write_text("he calibrates boards\\n")
    secret.chmod(0o600)
    code = ionto_cal(["verify", "--user", "ravi", "--password-file", str(secret),
                      "--database", f"sqlite:///{folder / 'records.sqlite3'}", "--board", str(folder / "none"),
                      "--dmm", "TCPIP::127.0.0.1::1::SOCKET", "--load", "TCPIP::127.0.0.1::1::SOCKET"])
    assert code == 2  # a real bench that is not there: an error, not a crash for want of the simulator
    db.close()
    assert not [m for m in sys.modules if m.split(".")[0] == "ionto_sim"], "ionto_sim was loaded"

    # The demo path is the one that needs it (which shows the simulator really was unimportable here).
    demo = BoardSources(Station(), Settings(demo=True))
    try:
        demo.connect(SIMULATOR_KEY)
    except ModuleNotFoundError as exc:
        assert "ionto_sim" in str(exc)
    else:
        raise AssertionError("the demo path started a simulator that cannot be imported")
    print("clinical station OK")
""")


def test_the_clinical_modules_import_and_work_with_the_simulator_unimportable(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path / "data"))
    proc = subprocess.run([sys.executable, "-c", CLINICAL_STATION], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "clinical station OK" in proc.stdout


def test_no_clinical_module_imports_the_simulator_at_module_level():
    """Only function bodies (the demo path, ``ionto-cal --sim``) may import ``ionto_sim``."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level, including ``if TYPE_CHECKING`` and try blocks
            for inner in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
                names = ([a.name for a in inner.names] if isinstance(inner, ast.Import)
                         else [inner.module or ""] if isinstance(inner, ast.ImportFrom) else [])
                if any(n == "ionto_sim" or n.startswith("ionto_sim.") for n in names):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{inner.lineno}")
    assert offenders == []
