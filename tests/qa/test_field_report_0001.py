"""Field report 0001: one 0 µA sample at 6 s cut a treatment (docs/qa-guide.md shows this file)."""
from pathlib import Path

RECORDING = Path(__file__).with_name("field-report-0001.ionto-wire")


def test_field_report_0001_one_glitching_sample_no_longer_cuts(replayed_recording):
    report = replayed_recording(RECORDING, "dexamethasone-4mgml-40")  # in real time: 7 s
    # the console in the field cut 3 ms after the glitch; this one treats on through it
    assert [str(d) for d in report.missing] == ["cut at 6.003 s"]
    assert [d.kind for d in report.replayed] == ["cut", "enable"] and not report.extra
