"""Corticosteroid detection, the one rule the checklist, the course view and the billing note share."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ionto_console.core.corticosteroids import CORTICOSTEROIDS, corticosteroid_named, is_corticosteroid
from ionto_console.core.protocols import Protocol, ProtocolError


def dexamethasone() -> dict:
    text = resources.files("ionto_console.resources").joinpath("protocols", "dexamethasone-4mgml-40.json")
    return json.loads(text.read_text("utf-8"))


def drug(solution: str, *, flag: bool, polarity: str = "cathode") -> dict:
    data = dexamethasone()
    data["agent"] = {**data["agent"], "solution": solution}
    return {**data, "corticosteroid": flag, "polarity": polarity}


@pytest.mark.parametrize("solution", [
    "dexamethasone sodium phosphate", "Hydrocortisone acetate", "methylprednisolone sodium succinate",
    "prednisolone", "triamcinolone acetonide", "betamethasone dipropionate", "Prednisone", "fludrocortisone",
    "a corticosteroid cream", "glucocorticoid (compounded)",
])
def test_systemic_corticosteroids_and_their_esters_count(solution):
    assert corticosteroid_named(solution) is not None
    assert is_corticosteroid(drug(solution, flag=False))


@pytest.mark.parametrize("solution", ["lidocaine hydrochloride", "acetic acid", "dexpanthenol", "sodium chloride",
                                      "ketoprofen", "tap water"])
def test_other_agents_do_not(solution):
    assert corticosteroid_named(solution) is None
    assert not is_corticosteroid(drug(solution, flag=False))


def test_the_longest_name_is_the_one_named():
    assert corticosteroid_named("methylprednisolone") == "methylprednisolone"
    assert corticosteroid_named("hydrocortisone") == "hydrocortisone"


def test_the_list_is_the_atc_h02a_group_and_every_name_is_lower_case_and_unique():
    assert len(set(CORTICOSTEROIDS)) == len(CORTICOSTEROIDS) >= 19
    assert all(name == name.lower().strip() for name in CORTICOSTEROIDS)
    for name in ("dexamethasone", "hydrocortisone", "methylprednisolone", "prednisolone", "triamcinolone",
                 "betamethasone"):
        assert name in CORTICOSTEROIDS


def test_a_flag_counts_even_for_an_unlisted_name_and_tap_water_never_by_name():
    assert is_corticosteroid(drug("Kenalog", flag=True))  # a brand name: the protocol says so
    tray = {"agent": {"kind": "tap_water", "solution": "tap water with hydrocortisone rinse"}}
    assert not is_corticosteroid(tray)


def test_a_validated_protocol_and_its_stored_copy_get_the_same_answer():
    protocol = Protocol.model_validate(drug("prednisolone", flag=True))
    assert is_corticosteroid(protocol) and is_corticosteroid(protocol.model_dump(mode="json"))
    lidocaine = Protocol.model_validate({**drug("lidocaine hydrochloride", flag=False, polarity="anode")})
    assert not is_corticosteroid(lidocaine) and not is_corticosteroid(lidocaine.model_dump(mode="json"))


@pytest.mark.parametrize("solution", ["prednisolone", "triamcinolone acetonide", "betamethasone"])
def test_a_protocol_naming_a_corticosteroid_must_say_so(solution):
    """Before: only three names were checked, so a prednisolone protocol could leave the flag off and
    the checklist asked no corticosteroid question while the course view warned about it."""
    with pytest.raises(ProtocolError) as info:
        Protocol.from_json(json.dumps(drug(solution, flag=False)))
    assert "corticosteroid" in str(info.value)


text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@given(name=st.sampled_from(CORTICOSTEROIDS), before=text, after=text, upper=st.booleans())
def test_any_solution_naming_a_corticosteroid_counts_and_cannot_leave_the_flag_off(name, before, after, upper):
    solution = f"{before}{name.upper() if upper else name}{after}".strip() or name
    assert corticosteroid_named(solution) is not None
    assert is_corticosteroid(drug(solution, flag=False))
    with pytest.raises(ProtocolError) as info:
        Protocol.from_json(json.dumps(drug(solution, flag=False)))
    assert "corticosteroid" in [field for field, _ in info.value.problems]
