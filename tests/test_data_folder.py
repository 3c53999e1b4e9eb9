"""Issue 13 "Tried": the data folder was 0755 and the records file 0644, so any local user could copy the
password hashes. Now: folder 0700, files 0600, and no start on a folder others can write."""

from __future__ import annotations

import stat

import pytest

from ionto_console import app
from ionto_console.data_folder import UnsafeDataFolder, secure_folder
from ionto_console.records import open_database
from ionto_console.records.database import default_url


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_folder_is_0700_and_an_old_0755_one_is_tightened(tmp_path):
    secure_folder(tmp_path / "new" / "ionto-console")
    assert mode(tmp_path / "new" / "ionto-console") == 0o700
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    secure_folder(old)
    assert mode(old) == 0o700


@pytest.mark.parametrize("loose", [0o777, 0o775, 0o757])
def test_a_data_folder_others_can_write_is_refused_with_the_fix(tmp_path, loose):
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(loose)
    with pytest.raises(UnsafeDataFolder, match=rf"can be changed by other users \(mode {loose:04o}\).*chmod 700"):
        secure_folder(folder)
    assert mode(folder) == loose  # refused, not silently changed: somebody made it so


def test_the_records_file_and_its_companions_are_0600(tmp_path):
    path = tmp_path / "records.sqlite3"
    db = open_database(f"sqlite:///{path}")
    try:
        with db.write():
            pass
        assert mode(path) == 0o600
        for companion in tmp_path.glob("records.sqlite3-*"):
            assert mode(companion) == 0o600, companion
    finally:
        db.close()
    path.chmod(0o644)  # as the old build left it
    open_database(f"sqlite:///{path}").close()
    assert mode(path) == 0o600


def test_the_console_refuses_to_start_on_a_folder_others_can_write_and_says_why(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "ionto-console"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setattr(app, "user_data_folder", lambda: folder)
    assert app.main(["--quit-after", "0"]) == 2
    err = capsys.readouterr().err
    assert "not started" in err and "can be changed by other users (mode 0777)" in err


def test_the_default_records_location_is_refused_in_a_folder_others_can_write(tmp_path, monkeypatch):
    from ionto_console.records import RecordsUnavailable
    from ionto_console.records import database

    folder = tmp_path / "ionto-console"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setattr(database, "user_data_folder", lambda: folder)
    with pytest.raises(RecordsUnavailable, match="other users"):
        default_url()
