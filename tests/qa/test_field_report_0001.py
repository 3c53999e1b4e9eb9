"""Field report 0001: one 0 µA sample at 6 s cut a treatment (docs/qa-guide.md shows this file)."""
from pathlib import Path

from ionto_console.core.interlocks import InterlockLimits

RECORDING = Path(__file__).with_name("field-report-0001.ionto-wire")


def test_field_report_0001_one_glitching_sample_no_longer_cuts(replayed_recording):
    report = replayed_recording(RECORDING, "dexamethasone-4mgml-40")  # 7 s in about 0.1 s
    # the console in the field cut 3 ms after the glitch (6.000 s); this one treats on through it.
    # The recording's board then reports its output off (the field console's cut at 6.003 s): this
    # console did not cut, so that is output lost (safety case 13a), a cut once the window has passed
    assert [d.kind for d in report.replayed] == ["cut", "enable", "cut"] and not report.extra
    assert report.replayed[-1].t >= 6.003 + InterlockLimits.output_lost_window_s
