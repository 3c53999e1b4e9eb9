"""Serial port discovery: the board's USB CDC port comes first, nothing raises."""

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from ionto_console.drivers.board import ports
from ionto_console.drivers.board.ports import PortInfo, discover_ports, sort_ports


def _pyserial_port(device, description="n/a", vid=None, pid=None, serial=None):
    info = ListPortInfo(device, skip_link_detection=True)
    info.description = description
    if vid is not None:
        info.vid, info.pid, info.serial_number = vid, pid, serial
        info.apply_usb_info()
    return info


def test_usb_cdc_first_then_usb_then_legacy_in_natural_order(monkeypatch):
    found = [
        _pyserial_port("/dev/ttyS10"),
        _pyserial_port("/dev/ttyUSB0", "FT232R USB UART", 0x0403, 0x6001, "A1"),
        _pyserial_port("/dev/ttyACM10", "IONTO-1", 0x1209, 0x0001, "SN-0010"),
        _pyserial_port("/dev/ttyS2"),
        _pyserial_port("/dev/ttyACM2", "IONTO-1", 0x1209, 0x0001, "SN-0002"),
    ]
    monkeypatch.setattr(list_ports, "comports", lambda: found)
    result = discover_ports()
    assert [p.device for p in result] == [
        "/dev/ttyACM2", "/dev/ttyACM10", "/dev/ttyUSB0", "/dev/ttyS2", "/dev/ttyS10"
    ]
    acm = result[0]
    assert acm.serial_number == "SN-0002" and acm.vid == 0x1209 and acm.is_usb_cdc
    assert "VID:PID=1209:0001" in acm.hwid and "SER=SN-0002" in acm.hwid
    assert result[3].description == "/dev/ttyS2"  # pyserial's "n/a" replaced by something readable
    assert not result[3].is_usb and result[2].is_usb and not result[2].is_usb_cdc


def test_windows_and_macos_cdc_names_count_as_cdc():
    windows = PortInfo("COM7", "USB Serial Device (COM7)", "USB VID:PID=1209:0001 SER=X", "X", 0x1209, 1)
    mac = PortInfo("/dev/cu.usbmodem1101", "IONTO-1", "USB VID:PID=1209:0001", None, 0x1209, 1)
    com1 = PortInfo("COM1", "Communications Port (COM1)", "ACPI\\PNP0501\\1", None)
    assert [p.device for p in sort_ports([com1, mac, windows])] == ["/dev/cu.usbmodem1101", "COM7", "COM1"]


def test_enumeration_error_gives_an_empty_list(monkeypatch):
    def broken():
        raise OSError("device vanished while listing")

    monkeypatch.setattr(list_ports, "comports", broken)
    assert discover_ports() == []


def test_real_enumeration_returns_port_infos():
    result = discover_ports()
    assert all(isinstance(p, PortInfo) and p.device for p in result)
    assert result == ports.sort_ports(result)


# --- discovery by USB identity ---------------------------------------------------------

import pytest  # noqa: E402

from ionto_console.drivers.board.ports import UsbSelector, find_board, resolve_port, usb_selector  # noqa: E402

IONTO = dict(vid=0x1209, pid=0x0001)


def test_usb_selector_parse_and_spec():
    sel = UsbSelector.parse("usb:1209:0001:SN-0002")
    assert sel == UsbSelector(0x1209, 0x0001, "SN-0002") and sel.spec == "usb:1209:0001:SN-0002"
    assert UsbSelector.parse("usb:1209:1").serial_number is None
    for bad in ("usb:", "usb:xyz:1", "usb:1209", "usb:12345:1", "/dev/ttyACM0"):
        with pytest.raises(ValueError):
            UsbSelector.parse(bad)


def test_the_board_is_found_by_vid_pid_and_serial_whatever_its_device_name(monkeypatch):
    before = [_pyserial_port("/dev/ttyACM0", "IONTO-1", serial="SN-0002", **IONTO),
              _pyserial_port("/dev/ttyACM1", "IONTO-1", serial="SN-0007", **IONTO),
              _pyserial_port("/dev/ttyUSB0", "FT232R USB UART", 0x0403, 0x6001, "SN-0002")]
    monkeypatch.setattr(list_ports, "comports", lambda: before)
    assert resolve_port("usb:1209:0001:SN-0002") == "/dev/ttyACM0"
    after_replug = [_pyserial_port("/dev/ttyACM0", "IONTO-1", serial="SN-0007", **IONTO),
                    _pyserial_port("/dev/ttyACM3", "IONTO-1", serial="SN-0002", **IONTO)]
    monkeypatch.setattr(list_ports, "comports", lambda: after_replug)
    assert resolve_port("usb:1209:0001:SN-0002") == "/dev/ttyACM3"
    assert resolve_port("/dev/ttyS0") == "/dev/ttyS0"  # a name or pyserial URL passes through


def test_missing_or_ambiguous_boards_are_plain_lookup_errors(monkeypatch):
    two = [_pyserial_port("/dev/ttyACM0", "IONTO-1", serial="A", **IONTO),
           _pyserial_port("/dev/ttyACM1", "IONTO-1", serial="B", **IONTO)]
    monkeypatch.setattr(list_ports, "comports", lambda: two)
    with pytest.raises(LookupError, match="2 USB devices 1209:0001 .*serial number"):
        resolve_port("usb:1209:0001")
    with pytest.raises(LookupError, match="no USB device 1209:0001 with serial number C"):
        find_board(UsbSelector(0x1209, 1, "C"))
    assert usb_selector(discover_ports()[0]).spec == "usb:1209:0001:A"


def test_the_link_connects_to_a_board_named_by_usb_identity(monkeypatch, tmp_path):
    from test_link import FakeBoard
    from ionto_console.drivers.board.link import BoardLink, LinkState

    board = FakeBoard(tmp_path / "renamed-by-the-os")
    monkeypatch.setattr(list_ports, "comports",
                        lambda: [_pyserial_port(str(board.link_path), "IONTO-1", serial="SN-TEST-0001", **IONTO)])
    link = BoardLink("usb:1209:0001:SN-TEST-0001", reply_timeout_s=2.0, reconnect_period_s=0.05)
    try:
        link.open()
        assert link.state is LinkState.CONNECTED, link.reason
    finally:
        link.close()
        board.unplug()
    missing = BoardLink("usb:1209:0001:NOT-HERE", reply_timeout_s=2.0)
    try:
        missing.open()
        assert missing.state is LinkState.DISCONNECTED
        assert missing.reason == "board not found: no USB device 1209:0001 with serial number NOT-HERE is plugged in"
    finally:
        missing.close()
