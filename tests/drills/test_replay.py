"""A recorded session replays to the same decisions (ionto-replay against a real black box)."""

from __future__ import annotations

from ionto_console.core.protocols import Protocol
from ionto_console.core.session import SessionState
from ionto_console.records import load_session, load_wire_log
from ionto_console.records.wire_log import decode
from ionto_console.replay import main, replay
from drill_bench import DEADLINE_S, drill_plan
from support import small_protocol, wait_for


def test_a_completed_session_replays_to_the_same_decisions(bench, tmp_path, capsys):
    protocol = small_protocol()  # ends on its own: dose reached, then the ramp-down
    controller = bench.desk.begin(drill_plan(protocol))
    wait_for(lambda: controller.snapshot().state is SessionState.COMPLETE, 30, "the dose delivered", controller)
    bench.wait_record_closed()
    records = list(decode(load_wire_log(bench.db, bench.session_id).data))
    stored = Protocol.model_validate(load_session(bench.db, bench.session_id).protocol)
    report = replay(records, stored)
    assert [d.kind for d in report.recorded] == ["cut", "enable", "stop", "cut"], report.recorded
    assert report.same, report.differences()
    # the command line, from the records database
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    assert main(["--database", url, "--session", str(bench.session_id)]) == 0
    assert "same decisions" in capsys.readouterr().out
