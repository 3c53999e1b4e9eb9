"""A clinic's custom protocol files: valid ones load, bad ones are reported with field and reason."""

import json

from ionto_console.core.protocols import load_custom, load_library


def _library_json(**changes):
    base = next(p for p in load_library() if p.id == "dexamethasone-4mgml-40").model_dump(mode="json")
    base.update(changes)
    return json.dumps(base)


def test_valid_custom_protocols_load_and_bad_ones_are_reported(tmp_path):
    (tmp_path / "ours.json").write_text(_library_json(id="clinic-dex-30", name="Clinic dex 30", dose_target_ma_min=30))
    (tmp_path / "bad.json").write_text(_library_json(id="clinic-bad", ramp_start_ma=9.0))
    (tmp_path / "clash.json").write_text(_library_json())
    (tmp_path / "junk.json").write_text("{not json")
    library_ids = {p.id for p in load_library()}
    protocols, problems = load_custom(tmp_path, library_ids)
    assert [p.id for p in protocols] == ["clinic-dex-30"]
    assert len(problems) == 3
    assert any("bad.json" in text and "ramp_start_ma" in text for text in problems)
    assert any("clash.json" in text and "already used" in text for text in problems)


def test_missing_folder_is_simply_empty(tmp_path):
    assert load_custom(tmp_path / "none", set()) == ([], [])
