"""No domain rule is written a second time outside its home in core/ (a source scan).

Each check looks for the shape a copy of a rule takes (a word list, an enum of fault
names, a V/I division, a µA -> mA conversion of a wire field, a lapse sentence, a marker
label rule, a duty computation) in every module of both packages except the rule's home.

``PENDING`` would name a copy left in a module another engineer is rewriting in
parallel, to be wired at the merge; it is empty. Nothing else may appear.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import ionto_console
from ionto_console.core.corticosteroids import CORTICOSTEROIDS
from ionto_console.core.samples import BoardFault
from ionto_console.core.session import SIDE_EFFECT_KINDS

SRC = Path(ionto_console.__file__).resolve().parent.parent
PACKAGES = ("ionto_console", "ionto_sim")

#: rule -> modules (relative to src/ionto_console) that still hold a copy until a merge wires them.
PENDING: dict[str, set[str]] = {}


def modules() -> list[tuple[str, str, ast.Module]]:
    found = []
    for package in PACKAGES:
        for path in sorted((SRC / package).rglob("*.py")):
            name = path.relative_to(SRC / "ionto_console").as_posix() if package == "ionto_console" \
                else path.relative_to(SRC).as_posix()
            text = path.read_text("utf-8")
            found.append((name, text, ast.parse(text)))
    return found


MODULES = modules()
FAULT_NAMES = {fault.name for fault in BoardFault} - {"NONE"}


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _strings(tree: ast.Module) -> list[str]:
    skip = _docstrings(tree)
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]


def corticosteroid_lists(name: str, text: str, tree: ast.Module) -> bool:
    """Two or more corticosteroid names in a module's strings: a word list of its own."""
    named = {drug for s in _strings(tree) for drug in CORTICOSTEROIDS if drug in s.lower()}
    return len(named) >= 2


def fault_name_enums(name: str, text: str, tree: ast.Module) -> bool:
    """A class with four or more of the board's fault names as members, or a fault named by
    ``FaultCode(...).name`` (the ICD's upper-case name instead of ``BoardFault.describe``'s words).
    (The interlocks' ``TripKind`` shares two names with the board's faults: trips are not faults.)"""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            members = {t.id for stmt in node.body if isinstance(stmt, ast.Assign)
                       for t in stmt.targets if isinstance(t, ast.Name)}
            if len(members & FAULT_NAMES) >= 4:
                return True
    return re.search(r"FaultCode\([^)]*\)\.name", text) is not None


def side_effect_lists(name: str, text: str, tree: ast.Module) -> bool:
    """A literal tuple/list/set, or a class body (an enum), spelling two or more side-effect kinds."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
        elif isinstance(node, ast.ClassDef):
            values = {stmt.value.value for stmt in node.body
                      if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant)}
        else:
            continue
        if len(values & set(SIDE_EFFECT_KINDS)) >= 2:
            return True
    return False


def calibration_lapses(name: str, text: str, tree: ast.Module) -> bool:
    """A lapse sentence, a due date computed from an interval, or a due date compared with today."""
    return (any("lapsed on" in s for s in _strings(tree))
            or re.search(r"timedelta\(\s*days\s*=\s*\w*interval", text) is not None
            or re.search(r"\bdue\w*\s*<\s*\w*today|\btoday\w*(\(\))?\s*>\s*\w*due\b", text) is not None)


def impedances(name: str, text: str, tree: ast.Module) -> bool:
    """A voltage divided by a current (V/I) in any spelling the code base uses."""
    return re.search(r"voltage\w*\s*\)?\s*/\s*\(?\s*[\w.]*current|_mv\b\s*/\s*[\w.]*_ua\b", text) is not None


def wire_units(name: str, text: str, tree: ast.Module) -> bool:
    """An ICD current/voltage field divided by 1000 by hand."""
    return re.search(r"(current_ua|target_ua|voltage_mv|compliance_mv)\s*/\s*1000", text) is not None


def duty_and_dose(name: str, text: str, tree: ast.Module) -> bool:
    """The pulse duty from ``duty_pct``, or a trapezoid of the current, computed by hand."""
    return re.search(r"duty_pct[^\n]*/\s*100|np\.trapz|trapezoid\(", text) is not None


def marker_labels(name: str, text: str, tree: ast.Module) -> bool:
    """A plot marker label made from an alarm kind by hand."""
    return 'removeprefix("trip:")' in text


RULES = {
    "corticosteroid detection": (corticosteroid_lists, {"core/corticosteroids.py"}),
    "fault names": (fault_name_enums, {"core/samples.py"}),
    "side-effect kinds": (side_effect_lists, {"core/session.py"}),
    "calibration lapse": (calibration_lapses, {"core/calibration_due.py"}),
    "impedance": (impedances, {"core/samples.py", "ionto_sim/scpi/smu.py"}),  # a simulated instrument's R
    "wire-to-units": (wire_units, set()),
    "pulse duty and dose": (duty_and_dose, {"core/dose.py", "ionto_sim/board.py"}),  # the board's own physics
    "plot markers": (marker_labels, {"core/markers.py"}),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_no_rule_is_written_outside_its_home(rule):
    finds, homes = RULES[rule]
    copies = {name for name, text, tree in MODULES if finds(name, text, tree)} - homes
    assert copies <= PENDING.get(rule, set()), f"{rule} is written again in {sorted(copies)}: call core instead"


@pytest.mark.parametrize("rule", [r for r in RULES if RULES[r][1]])
def test_each_check_finds_the_rule_in_its_home(rule):
    """The scan would see a copy: it sees the original (wire-to-units has no literal 1000 in its home)."""
    finds, homes = RULES[rule]
    by_name = {name: (text, tree) for name, text, tree in MODULES}
    assert all(finds(home, *by_name[home]) for home in homes), rule


def test_the_scan_sees_both_packages():
    names = {name for name, _, _ in MODULES}
    assert {"core/samples.py", "ui/records_browser.py", "ionto_sim/board.py"} <= names
