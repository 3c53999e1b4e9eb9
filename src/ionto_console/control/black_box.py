"""The session's black box on the wire side: taps the board link while a session runs.

Created by the treatment desk before the session's first command, so the
record's serial stream starts with the configuration the console sent; the
session recorder stores it beside the record when the session closes
(``records.wire_log``).
"""

from __future__ import annotations

import time

from .board_port import BoardPort
from ..records.audit import utc_now
from ..records.wire_log import WireLogBlob, WireRecording


class WireTap:
    """Records every byte the link writes and reads, compressed and bounded, until ``finish``."""

    def __init__(self, link: BoardPort) -> None:
        """A port that offers no raw-byte listener (an in-memory test double) records nothing."""
        self._link = link
        self._recording = WireRecording(utc_now(), time.monotonic())
        add = getattr(link, "add_wire_listener", None)  # BoardLink's; not part of BoardPort
        if add is not None:
            add(self._recording.add)

    def finish(self) -> WireLogBlob:
        """Stop listening and return the recording (idempotent)."""
        self._link.remove_listener(self._recording.add)
        return self._recording.finish()
