"""Each driver against the pyvisa-sim definitions shipped in resources/visa/bench.yaml.

pyvisa-sim keeps device state per process, so every test sets what it reads back.
"""

from __future__ import annotations

import pytest

from ionto_console.drivers.bench import (DecadeResistor, InstrumentError, InstrumentTimeout, Keithley2450,
                                         KeysightDmm, KeysightE4980A, WrongInstrument, open_instrument)
from ionto_console.resources.visa import SIM_DECADE, SIM_DMM, SIM_LCR, SIM_SMU, bench_definitions, sim_backend


def _open(name, cls):
    return open_instrument(name, cls, backend=sim_backend(), timeout_ms=200)


def test_definitions_ship_with_the_package() -> None:
    assert bench_definitions().is_file()


def test_dmm_on_pyvisa_sim() -> None:
    with _open(SIM_DMM, KeysightDmm) as dmm:
        assert dmm.identity.model == "34461A"
        dmm.configure_current_dc(10e-3, nplc=1)
        assert dmm.current_dc_nplc == 1.0
        dmm.configure_current_dc(0.1, nplc=100)
        assert dmm.current_dc_nplc == 100.0
        dmm.configure_resistance(1e6)
        dmm.trigger_delay_s = 0.25
        assert dmm.trigger_delay_s == 0.25
        assert dmm.read() == pytest.approx(2.9987e-3)
        assert dmm.function == "CURR"


def test_dmm_error_queue_on_pyvisa_sim() -> None:
    with _open(SIM_DMM, KeysightDmm) as dmm:
        with pytest.raises(InstrumentError, match="Undefined header") as info:
            dmm.configure("CONF:CURR:DC 5")  # bypasses the validator: the instrument itself refuses
        assert info.value.codes == [-113]
        dmm.check_errors()  # the queue was drained by the failed check


def test_unknown_query_times_out_with_a_clear_error() -> None:
    with _open(SIM_DMM, KeysightDmm) as dmm:
        with pytest.raises(InstrumentTimeout, match="MEAS:FREQ") as info:
            dmm.query("MEAS:FREQ?")
        assert info.value.resource.endswith("SOCKET")


def test_smu_on_pyvisa_sim() -> None:
    with _open(SIM_SMU, Keithley2450) as smu:
        smu.apply_current(2.5e-3, 30.0)
        assert smu.source_function == "CURR"
        assert smu.source_current_a == pytest.approx(2.5e-3)
        assert smu.voltage_limit_v == pytest.approx(30.0)
        assert smu.sense_function == "VOLT"
        smu.output = True
        assert smu.output is True
        assert smu.read() == pytest.approx(4.700012)
        smu.output_off()
        assert smu.output is False


def test_lcr_on_pyvisa_sim() -> None:
    with _open(SIM_LCR, KeysightE4980A) as lcr:
        lcr.function = "ZTD"
        lcr.frequency_hz = 1e3
        lcr.level_v = 0.5
        assert (lcr.frequency_hz, lcr.level_v) == (1e3, 0.5)
        reading = lcr.fetch()
        assert (reading.function, reading.primary, reading.status) == ("ZTD", 4700.0, 0)


def test_decade_on_pyvisa_sim() -> None:
    with _open(SIM_DECADE, DecadeResistor) as box:
        assert box.set_resistance(4700) == 4700.0
        assert box.set_resistance(0.5) == 0.5
        assert box.resistance_ohm == 0.5


def test_wrong_driver_for_the_resource_is_refused() -> None:
    with pytest.raises(WrongInstrument, match="2450"):
        _open(SIM_DMM, Keithley2450)
