"""Hostile clinic protocol files: each refused with file, field and reason; the rest still load."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_console.core.protocols import (
    MAX_DOSE_MA_MIN,
    MAX_PROTOCOL_FILE_BYTES,
    Protocol,
    ProtocolError,
    load_custom,
    load_library,
)

LIBRARY = load_library()
IDS = {p.id for p in LIBRARY}
NAMES = {p.name for p in LIBRARY}


def _tap_water(**changes) -> dict:
    base = next(p for p in LIBRARY if p.id == "tap-water-hands-dc").model_dump(mode="json")
    base.update(id="clinic-tap", name="Clinic tap water")
    base.update(changes)
    return base


def _write(folder: Path, name: str, value: dict | str) -> Path:
    path = folder / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return path


def _load(folder: Path) -> tuple[list[Protocol], list[str]]:
    _write(folder, "good.json", _tap_water(id="clinic-good", name="Clinic good"))
    return load_custom(folder, IDS, NAMES)


def _one_problem(folder: Path, file: str, *words: str) -> str:
    protocols, problems = _load(folder)
    assert [p.id for p in protocols] == ["clinic-good"], problems  # the console starts with the rest
    (text,) = [p for p in problems if file in p]
    for word in words:
        assert word in text, text
    return text


@pytest.mark.parametrize(("changes", "field"), [
    ({"dose_target_ma_min": "Infinity"}, "dose_target_ma_min"),
    ({"dose_target_ma_min": 1e308}, "dose_target_ma_min"),
    ({"max_current_ma": True}, "max_current_ma"),
    ({"ramp_rate_ma_s": "NaN"}, "ramp_rate_ma_s"),
    ({"polarity_reversal_halfway": 1}, "polarity_reversal_halfway"),
    ({"polarity_reversal_halfway": "yes"}, "polarity_reversal_halfway"),
    ({"notes": "x" * 50_000}, "notes"),
    ({"name": "n" * 500}, "name"),
    ({"ramp_down_s": 1e9}, "ramp_down_s"),
])
def test_bad_numbers_booleans_and_text_are_refused(tmp_path, changes, field):
    value = json.dumps(_tap_water(**changes)).replace('"Infinity"', "Infinity").replace('"NaN"', "NaN")
    _write(tmp_path, "hostile.json", value)
    _one_problem(tmp_path, "hostile.json", f"- {field}:")


def test_a_library_name_cannot_be_reused(tmp_path):
    library = next(p for p in LIBRARY if p.id == "tap-water-hands-dc")
    _write(tmp_path, "lookalike.json", _tap_water(id="clinic-lookalike", name="  " + library.name.upper() + " ",
                                                  max_current_ma=25.0, electrode_area_cm2=200.0))
    _one_problem(tmp_path, "lookalike.json", "- name:", "already the name of a library protocol")


def test_a_library_id_cannot_be_reused(tmp_path):
    _write(tmp_path, "same-id.json", _tap_water(id="tap-water-hands-dc", name="Other"))
    _one_problem(tmp_path, "same-id.json", "- id:", "already used")


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "clinic.json")
    _one_problem(tmp_path, "clinic.json", "- (file):", "named pipe")


@pytest.mark.timeout(20)
def test_a_link_to_dev_zero_is_refused(tmp_path):
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    _one_problem(tmp_path, "zero.json", "- (file):", "character device")


def test_a_huge_file_is_refused_unread(tmp_path):
    body = json.dumps(_tap_water(id="clinic-big", name="Big"))
    _write(tmp_path, "big.json", body[:-1] + ', "pad": "' + "x" * (MAX_PROTOCOL_FILE_BYTES + 10) + '"}')
    _one_problem(tmp_path, "big.json", "- (file):", "more than the 1,000,000")


def test_a_folder_named_json_and_bad_utf8(tmp_path):
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "bytes.json").write_bytes(b"\xff\xfe{\x00")
    protocols, problems = _load(tmp_path)
    assert [p.id for p in protocols] == ["clinic-good"]
    assert any("dir.json" in p and "a folder" in p for p in problems)
    assert any("bytes.json" in p for p in problems)


def test_a_link_to_a_regular_file_is_read(tmp_path):
    target = _write(tmp_path, "elsewhere.txt", _tap_water(id="clinic-linked", name="Linked"))
    (tmp_path / "linked.json").symlink_to(target)
    protocols, problems = _load(tmp_path)
    assert sorted(p.id for p in protocols) == ["clinic-good", "clinic-linked"] and not problems


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dose=st.floats(allow_nan=True, allow_infinity=True) | st.booleans() | st.integers(-10**400, 10**400))
def test_any_dose_is_finite_and_in_range_or_refused_with_its_field(dose):
    text = json.dumps(_tap_water(dose_target_ma_min=dose, electrode_rating_ma_min=None))
    try:
        protocol = Protocol.from_json(text, source="p.json")
    except ProtocolError as exc:
        assert any(field == "dose_target_ma_min" for field, _ in exc.problems), exc.problems
        return
    assert not isinstance(dose, bool)
    assert math.isfinite(protocol.dose_target_ma_min) and 0 < protocol.dose_target_ma_min <= MAX_DOSE_MA_MIN
