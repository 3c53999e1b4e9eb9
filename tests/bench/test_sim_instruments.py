"""The simulated instruments' SCPI behaviour, without sockets."""

from __future__ import annotations

import math

import pytest

from ionto_sim.model import Drive, PhysicalModel, ResistorLoad, SkinElectrodeLoad
from ionto_sim.scpi import SimDecade, SimDmm, SimLcr, SimSmu
from ionto_sim.scpi.instrument import GARBAGE, compile_pattern, _match


def _errors(inst) -> list[str]:
    out = []
    while (e := inst.respond("SYST:ERR?").decode()) != '+0,"No error"':
        out.append(e)
    return out


def _driven(ohms: float = 1000.0, setpoint_ua: float = 2000.0) -> PhysicalModel:
    model = PhysicalModel(load=ResistorLoad(ohms), seed=1)
    model.step(0.01, Drive(enabled=True, setpoint_ua=setpoint_ua))
    return model


@pytest.mark.parametrize("header, ok", [
    ("CONF:CURR:DC", True), ("CONFIGURE:CURRENT:DC", True), (":conf:curr", True), ("CONFig:CURR", False),
    ("CONF:DC", False), ("CONF:CURR:DC:DC", False),
])
def test_short_long_and_optional_nodes(header, ok) -> None:
    nodes = compile_pattern("CONFigure:CURRent[:DC]")
    assert _match(nodes, header.lstrip(":").upper().split(":")) is ok


def test_dmm_reads_the_models_current_on_range() -> None:
    model = _driven()
    dmm = SimDmm(model, seed=1)
    dmm.respond("CONF:CURR:DC 10E-3")
    true = model.snapshot().mean_current_a
    readings = [float(dmm.respond("READ?")) for _ in range(50)]
    assert abs(sum(readings) / 50 - true) < 1e-6
    assert max(readings) != min(readings)  # there is noise
    assert _errors(dmm) == []


@pytest.mark.parametrize("rng, overload", [("1E-4", True), ("1E-3", True), ("0.01", False), ("AUTO", False)])
def test_dmm_overload_above_range(rng, overload) -> None:
    dmm = SimDmm(_driven(setpoint_ua=2000.0), seed=1)  # ~2 mA flows
    dmm.respond(f"CONF:CURR:DC {rng}")
    value = float(dmm.respond("READ?"))
    assert (value == 9.9e37) is overload


def test_dmm_error_queue_texts_and_overflow() -> None:
    dmm = SimDmm(PhysicalModel(), seed=1)
    dmm.respond("CONF:CURR:DC 5")
    dmm.respond("BOGUS:CMD 1")
    dmm.respond("CURR:DC:NPLC fast")
    dmm.respond("*CLS 1")
    assert _errors(dmm) == ['-222,"Data out of range"', '-113,"Undefined header"', '-104,"Data type error"',
                            '-108,"Parameter not allowed"']
    for _ in range(25):
        dmm.respond("NOPE")
    errors = _errors(dmm)
    assert len(errors) == 20 and errors[-1] == '-350,"Queue overflow"'
    assert dmm.respond("UNKNOWN?") is None  # an unknown query answers nothing: the host times out


def test_dmm_nplc_rounds_up_and_function_query() -> None:
    dmm = SimDmm(PhysicalModel(), seed=1)
    assert dmm.respond("CURR:DC:NPLC 0.5;:CURR:DC:NPLC?") == b"+1.00000000E+00"
    assert dmm.respond("CONF:RES;:FUNC?") == b'"RES"'


def test_faults_hang_garbage_error() -> None:
    dmm = SimDmm(PhysicalModel(), seed=1)
    dmm.set_fault("hang")
    assert dmm.respond("*IDN?") is None
    dmm.set_fault("garbage")
    assert dmm.respond("*IDN?") == GARBAGE
    dmm.set_fault("error", -241, "Hardware missing")
    assert dmm.respond("CONF:CURR:DC 0.01") is None
    dmm.set_fault("none")
    assert _errors(dmm) == ['-241,"Hardware missing"']
    with pytest.raises(ValueError, match="unknown fault"):
        dmm.set_fault("explode")


def test_decade_sets_the_models_load_and_lcr_measures_it() -> None:
    model = PhysicalModel(load=SkinElectrodeLoad(), seed=1)
    decade, lcr = SimDecade(model), SimLcr(model, seed=1)
    decade.respond("SOUR:DATA 4700.04")
    assert decade.respond("SOUR:DATA?") == b"4700.0"
    assert model.snapshot().circuit.dc_ohm == pytest.approx(4700.0)
    lcr.respond(":FUNC:IMP:TYPE ZTD;:FREQ:CW 1000")
    z, theta, status = lcr.respond(":FETCH?").decode().split(",")
    assert float(z) == pytest.approx(4700, rel=2e-3) and abs(float(theta)) < 0.05 and status == "+0"
    decade.respond("SOUR:DATA 1E9")
    assert _errors(decade) == ['-222,"Data out of range"']


def test_lcr_sees_skin_capacitance_and_open_circuit() -> None:
    model = PhysicalModel(load=SkinElectrodeLoad(), seed=1)
    lcr = SimLcr(model, seed=1)
    lcr.respond(":FUNC:IMP:TYPE ZTD;:FREQ:CW 1000")
    theta = float(lcr.respond(":FETCH?").decode().split(",")[1])
    assert theta < -10  # Rp || C: capacitive
    model.lift_electrode()
    assert lcr.respond(":FETCH?").decode().endswith(",+1")


def test_smu_compliance_folds_back() -> None:
    smu = SimSmu(PhysicalModel(load=ResistorLoad(4700.0), seed=1), seed=1)
    smu.respond(':SOUR:FUNC CURR;:SOUR:CURR:VLIM 10;:SOUR:CURR 1E-3;:SENS:FUNC "VOLT";:OUTP ON')
    assert float(smu.respond(":READ?")) == pytest.approx(4.7, rel=1e-3)
    smu.respond(":SOUR:CURR 0.01")
    assert float(smu.respond(":READ?")) == pytest.approx(10.0, rel=1e-3)
    assert smu.respond(":SOUR:CURR:VLIM:TRIP?") == b"1"
    smu.respond(":SOUR:CURR 2")
    assert _errors(smu) == ['-222,"Data out of range"']
    assert math.isclose(float(smu.respond(":SOUR:CURR?")), 0.01)
