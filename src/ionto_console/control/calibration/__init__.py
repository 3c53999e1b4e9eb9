"""Calibration and verification of a treatment board on the engineer's bench.

One job per module:

- ``roles``: the instrument roles (``CurrentMeter``, ``LoadSetter``,
  ``ImpedanceMeter``) and the adapters that fill them with real instruments;
- ``tap``: the board's telemetry for the runner, as ``core`` samples made by
  the treatment's own ``control.samples.SampleConverter``;
- ``units``: those samples back in the µA and mV that calibration reasons in;
- ``wording``: why a run stopped, in plain words (``RunAborted``);
- ``bench``: wiring the board port (the station's when it has it) and the
  instruments, all or nothing;
- ``events``: what a run reports;
- ``runner``: ``CalibrationRunner``, the sequence itself, on its own thread;
- ``sink``: where finished results are kept (the records, one connection).

The names below are the package's public face (the wizard, ``ionto-cal`` and
the tests import them from here). When verified constants lapse is core's rule,
``core.calibration_due.calibration_status``, the same as the treatment desk's.
"""

from .bench import (BOARD_REPLY_TIMEOUT_S, DEFAULT_VISA_TIMEOUT_MS, Bench, BenchSpec, BoardLender, borrow_board,
                    open_board)
from .events import (ConnectFailed, FitReady, Identified, Phase, PhaseChanged, PointMeasured, RunEvent,
                     RunFinished)
from .roles import (CurrentMeter, DecadeLoadSetter, DmmCurrentMeter, ImpedanceMeter, LcrImpedanceMeter, LoadSetter,
                    idn_text)
from .runner import (LCR_FREQUENCY_HZ, SETTLE_MARGIN_S, TELEMETRY_DEADLINE_S, CalibrationRunner, RunnerSettings,
                     utc_now)
from .sink import CalibrationSink, RecordsCalibrationSink, records_audit_head, store_calibration_result
from .tap import TelemetryTap
from .units import board_mv, board_ua, settled, target_ua
from .wording import (RunAborted, describe_board_failure, describe_fault, describe_instrument_failure,
                      sentence)

__all__ = [
    "BOARD_REPLY_TIMEOUT_S", "DEFAULT_VISA_TIMEOUT_MS", "LCR_FREQUENCY_HZ", "SETTLE_MARGIN_S", "TELEMETRY_DEADLINE_S",
    "Bench", "BenchSpec", "BoardLender", "CalibrationRunner", "CalibrationSink", "ConnectFailed", "CurrentMeter", "DecadeLoadSetter",
    "DmmCurrentMeter", "FitReady", "Identified", "ImpedanceMeter", "LcrImpedanceMeter", "LoadSetter", "Phase",
    "PhaseChanged", "PointMeasured", "RecordsCalibrationSink", "RunAborted", "RunEvent", "RunFinished",
    "RunnerSettings", "TelemetryTap", "board_mv", "board_ua", "borrow_board", "describe_board_failure",
    "describe_fault", "describe_instrument_failure", "idn_text", "open_board", "sentence",
    "records_audit_head", "settled", "store_calibration_result", "target_ua", "utc_now",
]
