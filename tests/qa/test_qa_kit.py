"""The QA kit itself: the guide shows the example that runs, and the plugin is registered."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_guide_shows_the_example_that_runs_in_the_suite_and_it_is_under_20_lines():
    guide = (ROOT / "docs" / "qa-guide.md").read_text()
    example = (Path(__file__).with_name("test_field_report_0001.py")).read_text()
    assert f"```python\n{example}```" in guide
    assert len(example.strip().splitlines()) < 20


def test_the_plugin_is_registered_through_pytest11_and_documents_its_fixtures(pytestconfig):
    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("ionto_console") == "ionto_console.testing"
    plugin = pytestconfig.pluginmanager.get_plugin("ionto_console")
    assert plugin is not None
    for fixture in ("simulated_station", "fault_injection", "replayed_recording", "console_main_window"):
        assert callable(getattr(plugin, fixture)) and fixture in plugin.__doc__
    source = (ROOT / "src" / "ionto_console" / "testing.py").read_text()
    assert not re.search(r"^(from|import) ionto_sim", source, re.M), "ionto_sim must be imported lazily"


def test_simulated_station_and_fault_injection(simulated_station, fault_injection):
    import time

    live = simulated_station.station.snapshot().live
    assert live is not None and not live.output_on
    fault_injection.reboot()
    deadline = time.monotonic() + 10
    while simulated_station.station.link.stats.board_reboots == 0:
        assert time.monotonic() < deadline, "the injected reboot was not seen"
        time.sleep(0.01)


def test_console_main_window(console_main_window, qtbot):
    assert console_main_window.isVisible()


def test_the_simulated_station_can_treat(simulated_station):
    from ionto_console.core.plan import SessionPlan
    from ionto_console.core.protocols import load_library

    protocol = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40")
    plan = SessionPlan(protocol=protocol, patient_id="QA-1", patient_name="QA", site="forearm",
                       electrode="standard", checklist_passed=True, checklist_record={"overridden": []})
    assert simulated_station.desk.blockers(plan) == []
