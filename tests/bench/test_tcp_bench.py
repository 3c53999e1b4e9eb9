"""The drivers against the simulated instruments over real TCP sockets through pyvisa-py."""

from __future__ import annotations

import pytest

from ionto_console.drivers.bench import (DecadeResistor, InstrumentError, InstrumentGarbage, InstrumentOverload,
                                         InstrumentTimeout, Keithley2450, KeysightDmm, KeysightE4980A,
                                         open_instrument)
from ionto_sim.model import Drive
from ionto_sim.scpi import send_control

TIMEOUT_MS = 3000


def _open(bench, rm, name, cls):
    return open_instrument(bench.resources[name], cls, timeout_ms=TIMEOUT_MS, resource_manager=rm)


def test_every_driver_connects_and_identifies(bench, rm) -> None:
    for name, cls, model in (("dmm", KeysightDmm, "34461A"), ("smu", Keithley2450, "MODEL 2450"),
                             ("lcr", KeysightE4980A, "E4980A"), ("decade", DecadeResistor, "PRS-200")):
        with _open(bench, rm, name, cls) as inst:
            assert inst.identity.model == model
            assert inst.resource_name.startswith("TCPIP") and inst.resource_name.endswith("SOCKET")


def test_decade_sets_the_load_that_lcr_dmm_and_smu_see(bench, rm) -> None:
    with _open(bench, rm, "decade", DecadeResistor) as box, _open(bench, rm, "lcr", KeysightE4980A) as lcr, \
            _open(bench, rm, "dmm", KeysightDmm) as dmm, _open(bench, rm, "smu", Keithley2450) as smu:
        assert box.set_resistance(4700.0) == 4700.0
        lcr.function, lcr.frequency_hz, lcr.level_v = "ZTD", 1000, 0.5
        reading = lcr.fetch()
        assert reading.primary == pytest.approx(4700, rel=2e-3) and abs(reading.secondary) < 0.05
        dmm.configure_resistance(10e3, nplc=10)
        assert dmm.read() == pytest.approx(4700, rel=1e-4)
        smu.apply_current(1e-3, 10.0)
        smu.output = True
        assert smu.read() == pytest.approx(4.7, rel=1e-3)
        smu.source_current_a = 5e-3  # 23.5 V wanted, 10 V allowed: compliance
        assert smu.read() == pytest.approx(10.0, rel=1e-3)
        smu.output_off()
        assert smu.output is False


def test_dmm_reads_the_current_flowing_into_the_load(bench, rm) -> None:
    bench.model.step(0.01, Drive(enabled=True, setpoint_ua=2000.0))
    true_a = bench.model.snapshot().mean_current_a
    with _open(bench, rm, "dmm", KeysightDmm) as dmm:
        dmm.configure_current_dc(10e-3, nplc=10)
        assert dmm.read() == pytest.approx(true_a, abs=1e-6)
        dmm.configure_current_dc(1e-3)
        with pytest.raises(InstrumentOverload, match="READ"):
            dmm.read()


def test_instrument_error_carries_the_instruments_own_text(bench, rm) -> None:
    with _open(bench, rm, "dmm", KeysightDmm) as dmm:
        with pytest.raises(InstrumentError) as info:
            dmm.configure("CONF:CURR:DC 5")  # past the driver's validator: the instrument refuses
        assert info.value.errors == [(-222, "Data out of range")]
        with pytest.raises(InstrumentError, match="Undefined header"):
            dmm.configure("CONF:CURR:AC 1")
        dmm.configure_current_dc(0.1)  # the queue was drained: the next setting is clean


def test_validator_stops_bad_settings_before_the_wire(bench, rm) -> None:
    with _open(bench, rm, "lcr", KeysightE4980A) as lcr:
        sent = len(bench.lcr.log)
        with pytest.raises(ValueError, match="frequency_hz"):
            lcr.frequency_hz = 5e6
        assert len(bench.lcr.log) == sent


def test_hung_instrument_times_out_then_recovers(bench, rm) -> None:
    with _open(bench, rm, "dmm", KeysightDmm) as dmm:
        dmm.resource.timeout = 300
        bench.set_fault("dmm", "hang")
        with pytest.raises(InstrumentTimeout) as info:
            dmm.read()
        port = bench.resources["dmm"].split("::")[2]
        assert info.value.command == "READ?" and f"::{port}::SOCKET" in info.value.resource
        assert "no answer within 300 ms" in str(info.value)
        bench.set_fault("dmm", "none")
        dmm.resource.timeout = TIMEOUT_MS
        dmm.configure_voltage_dc(10)


def test_garbage_answer_raises_garbage(bench, rm) -> None:
    with _open(bench, rm, "smu", Keithley2450) as smu:
        bench.set_fault("smu", "garbage")
        with pytest.raises(InstrumentGarbage, match="READ"):
            smu.read()


def test_error_fault_fails_the_next_setting(bench, rm) -> None:
    with _open(bench, rm, "decade", DecadeResistor) as box:
        bench.set_fault("decade", "error", -241, "Hardware missing")
        with pytest.raises(InstrumentError, match="Hardware missing") as info:
            box.set_resistance(100.0)
        assert info.value.command == "SOUR:DATA 100.0"


def test_faults_over_the_control_port(bench, rm) -> None:
    address = bench.control_address
    send_control(address, "SIM:FAULT lcr,hang")
    assert send_control(address, "SIM:FAULT? lcr") == "hang"
    assert bench.lcr.fault == "hang"
    send_control(address, "SIM:FAULT lcr,none")
    send_control(address, 'SIM:ERROR dmm,-310,"Overheated"')
    assert bench.resources["dmm"] in send_control(address, "SIM:RES?")
    with _open(bench, rm, "dmm", KeysightDmm) as dmm:  # *CLS on connect clears the stale error
        send_control(address, 'SIM:ERROR dmm,-310,"Overheated"')
        with pytest.raises(InstrumentError, match="Overheated"):
            dmm.check_errors()
    with pytest.raises(RuntimeError, match="Illegal parameter"):
        send_control(address, "SIM:FAULT scope,hang")
    with pytest.raises(RuntimeError, match="Illegal parameter"):
        send_control(address, "SIM:FAULT dmm,explode")


def test_lifted_electrode_reads_as_lcr_overload(bench, rm) -> None:
    bench.model.lift_electrode()
    with _open(bench, rm, "lcr", KeysightE4980A) as lcr:
        with pytest.raises(InstrumentOverload, match="FETCH"):
            lcr.fetch()
