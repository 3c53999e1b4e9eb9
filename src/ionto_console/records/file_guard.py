"""A records file this station has written is never silently replaced by a new empty one.

WHY: SQLite creates a missing file, and opens a 0-byte file as an empty
database. After a failed disk, a bad restore or a mistaken delete, the
console used to start as if on its first day (the first-run administrator
form), and the next treatment went into a new file while the clinic's
history was gone unnoticed. The station keeps, in its data folder, the list
of records files it has opened; such a file that is now missing or empty is
refused with what to do. Starting a new file on purpose: remove the marker.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from .errors import RecordsUnavailable

MARKER_FILENAME = "records-files.json"


def _sqlite_path(url: str) -> Path | None:
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - open_database reports a bad URL in words
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def _known(marker: Path) -> list[str]:
    try:
        return list(json.loads(marker.read_text()))
    except (OSError, ValueError, TypeError):
        return []


def check_records_file(url: str, data_folder: Path) -> None:
    """Raise ``RecordsUnavailable`` when a SQLite records file this station has used is missing or empty."""
    path = _sqlite_path(url)
    if path is None:
        return
    marker = data_folder / MARKER_FILENAME
    if str(path) not in _known(marker):
        return
    if not path.exists():
        problem = "is missing"
    elif path.stat().st_size == 0:
        problem = "is empty (0 bytes)"
    else:
        return
    raise RecordsUnavailable(
        f"The records file {path} {problem}, although this station has kept records in it. "
        "Restore it from a backup before treating. (To start a new, empty records file on purpose, "
        f"an administrator removes {marker}.)")


def remember_records_file(url: str, data_folder: Path) -> None:
    """Note that this station keeps records in ``url``'s file (after it opened successfully)."""
    path = _sqlite_path(url)
    if path is None:
        return
    marker = data_folder / MARKER_FILENAME
    known = _known(marker)
    if str(path) in known:
        return
    data_folder.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(known + [str(path)], out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, marker)
