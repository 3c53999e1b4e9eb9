"""How the board simulator names itself in IDENT: the one home of that rule.

WHY a serial prefix at all, when the record's ``simulated`` field is set from
how the console connected the board (demo mode, the simulator process) and
never from a serial number: defence in depth. A simulator started by hand
(``ionto-sim run``) and given to a clinical console as ``--port`` is not the
console's simulator process, so only its IDENT can tell. The simulator always
announces itself with this prefix (``ionto_sim`` refuses any other serial),
and a clinical station refuses to treat on, calibrate into the records, or
record a session of a board that does. Real IONTO-1 serials are assigned at
production and never start with it.
"""

from __future__ import annotations

#: Every serial the board simulator reports in IDENT starts with this.
SIMULATOR_SERIAL_PREFIX = "SIM-"


def is_simulator_serial(serial_number: str) -> bool:
    """True if an IDENT serial number is the board simulator's."""
    return serial_number.strip().upper().startswith(SIMULATOR_SERIAL_PREFIX)
