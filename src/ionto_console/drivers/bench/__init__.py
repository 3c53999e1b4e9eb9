"""SCPI drivers for bench instruments over pyvisa."""
