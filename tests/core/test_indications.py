"""The indication (ICD-10) list follows the protocol (issue 14, new-user pass item 1).

For dexamethasone the hyperhidrosis codes came first: the list was one fixed list.
"""

from __future__ import annotations

import pytest

from ionto_console.core.indications import (
    ANAESTHETIC_CODES,
    HYPERHIDROSIS_CODES,
    indications_for,
    purpose_of,
)
from ionto_console.core.protocols import load_library

LIBRARY = {p.id: p for p in load_library()}
HYPERHIDROSIS = {i.code for i in HYPERHIDROSIS_CODES}


@pytest.mark.parametrize("protocol_id", [p for p in LIBRARY if p.startswith("tap-water")])
def test_tap_water_offers_the_guidelines_hyperhidrosis_codes_first(protocol_id):
    codes = [i.code for i in indications_for(LIBRARY[protocol_id])]
    assert set(codes[:7]) == {"L74.510", "L74.511", "L74.512", "L74.513", "L74.519", "L74.52", "R61"}
    assert codes[0] == ("L74.512" if "hands" in protocol_id else "L74.513")  # the trays' own site first


@pytest.mark.parametrize("protocol_id", ["dexamethasone-4mgml-40", "dexamethasone-4mgml-80"])
def test_dexamethasone_offers_tendinopathy_bursitis_and_epicondylitis_not_hyperhidrosis(protocol_id):
    indications = indications_for(LIBRARY[protocol_id])
    codes = [i.code for i in indications]
    assert not HYPERHIDROSIS & set(codes)
    assert codes[0] == "M76.60"  # Achilles tendinitis, the first site the protocol offers
    words = " ".join(i.words.lower() for i in indications)
    for use in ("tendinitis", "bursitis", "epicondylitis"):
        assert use in words


def test_lidocaine_offers_local_anaesthesia_and_acetic_acid_calcific_deposits():
    assert indications_for(LIBRARY["lidocaine-venipuncture"]) == list(ANAESTHETIC_CODES)
    assert "anaesthesia" in indications_for(LIBRARY["lidocaine-venipuncture"])[0].words
    assert all("calci" in i.words.lower() or "spur" in i.words.lower()
               for i in indications_for(LIBRARY["acetic-acid-2pct"]))


def test_a_stored_protocol_copy_is_judged_like_the_validated_one():
    for protocol in LIBRARY.values():
        assert indications_for(protocol.model_dump(mode="json")) == indications_for(protocol)
    assert indications_for({"agent": "garbled"})  # a damaged copy still gets a list, never raises


def test_purpose_of_a_code_depends_on_the_protocol():
    lidocaine = LIBRARY["lidocaine-venipuncture"]
    assert purpose_of(" z01.812 ", lidocaine) == "venipuncture_anesthesia"
    assert purpose_of("Z01.812", LIBRARY["dexamethasone-4mgml-40"]) is None
    assert purpose_of("Z01.812", None) is None
