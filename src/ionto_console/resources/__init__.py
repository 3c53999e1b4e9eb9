"""Data shipped with the package: protocol library, pyvisa-sim definitions, icons, sounds."""
