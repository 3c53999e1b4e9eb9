"""This console's station identity: a UUID generated once per machine, kept in the data folder.

WHY not the station name: the name is a label a person types ("station-1" by
default), and two consoles on one clinic database can carry the same one. A
console that recognised "its" sessions by name closed a colleague's live
session at start-up as a crash. The identity is created once with
``O_CREAT | O_EXCL`` (two processes starting at once agree on one), mode
0600, and never changes; the sessions a console writes carry it, and
start-up recovery touches only sessions with this identity.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .records.database import user_data_folder

IDENTITY_FILENAME = "station-id"


def station_id(folder: Path | None = None) -> str:
    """This machine's station UUID (created on first call, then read back unchanged)."""
    folder = folder or user_data_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / IDENTITY_FILENAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w") as out:
        out.write(str(uuid.uuid4()) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return _read(path)


def _read(path: Path) -> str:
    text = path.read_text().strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        if not text:  # another process created the file and has not written it yet
            import time

            time.sleep(0.05)
            return str(uuid.UUID(path.read_text().strip()))
        raise ValueError(f"The station identity file {path} is damaged ({text[:40]!r}); "
                         "restore it from a backup so this station keeps its identity.") from None
