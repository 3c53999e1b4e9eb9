"""Protocol validation: every rejection names its field; the shipped library is valid."""

import json

import pytest
from pydantic import ValidationError

from engine_helpers import DEX_40, TAP_HANDS, make_protocol
from ionto_console.core.protocols import (
    AgentKind,
    Polarity,
    Protocol,
    ProtocolError,
    load_library,
)


def rejected(base=DEX_40, **overrides) -> ProtocolError:
    data = dict(base)
    data.update(overrides)
    with pytest.raises(ProtocolError) as info:
        Protocol.from_json(json.dumps(data), source="case.json")
    return info.value


def fields(err: ProtocolError) -> list[str]:
    return [field for field, _ in err.problems]


def test_reference_protocols_are_valid():
    dex = make_protocol()
    assert dex.polarity is Polarity.CATHODE and dex.duty == 1.0 and dex.dose_cap_ma_min == 40
    tap = make_protocol(TAP_HANDS)
    assert tap.agent.kind is AgentKind.TAP_WATER and tap.dose_cap_ma_min == 400


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"max_current_ma": 30.0}, "max_current_ma", "25"),
        ({"max_current_ma": 6.0}, "max_current_ma", "density"),
        ({"ramp_start_ma": 5.0}, "ramp_start_ma", "above max_current_ma"),
        ({"step_ma": 4.5}, "step_ma", "above max_current_ma"),
        ({"dose_target_ma_min": 60.0}, "dose_target_ma_min", "rating"),
        ({"electrode_rating_ma_min": 50}, "electrode_rating_ma_min", "40"),
        ({"electrode_rating_ma_min": None}, "electrode_rating_ma_min", "dose rating"),
        ({"polarity": "anode"}, "polarity", "cathode"),
        ({"polarity_reversal_halfway": True}, "polarity_reversal_halfway", "tap water"),
        ({"corticosteroid": False}, "corticosteroid", "corticosteroid"),
        ({"ramp_down_s": 6.0}, "ramp_down_s", "5"),
        ({"ramp_rate_ma_s": 0.001}, "ramp_rate_ma_s", "0.01"),
        ({"density_limit_ma_cm2": 3.0}, "density_limit_ma_cm2", "2"),
        ({"waveform": {"mode": "pulsed_dc", "frequency_hz": 30000, "duty_pct": 50}}, "waveform.frequency_hz", "20000"),
        ({"waveform": {"mode": "pulsed_dc", "frequency_hz": 1000, "duty_pct": 95}}, "waveform.duty_pct", "90"),
        ({"waveform": {"mode": "square"}}, "waveform", "mode"),
        ({"agent": {"kind": "drug", "solution": "dexamethasone"}}, "agent.concentration", "concentration"),
        ({"id": "Bad Id"}, "id", "pattern"),
        ({"surprise": 1}, "surprise", "not permitted"),
        ({"program": [{"current_ma": 5.0, "duration_s": 60}]}, "program", "step 1"),
        ({"program": [{"current_ma": 1.0}]}, "program[0]", "exactly one"),
        ({"program": [{"current_ma": 1.0, "dose_share": 0.5}]}, "program", "add up to 1"),
        ({"program": [{"current_ma": 1.0, "dose_share": 0.5}, {"current_ma": 1, "duration_s": 5}]},
         "program", "mix"),
    ],
)
def test_invalid_protocol_names_exact_field(overrides, field, words):
    err = rejected(**overrides)
    assert field in fields(err), err.problems
    reason = dict(err.problems)[field]
    assert words.lower() in reason.lower(), reason
    assert field in str(err) and "case.json" in str(err)
    assert "Value error," not in str(err)


def test_rules_apply_to_omitted_fields_too():
    data = {k: v for k, v in DEX_40.items() if k not in ("corticosteroid", "electrode_rating_ma_min")}
    with pytest.raises(ProtocolError) as info:
        Protocol.from_json(json.dumps(data))
    assert set(fields(info.value)) == {"corticosteroid", "electrode_rating_ma_min"}


def test_lidocaine_must_be_anode():
    lido = dict(DEX_40, agent={"kind": "drug", "solution": "lidocaine hydrochloride",
                               "concentration": 2, "concentration_unit": "%"}, corticosteroid=False)
    assert fields(rejected(lido, polarity="cathode")) == ["polarity"]
    assert Protocol.model_validate(dict(lido, polarity="anode")).polarity is Polarity.ANODE


def test_tap_water_may_use_either_polarity_and_reverse():
    for polarity in ("anode", "cathode"):
        assert make_protocol(TAP_HANDS, polarity=polarity).polarity_reversal_halfway


def test_tap_water_has_no_concentration():
    err = rejected(TAP_HANDS, agent={"kind": "tap_water", "solution": "tap water", "concentration": 1.0,
                                     "concentration_unit": "%"})
    assert "agent.concentration" in fields(err)


def test_several_problems_are_all_listed():
    err = rejected(max_current_ma=30.0, ramp_down_s=9.0, polarity="anode")
    assert {"max_current_ma", "ramp_down_s", "polarity"} <= set(fields(err))


def test_malformed_json_is_a_protocol_error():
    with pytest.raises(ProtocolError) as info:
        Protocol.from_json("{not json", source="x.json")
    assert "json" in str(info.value).lower()


def test_model_validate_still_raises_pydantic_error():
    with pytest.raises(ValidationError):
        Protocol.model_validate(dict(DEX_40, max_current_ma=-1))


def test_pulsed_duty_and_program_by_dose_share():
    p = make_protocol(TAP_HANDS, waveform={"mode": "pulsed_dc", "frequency_hz": 5000, "duty_pct": 40},
                      program=[{"current_ma": 10, "dose_share": 0.25}, {"current_ma": 16, "dose_share": 0.75}])
    assert p.pulsed and p.duty == pytest.approx(0.4)
    assert len(p.program) == 2


def test_protocol_is_immutable():
    p = make_protocol()
    with pytest.raises(ValidationError):
        p.max_current_ma = 10.0  # type: ignore[misc]


def test_library_loads_and_covers_the_required_protocols():
    library = load_library()
    ids = {p.id for p in library}
    assert {"dexamethasone-4mgml-40", "dexamethasone-4mgml-80", "lidocaine-venipuncture", "acetic-acid-2pct",
            "tap-water-hands-dc", "tap-water-feet-dc", "tap-water-hands-pulsed", "tap-water-feet-pulsed"} <= ids
    by_id = {p.id: p for p in library}
    assert by_id["dexamethasone-4mgml-40"].dose_target_ma_min == 40
    assert by_id["dexamethasone-4mgml-80"].dose_target_ma_min == 80
    assert by_id["lidocaine-venipuncture"].polarity is Polarity.ANODE
    assert by_id["acetic-acid-2pct"].polarity is Polarity.CATHODE
    for p in library:
        # Every shipped protocol re-validates from its own JSON and stays inside the hardware.
        assert Protocol.model_validate_json(p.model_dump_json()) == p
        assert p.max_current_ma <= 25 and p.ramp_down_s <= 5
        assert p.max_current_ma / p.electrode_area_cm2 <= p.density_limit_ma_cm2
        if p.agent.kind is AgentKind.TAP_WATER:
            assert p.max_current_ma <= 20 and 15 <= p.planned_minutes_at_max <= 25
    lido = by_id["lidocaine-venipuncture"]
    assert 10 <= lido.dose_target_ma_min / lido.max_current_ma <= 20
    assert by_id["tap-water-hands-pulsed"].pulsed and not by_id["tap-water-hands-dc"].pulsed
