"""The black box: every recorded session keeps its raw serial stream beside its record.

Both directions, time-stamped, zlib-compressed, bounded, audited with its
digest, exportable as a file; decoding it gives back exactly the frames the
console sent and the board answered.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from ionto_console.core.session import SessionState
from ionto_console.drivers.board import messages as m
from ionto_console.drivers.board.framing import FrameDecoder
from ionto_console.records import audit, load_wire_log, write_wire_log
from ionto_console.records.errors import InvalidRecord
from ionto_console.records.wire_log import FROM_BOARD, TO_BOARD, WireRecording, decode
from drill_bench import DEADLINE_S, assert_record_intact
from support import wait_for


def frames(records, direction):
    decoder = FrameDecoder()
    out = []
    for record in records:
        if record.direction == direction:
            out.extend(m.parse(f) for f in decoder.feed(record.data))
    return out


def test_a_recorded_session_keeps_its_serial_stream_both_ways(bench, tmp_path):
    controller = bench.start_treating()
    wait_for(lambda: controller.snapshot().state is SessionState.TREATING, DEADLINE_S, "treating", controller)
    controller.end_early()
    bench.wait_ended()
    bench.wait_record_closed()
    row = load_wire_log(bench.db, bench.session_id)
    assert row is not None and row.format == "ionto-wire/1" and not row.truncated
    records = list(decode(row.data))
    assert len(records) == row.records and sum(len(r.data) for r in records) == row.raw_bytes
    for direction in (TO_BOARD, FROM_BOARD):
        times = [r.t for r in records if r.direction == direction]
        assert times and times == sorted(times)
    sent = frames(records, TO_BOARD)
    commands = [msg for msg in sent if not isinstance(msg, m.Heartbeat)]
    # the session as it went out: output off, configuration, start, then its stop
    assert commands[:4] == [m.Output(0), m.SetLimits(commands[1].max_current_ua, commands[1].slew_ua_s, 500),
                            m.SetWaveform(0, 1000, 50), m.SetRate(200)], commands[:4]
    assert m.Output(1) in commands and commands.index(m.Output(1)) < next(
        i for i, msg in enumerate(commands) if isinstance(msg, m.Stop))
    received = frames(records, FROM_BOARD)
    assert any(isinstance(msg, m.Telemetry) for msg in received)
    assert any(isinstance(msg, m.Ack) for msg in received)
    # exported as the stored file, byte for byte
    path = tmp_path / "session.ionto-wire"
    assert write_wire_log(bench.db, bench.session_id, path) == len(row.data)
    assert path.read_bytes() == row.data
    # and offered in the Records tab through the export registry (one file: control/exporters/wire_log.py)
    from ionto_console.control.exporters import ExportTarget, exporter

    wire = exporter("wire")
    target = ExportTarget(bench.session_id, "P-1", dt.datetime.now(dt.timezone.utc))
    assert wire.check(target) == "" and wire.default_name(target).endswith(".ionto-wire")
    result = wire.write(bench.db, target, tmp_path / "tab.ionto-wire")
    assert result.paths == (tmp_path / "tab.ionto-wire",) and result.paths[0].read_bytes() == row.data
    # covered by the audit trail: the entry names its digest, and the chain verifies
    entries = audit.audit_history(bench.db, "wire_log")
    assert len(entries) == 1 and entries[0]["after"]["sha256"] == row.sha256
    assert_record_intact(bench.db)


def test_the_recording_is_bounded_and_says_it_was_truncated():
    rec = WireRecording(dt.datetime.now(dt.timezone.utc), 0.0, max_compressed=4096)
    for i in range(2000):
        rec.add(FROM_BOARD, i * 0.001, os.urandom(64))  # incompressible
    blob = rec.finish()
    # bounded: the limit plus what zlib still held when it was reached (its window, < 64 KiB)
    assert blob.truncated and len(blob.data) < 4096 + 65536
    assert 0 < blob.records < 2000
    assert len(list(decode(blob.data))) == blob.records


def test_a_damaged_log_is_refused_in_plain_words():
    with pytest.raises(InvalidRecord, match="damaged"):
        list(decode(b"not zlib"))
