"""Serial ports the board could be on, for the connection panel and the CLI.

The IONTO-1 enumerates as USB CDC-ACM, so those ports come first: the
engineer plugging the board in should see it at the top of the list, not
behind sixteen legacy ``ttyS`` entries.

WHY find the board by USB identity: a device name is not the board. After a
replug, a hub change or a second USB serial adapter, /dev/ttyACM0 can be
another device, and COM numbers move on Windows. ``usb:VID:PID[:SERIAL]``
(hex ids, pyserial's USB serial number) names one board wherever it is
enumerated; ``resolve_port`` turns it into today's device through pyserial's
port listing each time the link connects.
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


USB_SCHEME = "usb:"


@dataclass(frozen=True)
class UsbSelector:
    """A board by USB vendor/product id and, optionally, its USB serial number."""

    vid: int
    pid: int
    serial_number: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "UsbSelector":
        """``usb:1209:0001`` or ``usb:1209:0001:SN-0002`` (ids in hex); ValueError otherwise."""
        if not spec.startswith(USB_SCHEME):
            raise ValueError(f"not a USB board selector: {spec!r}")
        parts = spec[len(USB_SCHEME):].split(":", 2)
        try:
            if len(parts) < 2:
                raise ValueError
            vid, pid = int(parts[0], 16), int(parts[1], 16)
        except ValueError:
            raise ValueError(f"{spec!r}: expected usb:VID:PID[:SERIAL] with hexadecimal ids") from None
        if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
            raise ValueError(f"{spec!r}: USB ids are 16 bits")
        return cls(vid, pid, parts[2] if len(parts) == 3 and parts[2] else None)

    @property
    def spec(self) -> str:
        tail = f":{self.serial_number}" if self.serial_number else ""
        return f"{USB_SCHEME}{self.vid:04x}:{self.pid:04x}{tail}"

    def matches(self, port: PortInfo) -> bool:
        return (port.vid, port.pid) == (self.vid, self.pid) and (
            self.serial_number is None or port.serial_number == self.serial_number)


def usb_selector(port: PortInfo) -> UsbSelector | None:
    """The selector that finds this port's device again wherever it is enumerated (None: not USB)."""
    if port.vid is None or port.pid is None:
        return None
    return UsbSelector(port.vid, port.pid, port.serial_number or None)


def find_board(selector: UsbSelector, ports: Iterable[PortInfo] | None = None) -> PortInfo:
    """The one port matching ``selector``; LookupError in plain words when none or several do."""
    candidates = [p for p in (discover_ports() if ports is None else ports) if selector.matches(p)]
    if not candidates:
        return _lookup_error(f"no USB device {selector.vid:04x}:{selector.pid:04x}"
                             + (f" with serial number {selector.serial_number}" if selector.serial_number else "")
                             + " is plugged in")
    if len(candidates) > 1:
        return _lookup_error(f"{len(candidates)} USB devices {selector.vid:04x}:{selector.pid:04x} are plugged in "
                             f"({', '.join(p.device for p in candidates)}): add the serial number to choose one")
    return candidates[0]


def _lookup_error(text: str) -> PortInfo:
    raise LookupError(text)


def resolve_port(url: str) -> str:
    """What to open for ``url``: a ``usb:`` selector becomes today's device; anything else is as given.

    Raises LookupError (board not plugged in, or ambiguous) and ValueError (a malformed selector)."""
    if not url.startswith(USB_SCHEME):
        return url
    return find_board(UsbSelector.parse(url)).device


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
