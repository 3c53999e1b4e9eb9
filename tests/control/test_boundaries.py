"""control/'s seams, read from the source: no import cycles, and the serial link built in one place."""

from __future__ import annotations

import ast
from pathlib import Path

import ionto_console

PACKAGE = Path(ionto_console.__file__).parent
CONTROL = PACKAGE / "control"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the ionto_console modules ``path`` imports (module level and inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {x for x in found if x.startswith("ionto_console.")}


def _control_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in CONTROL.rglob("*.py")}
    return {name: {x for x in _imports(path) if x in files and x != name} for name, path in files.items()}


def test_control_has_no_import_cycles():
    graph = _control_graph()
    assert "ionto_console.control.treatment_desk" not in graph["ionto_console.control.session_recorder"]
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1 and not nxt.endswith("calibration"):  # a package importing its own modules
                raise AssertionError(f"import cycle: {' -> '.join(path[path.index(nxt):] + [nxt])}")
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_only_the_station_factory_names_the_serial_link():
    """control/ talks to a BoardPort; ``board_port.board_link`` is the one place a BoardLink is built."""
    users = sorted(_module_name(p) for p in CONTROL.rglob("*.py")
                   if "BoardLink" in {n.id for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
                                      if isinstance(n, ast.Name)})
    assert users == ["ionto_console.control.board_port"]
