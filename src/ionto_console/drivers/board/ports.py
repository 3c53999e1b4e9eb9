"""Serial ports the board could be on, for the connection panel and the CLI.

The IONTO-1 enumerates as USB CDC-ACM, so those ports come first: the
engineer plugging the board in should see it at the top of the list, not
behind sixteen legacy ``ttyS`` entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo


@dataclass(frozen=True)
class PortInfo:
    """One serial port as the operating system describes it."""

    device: str  # what BoardLink takes as url: /dev/ttyACM0, COM3, ...
    description: str
    hwid: str
    serial_number: str | None
    vid: int | None = None
    pid: int | None = None

    @property
    def is_usb(self) -> bool:
        return self.vid is not None or "USB" in self.hwid.upper()

    @property
    def is_usb_cdc(self) -> bool:
        """CDC-ACM (the board's USB class): ttyACM on Linux, usbmodem on macOS,
        'USB Serial Device' on Windows' usbser driver."""
        text = f"{self.device} {self.description}".lower()
        return self.is_usb and any(
            marker in text for marker in ("ttyacm", "usbmodem", "usb serial device", "cdc")
        )


def discover_ports() -> list[PortInfo]:
    """All serial ports on this machine, USB CDC first, then USB, then the rest."""
    try:
        found = list_ports.comports()
    except OSError:  # a racing unplug while enumerating must not reach the GUI
        found = []
    return sort_ports(_from_pyserial(found))


def sort_ports(ports: Iterable[PortInfo]) -> list[PortInfo]:
    """USB CDC first, then other USB, then the rest; by natural device name within each
    group (ttyACM2 before ttyACM10)."""
    return sorted(ports, key=lambda p: (not p.is_usb_cdc, not p.is_usb, _natural_key(p.device)))


def _from_pyserial(found: Iterable[ListPortInfo]) -> list[PortInfo]:
    return [
        PortInfo(
            device=p.device,
            description=p.description if p.description and p.description != "n/a" else p.device,
            hwid=p.hwid or "",
            serial_number=p.serial_number,
            vid=p.vid,
            pid=p.pid,
        )
        for p in found
    ]


def _natural_key(text: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]
