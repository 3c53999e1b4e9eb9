"""The indications (ICD-10-CM) a protocol is used for: the one home of that mapping.

WHY the list follows the protocol: the set-up screen offered one fixed list
with the hyperhidrosis codes first, so a therapist treating an Achilles
tendon with dexamethasone scrolled past codes no clinician would choose for
that drug, and a wrong pick lands on the bill. The codes for the protocol on
screen come first; "Other" stays possible (the list is editable: any code can
be typed).

Where the mapping comes from:

- Tap water (hyperhidrosis trays): the payer coverage guideline CG-MED-28
  ("Iontophoresis") names ICD-10 L74.510-L74.519 (primary focal
  hyperhidrosis by site), L74.52 (secondary focal) and R61 (generalized) as
  the codes for which tap-water iontophoresis is medically necessary (when
  its criteria are met: ``records/billing.py`` asks them at billing). The
  code matching the protocol's trays (palms for hands, soles for feet) is
  offered first.
- Drugs: the uses of each agent by iontophoresis as the protocol library's own
  notes state them (``resources/protocols/*.json``) and the physical-therapy
  practice they come from: dexamethasone (a corticosteroid) for tendinopathy,
  bursitis, epicondylitis and plantar fasciitis; acetic acid for calcific
  deposits (calcific tendinitis, heel spurs); lidocaine for local dermal
  anaesthesia before venipuncture or a superficial dermatologic procedure
  (the labelled use of the lidocaine iontophoresis systems). The same
  guideline calls corticosteroid or NSAID iontophoresis for inflammatory
  musculoskeletal disorders, and any iontophoresis for temporomandibular
  disorders, NOT medically necessary: those codes are still offered (they
  are what the patient has) and the screen flags them with the guideline's
  verdict (``control/indications.py`` asks ``records.billing.assess_coverage``,
  the coverage rule's own home).
- Code titles: ICD-10-CM tabular list (CMS), unspecified laterality where the
  code has one; the side is recorded apart (``core/sites.py``).

``purpose`` is the guideline's indication category (``records.billing.INDICATIONS``)
a code stands for with this protocol, so billing and the set-up screen judge a
chosen code the same way (an anaesthesia code before venipuncture is covered;
the code alone does not say so).

Qt-free and I/O-free; works on a validated ``Protocol`` and on a protocol as the
records store it (a JSON mapping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .corticosteroids import is_corticosteroid
from .protocols import Protocol

HYPERHIDROSIS = "hyperhidrosis"
MUSCULOSKELETAL = "inflammatory_musculoskeletal"
VENIPUNCTURE = "venipuncture_anesthesia"
DERMATOLOGIC = "dermatologic_procedure_anesthesia"
TMD = "temporomandibular_disorder"


@dataclass(frozen=True)
class Indication:
    """One ICD-10-CM code offered before Start, in words, with the guideline category it stands for."""

    code: str
    words: str
    purpose: str

    @property
    def label(self) -> str:
        return f"{self.code}  {self.words}"


#: The coverage guideline's medically-necessary hyperhidrosis codes (CG-MED-28), in code order.
HYPERHIDROSIS_CODES: tuple[Indication, ...] = (
    Indication("L74.510", "Primary focal hyperhidrosis, axilla", HYPERHIDROSIS),
    Indication("L74.511", "Primary focal hyperhidrosis, face", HYPERHIDROSIS),
    Indication("L74.512", "Primary focal hyperhidrosis, palms", HYPERHIDROSIS),
    Indication("L74.513", "Primary focal hyperhidrosis, soles", HYPERHIDROSIS),
    Indication("L74.519", "Primary focal hyperhidrosis, unspecified", HYPERHIDROSIS),
    Indication("L74.52", "Secondary focal hyperhidrosis", HYPERHIDROSIS),
    Indication("R61", "Generalized hyperhidrosis", HYPERHIDROSIS),
)

#: Dexamethasone (and any corticosteroid): tendinopathy, bursitis, epicondylitis, fasciitis.
CORTICOSTEROID_CODES: tuple[Indication, ...] = (
    Indication("M76.60", "Achilles tendinitis", MUSCULOSKELETAL),
    Indication("M77.10", "Lateral epicondylitis (tennis elbow)", MUSCULOSKELETAL),
    Indication("M77.00", "Medial epicondylitis (golfer's elbow)", MUSCULOSKELETAL),
    Indication("M76.50", "Patellar tendinitis", MUSCULOSKELETAL),
    Indication("M75.20", "Bicipital tendinitis", MUSCULOSKELETAL),
    Indication("M75.50", "Bursitis of shoulder", MUSCULOSKELETAL),
    Indication("M70.20", "Olecranon bursitis", MUSCULOSKELETAL),
    Indication("M70.60", "Trochanteric bursitis", MUSCULOSKELETAL),
    Indication("M72.2", "Plantar fasciitis", MUSCULOSKELETAL),
    Indication("M65.4", "Radial styloid tenosynovitis (de Quervain)", MUSCULOSKELETAL),
    Indication("M26.609", "Temporomandibular joint disorder", TMD),
)

#: Acetic acid: calcific deposits.
ACETIC_ACID_CODES: tuple[Indication, ...] = (
    Indication("M75.30", "Calcific tendinitis of shoulder", MUSCULOSKELETAL),
    Indication("M65.20", "Calcific tendinitis, other site", MUSCULOSKELETAL),
    Indication("M77.30", "Calcaneal spur (heel spur)", MUSCULOSKELETAL),
    Indication("M61.9", "Calcification and ossification of muscle", MUSCULOSKELETAL),
)

#: Lidocaine: local dermal anaesthesia before a needle or a superficial procedure.
ANAESTHETIC_CODES: tuple[Indication, ...] = (
    Indication("Z01.812", "Local anaesthesia before venipuncture (preprocedural laboratory examination)",
               VENIPUNCTURE),
    Indication("Z01.818", "Local anaesthesia before another procedure (preprocedural examination)",
               DERMATOLOGIC),
)

#: Drug solutions recognised by name (lower-case substring of ``agent.solution``), in the order tried.
_BY_SOLUTION: tuple[tuple[str, tuple[Indication, ...]], ...] = (
    ("acetic acid", ACETIC_ACID_CODES),
    ("lidocaine", ANAESTHETIC_CODES),
    ("lignocaine", ANAESTHETIC_CODES),
)

#: Every code this module knows, for a protocol it cannot place (its own drug's list is unknown).
_ALL_DRUG_CODES: tuple[Indication, ...] = CORTICOSTEROID_CODES + ACETIC_ACID_CODES + ANAESTHETIC_CODES


def _as_mapping(protocol: Protocol | Mapping[str, Any]) -> Mapping[str, Any]:
    return protocol.model_dump(mode="json") if isinstance(protocol, Protocol) else protocol


def _tray_first(codes: tuple[Indication, ...], protocol: Mapping[str, Any]) -> list[Indication]:
    """The hyperhidrosis codes with the trays' own site first (palms for hands, soles for feet)."""
    text = f"{protocol.get('id', '')} {protocol.get('name', '')}".lower()
    first = ("L74.512" if "hand" in text else None) or ("L74.513" if "feet" in text or "foot" in text else None)
    return sorted(codes, key=lambda i: i.code != first)


def indications_for(protocol: Protocol | Mapping[str, Any]) -> list[Indication]:
    """The indications this protocol is used for, the likeliest first (see the module docstring)."""
    data = _as_mapping(protocol)
    agent = data.get("agent")
    agent = agent if isinstance(agent, Mapping) else {}
    if agent.get("kind") == "tap_water":
        return _tray_first(HYPERHIDROSIS_CODES, data)
    if is_corticosteroid(data):
        return list(CORTICOSTEROID_CODES)
    solution = str(agent.get("solution", "")).lower()
    for name, codes in _BY_SOLUTION:
        if name in solution:
            return list(codes)
    return list(_ALL_DRUG_CODES)


def all_indications() -> list[Indication]:
    """Every code this module knows, each once (the set-up offers those not the protocol's own after them)."""
    seen: dict[str, Indication] = {}
    for indication in HYPERHIDROSIS_CODES + _ALL_DRUG_CODES:
        seen.setdefault(indication.code, indication)
    return list(seen.values())


def words_of(code: str) -> str:
    """What a known ICD-10-CM code stands for ("M76.60" -> "Achilles tendinitis"); "" for a code this
    module does not know (one typed by the therapist). The report names the diagnosis with it."""
    code = (code or "").strip().upper()
    return next((indication.words for indication in all_indications() if indication.code == code), "")


def purpose_of(code: str, protocol: Protocol | Mapping[str, Any] | None) -> str | None:
    """The guideline category ``code`` stands for with this protocol (None: not one of its indications)."""
    if protocol is None:
        return None
    code = code.strip().upper()
    for indication in indications_for(protocol):
        if indication.code == code:
            return indication.purpose
    return None
