"""The console's data folder and its files: private to the account that runs the console.

WHY: the records file holds the password hashes and every patient's record; a
data folder others can write lets them swap the records file, the journal or the
keys under the console. So the folder is 0700 and its files 0600 (created so,
and tightened if found looser), and the console refuses to start on a folder
another user can write, or that another user owns, saying why and how to fix
it. (Windows has no such mode bits: the checks apply on POSIX systems.)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
#: Files of a SQLite database beside the main file (WAL mode).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class UnsafeDataFolder(RuntimeError):
    """The data folder can be changed by other users; the message says what to do."""


def _posix() -> bool:
    return os.name == "posix"


def secure_folder(folder: Path) -> None:
    """Create ``folder`` 0700 (parents as the system makes them), or check an existing one.

    Raises ``UnsafeDataFolder`` when another user owns it or can write it (the console must not
    start there); a folder others can only read is ours and is tightened to 0700."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if not _posix():
        return
    info = folder.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        raise UnsafeDataFolder(f"The data folder {folder} belongs to another user (uid {info.st_uid}); the console "
                               "does not start there. Use a data folder of the account that runs the console.")
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeDataFolder(f"The data folder {folder} can be changed by other users (mode {mode:04o}), so the "
                               "records, journal and keys in it could be replaced: the console does not start. "
                               f"Make it private with: chmod 700 {folder}")
    if mode != FOLDER_MODE:
        folder.chmod(FOLDER_MODE)


def secure_file(path: Path) -> None:
    """Make an existing file 0600 (the records file, its WAL companions, a journal, a key)."""
    if _posix() and path.exists() and stat.S_IMODE(path.stat().st_mode) != FILE_MODE:
        path.chmod(FILE_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 if it does not exist (so it is never readable by others, even briefly)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        pass


def secure_sqlite_files(database: Path) -> None:
    """The SQLite records file and its companions 0600."""
    secure_file(database)
    for suffix in SQLITE_COMPANIONS:
        secure_file(database.with_name(database.name + suffix))
