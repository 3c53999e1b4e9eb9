"""Numbers as a person reads them (core/numbers.py): never "-0.0", and one home for it."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.numbers import fixed, signed

SRC = Path(__file__).resolve().parents[2] / "src"


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9), st.integers(0, 4))
def test_a_value_that_rounds_to_zero_is_never_minus_zero(value, decimals):
    for text in (fixed(value, decimals), signed(value, decimals)):
        assert not re.fullmatch(r"-0(\.0*)?", text), (value, decimals, text)
        assert float(text) == round(value, decimals) + 0.0
    assert signed(value, decimals)[0] in "+-"
    assert fixed(value, decimals).lstrip("-") == signed(value, decimals)[1:]


def test_the_calibration_table_and_texts_show_no_minus_zero():
    assert signed(-0.04, 1) == "+0.0" and fixed(-0.004, 2) == "0.00" and signed(-1.25, 1) == "-1.2"


def test_no_module_formats_a_signed_number_itself():
    """A format string with a forced sign (``:+.1f``) prints "-0.0" for a tiny negative: use ``signed``."""
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if re.search(r"\{[^{}]*:\+\.\d+f\}", line)]
    assert offenders == []
