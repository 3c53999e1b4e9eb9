"""ui/ shows state and sends intents: it imports no drivers, records, reports, database or bench code.

WHY an ``ast`` walk and not a grep: a lazy ``from ..records import x`` inside a
function, an ``import sqlalchemy`` under ``if TYPE_CHECKING`` or an absolute
``ionto_console.drivers`` import would each slip past a pattern on the first
column. Every import statement anywhere in every ui module is resolved to its
absolute module name and checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ionto_console.ui
from support import imported_modules as walk_imports, is_under

UI = Path(ionto_console.ui.__file__).parent
PACKAGE = "ionto_console"
FORBIDDEN = ("ionto_console.drivers", "ionto_console.records", "ionto_console.reports", "sqlalchemy",
             "ionto_sim", "serial", "pyvisa",
             # the accounts store and the composition root read and write the records: roles are core.roles
             "ionto_console.accounts", "ionto_console.app", "argon2")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in the file, at any depth."""
    return walk_imports(path.read_text(encoding="utf-8"), f"{PACKAGE}.ui")


def forbidden(module: str) -> bool:
    return is_under(module, FORBIDDEN)


def test_the_walk_resolves_relative_and_lazy_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from ..records import Database\n"
                      "def f():\n    from ..drivers.board import messages as m\n    import sqlalchemy.exc\n"
                      "from .. import reports\nfrom ..control.station import Station\n", encoding="utf-8")
    bad = sorted({module for _line, module in imported_modules(sample) if forbidden(module)})
    assert bad == ["ionto_console.drivers.board", "ionto_console.drivers.board.messages",
                   "ionto_console.records", "ionto_console.records.Database", "ionto_console.reports",
                   "sqlalchemy.exc"]


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_ui_module_imports_no_io_layer(path: Path):
    bad = [f"line {line}: {module}" for line, module in imported_modules(path) if forbidden(module)]
    assert not bad, f"{path.name} imports " + "; ".join(bad)
