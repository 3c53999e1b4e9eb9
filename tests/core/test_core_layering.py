"""core/ imports no Qt, serial, VISA or SQLAlchemy, and no console layer above it (DESIGN layers).

WHY an ``ast`` walk of every import at any depth: a lazy import inside a
function would slip past a first-column pattern (the same walk as
``tests/ui/test_layering.py`` does for ui/).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ionto_console.core
from support import imported_modules as walk_imports, is_under

CORE = Path(ionto_console.core.__file__).parent
FORBIDDEN = ("PySide6", "pyqtgraph", "serial", "pyvisa", "sqlalchemy", "ionto_sim", "ionto_console.drivers",
             "ionto_console.records", "ionto_console.control", "ionto_console.ui", "ionto_console.reports")


def imported_modules(source: str) -> list[tuple[int, str]]:
    return walk_imports(source, "ionto_console.core")


def forbidden(module: str) -> bool:
    return is_under(module, FORBIDDEN)


def test_the_walk_catches_lazy_and_relative_imports():
    source = ("def f():\n    from ..drivers.board import messages\n    import serial.tools\n"
              "from .. import records\nfrom .samples import Sample\n")
    assert sorted({m for _, m in imported_modules(source) if forbidden(m)}) == [
        "ionto_console.drivers.board", "ionto_console.drivers.board.messages", "ionto_console.records",
        "serial.tools"]


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_no_io_or_upper_layer(path: Path):
    bad = [f"line {line}: {module}" for line, module in imported_modules(path.read_text(encoding="utf-8"))
           if forbidden(module)]
    assert not bad, f"{path.name} imports " + "; ".join(bad)
