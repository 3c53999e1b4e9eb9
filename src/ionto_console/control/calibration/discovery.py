"""What the Calibration tab offers to connect to: serial ports and VISA resources found on this machine.

WHY on a worker: listing VISA resources may scan USB and serial buses for
seconds; the tab asks once when it is built and fills its lists when the
answer comes (the engineer can always type a resource by hand).
"""

from __future__ import annotations

from ...drivers.board.ports import discover_ports


def serial_ports() -> list[str]:
    """Serial ports found now (device paths), in the order the system lists them."""
    return [p.device for p in discover_ports()]


def visa_resources(backend: str = "@py") -> list[str]:
    """VISA resource names the backend finds ([] when none, or when VISA cannot list them).

    WHY the manager is left open: pyvisa hands out ONE ``ResourceManager`` per backend, the same
    object ``drivers.bench.open_instrument`` opens the instruments with; closing it closed every
    instrument session of a run already under way (an engineer who pressed "Connect and identify"
    before this listing ended lost the DMM mid-sweep: "Invalid session handle")."""
    import pyvisa  # loaded only for engineers (0.5 s of a therapist's start-up otherwise)

    try:
        return sorted(pyvisa.ResourceManager(backend).list_resources())
    except Exception:  # noqa: BLE001 (a missing backend or bus is "nothing found", never a crash)
        return []


def offered_ports(connected: str, found: list[str]) -> list[str]:
    """The board ports to offer: the console's connected board first (the likeliest to calibrate)."""
    return ([connected] if connected else []) + [port for port in found if port != connected]
