"""SCPI drivers for bench instruments over pyvisa.

``open_instrument("TCPIP::127.0.0.1::5025::SOCKET", KeysightDmm)`` opens and
connects a driver; every driver reads ``*IDN?`` on connect and drains the
error queue after every setting (see ``scpi.py``).
"""

from .decade import DecadeResistor
from .dmm import KeysightDmm
from .errors import (BenchError, InstrumentError, InstrumentGarbage, InstrumentIOError, InstrumentOverload,
                     InstrumentTimeout, WrongInstrument)
from .lcr import ImpedanceReading, KeysightE4980A
from .scpi import Identity, ScpiInstrument, open_instrument
from .smu import Keithley2450

__all__ = ["BenchError", "DecadeResistor", "Identity", "ImpedanceReading", "InstrumentError", "InstrumentGarbage",
           "InstrumentIOError", "InstrumentOverload", "InstrumentTimeout", "Keithley2450", "KeysightDmm",
           "KeysightE4980A", "ScpiInstrument", "WrongInstrument", "open_instrument"]
