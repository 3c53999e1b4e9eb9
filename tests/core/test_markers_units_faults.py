"""Plot markers, wire-to-units conversion and board fault names: each has one home in core."""

from __future__ import annotations

import datetime as dt

from ionto_console.core.markers import MarkerKind, PlotMarker, kind_words, plot_markers
from ionto_console.core.samples import BoardFault, ma_from_wire, v_from_wire
from ionto_console.core.session import SIDE_EFFECT_KINDS, SideEffect
from ionto_console.drivers.board import messages as m

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.timezone.utc)


def test_markers_sorted_with_alarms_on_the_session_time_axis():
    marks = plot_markers(T0, [(T0 + dt.timedelta(seconds=60), "burning_tingling")],
                         [(T0 + dt.timedelta(seconds=31), 30.0, "trip:open_circuit"),
                          (T0 + dt.timedelta(seconds=90), None, "lost_telemetry")])
    assert marks == [PlotMarker(30.0, "open circuit", MarkerKind.ALARM),
                     PlotMarker(60.0, "burning tingling", MarkerKind.SIDE_EFFECT),
                     PlotMarker(90.0, "lost telemetry", MarkerKind.ALARM)]
    assert kind_words("skin_redness") == "skin redness"


def test_wire_units():
    assert ma_from_wire(4_000) == 4.0 and ma_from_wire(-1) == -0.001
    assert v_from_wire(90_000) == 90.0


def test_side_effect_kinds_are_the_enum():
    assert SIDE_EFFECT_KINDS == tuple(kind.value for kind in SideEffect)


def test_the_driver_names_faults_with_cores_enum_and_the_icd_numbering():
    assert m.FaultCode is BoardFault
    assert {f.name: f.value for f in BoardFault} == {"NONE": 0, "WATCHDOG": 1, "OVERCURRENT": 2, "OPEN_CIRCUIT": 3,
                                                     "HARDWARE_STOP": 4, "SELF_TEST": 5, "COMPLIANCE": 6}
    assert BoardFault.describe(3) == "open circuit" and BoardFault.describe(99) == "unknown fault code 99"
    fault = m.Fault.from_payload(m.Fault(m.FaultCode.SELF_TEST, 7, 0).payload())
    assert BoardFault(fault.code) is BoardFault.SELF_TEST


def test_trip_markers_are_in_plain_words():
    """No engineering word on a clinical plot: every interlock's marker reads in plain words."""
    from ionto_console.core.interlocks import TripKind

    assert kind_words("trip:compliance") == "voltage limit"
    for kind in TripKind:
        label = kind_words(f"trip:{kind.value}")
        assert "_" not in label and not {"compliance", "impedance", "deviation", "overcurrent"} & set(label.split())
