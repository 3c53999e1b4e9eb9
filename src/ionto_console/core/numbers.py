"""Numbers as a person reads them: never "-0.0".

WHY one home: a value that rounds to zero printed as "-0.0" (an error of -0.04 µA in the
calibration table, a -0.004 mA offset on a readout) reads as a fault that is not there. The
readouts, the treatment report and the calibration screens, certificate and command line
each had their own format string, and only two of them guarded against it.
"""

from __future__ import annotations


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` places; a value that rounds to zero is ``0.0``, never ``-0.0``."""
    rounded = round(float(value), decimals) + 0.0  # -0.0 + 0.0 is +0.0
    return f"{rounded:.{decimals}f}"


def signed(value: float, decimals: int) -> str:
    """``value`` with its sign always shown (``+1.5``, ``-0.3``), and ``+0.0`` for a value that rounds to zero."""
    rounded = round(float(value), decimals) + 0.0
    return f"{rounded:+.{decimals}f}"
