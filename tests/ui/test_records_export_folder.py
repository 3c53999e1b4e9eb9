"""Where the Records tab's save dialogs open (issue 14, new-user pass: in the source checkout).

They open in the user's Documents folder, or the clinic's export folder when
one is configured (``IONTO_EXPORT_DIR``), and then in the folder last used in
this session. The dialog is replaced by a stand-in that records what it was
offered and answers like a user.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
from test_records_browser import db_path, make_browser, sessions, settle  # noqa: F401 (fixtures)

from ionto_console.control.records_service import RecordsService
from ionto_console.settings import Settings
from ionto_console.ui import records_browser as browser_module
from ionto_console.ui.records_browser import RecordsBrowser


class FakeDialog:
    """The save dialog (``beside_stop.ask_save_path``): remembers the proposed path, answers with
    ``answer`` (or cancels)."""

    def __init__(self) -> None:
        self.proposed: list[Path] = []
        self.answer = ""

    def __call__(self, _parent, _title, proposed, _filter) -> str:
        self.proposed.append(Path(proposed))
        return self.answer


@pytest.fixture
def dialog(monkeypatch, tmp_path):
    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setattr(platformdirs, "user_documents_dir", lambda: str(documents))
    fake = FakeDialog()
    monkeypatch.setattr(browser_module, "ask_save_path", fake)
    monkeypatch.chdir(tmp_path)  # as if started from a checkout: the dialog must not open here
    return fake


def ask(qtbot, browser: RecordsBrowser, key: str = "pdf") -> None:
    browser._ask_path(key)
    settle(qtbot, browser)


def test_the_dialog_opens_in_documents_then_in_the_last_folder_used(qtbot, sessions, dialog, tmp_path):
    db, ids = sessions
    browser = make_browser(qtbot, db)
    browser.show_session(ids["ann_may"])
    settle(qtbot, browser)
    ask(qtbot, browser)
    assert dialog.proposed[-1].parent == tmp_path / "Documents"
    assert dialog.proposed[-1].name.startswith("P-0001-") and dialog.proposed[-1].name.endswith("-report.pdf")
    chosen = tmp_path / "chart"
    chosen.mkdir()
    dialog.answer = str(chosen / "ann.pdf")
    ask(qtbot, browser)
    assert (chosen / "ann.pdf").is_file() and browser.last_export is not None
    dialog.answer = ""
    ask(qtbot, browser, "csv")
    assert dialog.proposed[-1].parent == chosen, "the folder last used is proposed again"
    browser.service.close()


def test_the_clinics_export_folder_comes_first_when_configured(qtbot, sessions, dialog, tmp_path, monkeypatch):
    db, ids = sessions
    clinic = tmp_path / "clinic-exports"
    clinic.mkdir()
    monkeypatch.setenv("IONTO_EXPORT_DIR", str(clinic))
    browser = RecordsBrowser(RecordsService(db, export_folder=Settings.from_sources({}).export_dir))
    qtbot.addWidget(browser)
    settle(qtbot, browser)
    browser.show_session(ids["ann_may"])
    settle(qtbot, browser)
    ask(qtbot, browser)
    assert dialog.proposed[-1].parent == clinic
    browser.service.close()


def test_a_configured_folder_that_is_gone_falls_back_to_documents(tmp_path, dialog):
    service = RecordsService(None, export_folder=tmp_path / "unplugged-share")
    try:
        assert service.suggested_path("x.csv") == tmp_path / "Documents" / "x.csv"
    finally:
        service.close()
