"""Transcript tests: each driver must send exactly these commands, in this order."""

from __future__ import annotations

import math

import pytest

from ionto_console.drivers.bench import (DecadeResistor, InstrumentError, InstrumentGarbage, InstrumentOverload,
                                         InstrumentTimeout, Keithley2450, KeysightDmm, KeysightE4980A,
                                         WrongInstrument)
from ionto_console.drivers.bench.testing import TIMEOUT, FakeResource, connect_pairs, expected_protocol, no_error

DMM_IDN = "Keysight Technologies,34461A,MY53220001,A.02.14-02.40-02.14-00.49-01-01"
DMM65_IDN = "Keysight Technologies,34465A,MY59000001,A.03.01"
SMU_IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b"
LCR_IDN = "Keysight Technologies,E4980A,MY46101234,A.02.20"
DEC_IDN = "IET LABS,PRS-200,1234,1.0"
NO_ERR = no_error()
NO_ERR_COLON = no_error(":SYST:ERR?")


def test_identity_is_parsed_on_connect() -> None:
    with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN)) as dmm:
        assert dmm.identity.manufacturer == "Keysight Technologies"
        assert dmm.identity.model == "34461A"
        assert dmm.identity.serial == "MY53220001"
        assert dmm.identity.firmware.startswith("A.02.14")
        assert dmm.nplc_choices[0] == 0.02


def test_wrong_model_is_refused_before_any_setting() -> None:
    with pytest.raises(WrongInstrument, match="34461A"):
        KeysightDmm(FakeResource(connect_pairs(SMU_IDN)))


def test_garbage_identity_raises_garbage() -> None:
    with pytest.raises(InstrumentGarbage, match=r"\*IDN\?"):
        KeysightDmm(FakeResource(connect_pairs("???")))


def test_dmm_current_configuration_and_reading() -> None:
    pairs = connect_pairs(DMM_IDN) + [
        ("CONF:CURR:DC 0.01", None), NO_ERR,
        ("CURR:DC:NPLC 10", None), NO_ERR,
        ("READ?", "+2.99870000E-03"),
    ]
    with expected_protocol(KeysightDmm, pairs) as dmm:
        dmm.configure_current_dc(10e-3, nplc=10)
        assert dmm.read() == pytest.approx(2.9987e-3)


@pytest.mark.parametrize("call, wire", [
    (lambda d: d.configure_current_dc(), "CONF:CURR:DC AUTO"),
    (lambda d: d.configure_current_dc(100e-6), "CONF:CURR:DC 0.0001"),
    (lambda d: d.configure_current_dc(3), "CONF:CURR:DC 3"),
    (lambda d: d.configure_voltage_dc(10), "CONF:VOLT:DC 10"),
    (lambda d: d.configure_resistance(10e3), "CONF:RES 10000"),
    (lambda d: setattr(d, "trigger_delay_s", 0.5), "TRIG:DEL 0.5"),
])
def test_dmm_settings_on_the_wire(call, wire) -> None:
    with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN) + [(wire, None), NO_ERR]) as dmm:
        call(dmm)


def test_dmm_nplc_depends_on_the_model() -> None:
    with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN)) as dmm:
        with pytest.raises(ValueError, match="current_dc_nplc"):
            dmm.current_dc_nplc = 0.001
    with expected_protocol(KeysightDmm, connect_pairs(DMM65_IDN) + [("CURR:DC:NPLC 0.001", None), NO_ERR]) as dmm:
        dmm.current_dc_nplc = 0.001


@pytest.mark.parametrize("bad", [2e-3, 5.0, -1e-3, "FAST", float("nan"), True, None])
def test_dmm_rejects_bad_range_before_the_wire(bad) -> None:
    with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN)) as dmm:
        with pytest.raises(ValueError, match="range_a"):
            dmm.configure_current_dc(bad)


def test_dmm_overload_raises() -> None:
    pairs = connect_pairs(DMM_IDN) + [("READ?", "+9.90000000E+37")]
    with expected_protocol(KeysightDmm, pairs) as dmm:
        with pytest.raises(InstrumentOverload, match="READ"):
            dmm.read()


def test_error_queue_becomes_instrument_error_with_its_own_text() -> None:
    pairs = connect_pairs(DMM_IDN) + [
        ("CONF:CURR:DC 1", None),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ("SYST:ERR?", '-113,"Undefined header"'),
        NO_ERR,
    ]
    with expected_protocol(KeysightDmm, pairs) as dmm:
        with pytest.raises(InstrumentError) as info:
            dmm.configure_current_dc(1)
    assert info.value.codes == [-222, -113]
    assert info.value.messages == ["Data out of range", "Undefined header"]
    assert "CONF:CURR:DC 1" in str(info.value) and "Data out of range" in str(info.value)


def test_timeout_names_resource_and_command() -> None:
    pairs = connect_pairs(DMM_IDN) + [("READ?", TIMEOUT)]
    with expected_protocol(KeysightDmm, pairs) as dmm:
        with pytest.raises(InstrumentTimeout) as info:
            dmm.read()
    assert info.value.resource == "FAKE::INSTR" and info.value.command == "READ?"
    assert "FAKE::INSTR" in str(info.value) and "READ?" in str(info.value)


@pytest.mark.parametrize("reply", ["+1.0E-3,+2.0E-3junk", "", b"\xff\xfe\x01", "nan"])
def test_garbage_reading_raises_garbage(reply) -> None:
    with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN) + [("READ?", reply)]) as dmm:
        with pytest.raises(InstrumentGarbage, match="READ"):
            dmm.read()


def test_garbage_error_queue_raises_garbage() -> None:
    pairs = connect_pairs(DMM_IDN) + [("CONF:RES AUTO", None), ("SYST:ERR?", "what?")]
    with expected_protocol(KeysightDmm, pairs) as dmm:
        with pytest.raises(InstrumentGarbage, match="SYST:ERR"):
            dmm.configure_resistance()


def test_smu_apply_current_sets_limit_before_level() -> None:
    pairs = connect_pairs(SMU_IDN) + [
        (":SOUR:FUNC CURR", None), NO_ERR_COLON,
        (":SOUR:CURR:VLIM 21", None), NO_ERR_COLON,
        (":SOUR:CURR 0.001", None), NO_ERR_COLON,
        (':SENS:FUNC "VOLT"', None), NO_ERR_COLON,
        (":OUTP ON", None), NO_ERR_COLON,
        (":READ?", "+1.000012E+00"),
        (":OUTP?", "1"),
        (":SENS:FUNC?", '"VOLT:DC"'),
        (":OUTP OFF", None), NO_ERR_COLON,
    ]
    with expected_protocol(Keithley2450, pairs) as smu:
        smu.apply_current(1e-3, 21)
        smu.output = True
        assert smu.read() == pytest.approx(1.000012)
        assert smu.output is True
        assert smu.sense_function == "VOLT"
        smu.output_off()


@pytest.mark.parametrize("current, vlim", [(1.1, 10), (-2, 10), (1e-3, 0.01), (1e-3, 250), (math.inf, 10)])
def test_smu_rejects_bad_pair_without_sending_anything(current, vlim) -> None:
    with expected_protocol(Keithley2450, connect_pairs(SMU_IDN)) as smu:
        with pytest.raises(ValueError, match="Keithley2450"):
            smu.apply_current(current, vlim)


def test_lcr_configure_and_fetch() -> None:
    pairs = connect_pairs(LCR_IDN) + [
        (":FUNC:IMP:TYPE ZTD", None), NO_ERR_COLON,
        (":FREQ:CW 1000", None), NO_ERR_COLON,
        (":VOLT:LEV 0.5", None), NO_ERR_COLON,
        (":FUNC:IMP:TYPE?", "ZTD"),
        (":FETCH?", "+4.70012E+03,-1.23000E-02,+0"),
    ]
    with expected_protocol(KeysightE4980A, pairs) as lcr:
        lcr.function = "ztd"
        lcr.frequency_hz = 1000
        lcr.level_v = 0.5
        reading = lcr.fetch()
    assert (reading.function, reading.primary, reading.secondary, reading.status) == ("ZTD", 4700.12, -0.0123, 0)
    assert reading.units == ("ohm", "deg")


@pytest.mark.parametrize("status, exc", [(1, InstrumentOverload), (-1, InstrumentError), (4, InstrumentError)])
def test_lcr_bad_status_raises(status, exc) -> None:
    pairs = connect_pairs(LCR_IDN) + [(":FUNC:IMP:TYPE?", "RX"), (":FETCH?", f"+9.9E37,+9.9E37,{status:+d}")]
    with expected_protocol(KeysightE4980A, pairs) as lcr:
        with pytest.raises(exc):
            lcr.fetch()


@pytest.mark.parametrize("attr, value", [("frequency_hz", 10), ("frequency_hz", 3e6), ("level_v", 2.5),
                                         ("function", "LS")])
def test_lcr_rejects_out_of_range(attr, value) -> None:
    with expected_protocol(KeysightE4980A, connect_pairs(LCR_IDN)) as lcr:
        with pytest.raises(ValueError, match=attr):
            setattr(lcr, attr, value)


def test_decade_sets_and_reads_back() -> None:
    pairs = connect_pairs(DEC_IDN) + [("SOUR:DATA 4700.0", None), NO_ERR, ("SOUR:DATA?", "4700.0")]
    with expected_protocol(DecadeResistor, pairs) as box:
        assert box.set_resistance(4700) == 4700.0


def test_decade_readback_mismatch_is_reported() -> None:
    pairs = connect_pairs(DEC_IDN) + [("SOUR:DATA 4700.0", None), NO_ERR, ("SOUR:DATA?", "1000.0")]
    with expected_protocol(DecadeResistor, pairs) as box:
        with pytest.raises(InstrumentGarbage, match="4700"):
            box.set_resistance(4700)


@pytest.mark.parametrize("ohms", [-1, 1e9, math.nan])
def test_decade_rejects_out_of_range(ohms) -> None:
    with expected_protocol(DecadeResistor, connect_pairs(DEC_IDN)) as box:
        with pytest.raises(ValueError, match="resistance_ohm"):
            box.set_resistance(ohms)


def test_measurement_cannot_be_set_and_transcript_catches_extra_commands() -> None:
    with expected_protocol(Keithley2450, connect_pairs(SMU_IDN)) as smu:
        with pytest.raises(AttributeError, match="measurement"):
            smu.reading = 1.0
    with pytest.raises(AssertionError, match="expected 'CONF:CURR:DC 0.01'"):
        with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN) + [("CONF:CURR:DC 0.01", None)]) as dmm:
            dmm.configure_current_dc(0.1)
    with pytest.raises(AssertionError, match="not finished"):
        with expected_protocol(KeysightDmm, connect_pairs(DMM_IDN) + [("READ?", "1")]):
            pass


def test_error_queue_that_never_empties_still_ends_in_an_instrument_error() -> None:
    from ionto_console.drivers.bench.scpi import MAX_ERROR_DRAIN

    pairs = connect_pairs(DMM_IDN) + [("CONF:VOLT:DC AUTO", None)] + [
        ("SYST:ERR?", '-310,"System error"')] * MAX_ERROR_DRAIN
    with expected_protocol(KeysightDmm, pairs) as dmm:
        with pytest.raises(InstrumentError) as info:
            dmm.configure_voltage_dc()
    assert info.value.codes == [-310] * MAX_ERROR_DRAIN
