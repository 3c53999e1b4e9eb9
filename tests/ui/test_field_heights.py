"""Every text field of the sign-in dialog, the first-start administrator form, the lock bar and the
signing / co-signature dialogs is at least a line of its own font tall (issue 14, item 14: the
first-start form's fields were ~12 px, below a line of text).

Display scaling of 125 % and 150 % enlarges the fonts with everything else; here the application
font is enlarged by those factors, so a field sized in fixed pixels or squeezed by its layout fails.
"""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QWidget

from ionto_console.accounts import Role, create_user
from ionto_console.control.sign_in_service import SignInService
from ionto_console.ui.lock_bar import LockBar
from ionto_console.ui.sign_in import SignInDialog
from ionto_console.ui.treatment_view import CosignDialog, SignDialog

pytestmark = pytest.mark.usefixtures("fast_passwords")

SCALES = [1.0, 1.25, 1.5]


@pytest.fixture(params=SCALES, ids=lambda s: f"{int(s * 100)}%")
def scaled_font(request, qapp: QApplication):
    original = qapp.font()
    font = qapp.font()
    font.setPointSizeF(original.pointSizeF() * request.param)
    qapp.setFont(font)
    yield
    qapp.setFont(original)


def assert_readable(qtbot, window: QWidget, *fields: QWidget) -> None:
    window.show()
    qtbot.waitExposed(window)
    for field in fields:
        assert field.isVisible()
        line = QFontMetrics(field.font()).lineSpacing()
        assert field.height() >= line, f"{field.objectName() or type(field).__name__}: {field.height()} < {line}"


def sign_in_dialog(qtbot, db) -> SignInDialog:
    box = SignInDialog(SignInService(db, ""))
    qtbot.addWidget(box)
    box.show()
    qtbot.waitUntil(lambda: box.ready and not box.busy, timeout=10_000)
    return box


@pytest.mark.usefixtures("scaled_font")
def test_first_start_administrator_form_fields_are_a_line_tall(qtbot, db):
    box = sign_in_dialog(qtbot, db)
    assert box.first_run
    assert_readable(qtbot, box, box.username, box.display_name, box.password, box.repeat)


@pytest.mark.usefixtures("scaled_font")
def test_sign_in_fields_are_a_line_tall(qtbot, db):
    create_user(db, "sam", "Sam Lee", Role.THERAPIST, "therapy in 2026", who="test")
    box = sign_in_dialog(qtbot, db)
    assert not box.first_run
    assert_readable(qtbot, box, box.username, box.password)


@pytest.mark.usefixtures("scaled_font")
def test_lock_bar_fields_are_a_line_tall(qtbot):
    bar = LockBar()
    qtbot.addWidget(bar)
    bar.show_locked("Sam Lee", treatment_running=True)
    assert_readable(qtbot, bar, bar.username, bar.password)


@pytest.mark.usefixtures("scaled_font")
def test_signing_and_cosigning_fields_are_a_line_tall(qtbot):
    sign = SignDialog("Sam Lee (therapist)", ask_user_name=True)
    qtbot.addWidget(sign)
    assert_readable(qtbot, sign, sign.username, sign.password, sign.meaning)
    cosign = CosignDialog()
    qtbot.addWidget(cosign)
    assert_readable(qtbot, cosign, cosign.username, cosign.password)
