"""Treatment sites offered for a protocol, and the sides a site can have.

WHY the list follows the protocol: a hands protocol offered "Achilles tendon"
first, and the site was never recorded. Tap water treats the trays' hands or
feet; lidocaine numbs a venipuncture site; the drug protocols treat tendons and
joints. "Other" is always offered (typed in words).
"""

from __future__ import annotations

from .protocols import AgentKind, Protocol

MUSCULOSKELETAL = ["Achilles tendon", "Lateral epicondyle (elbow)", "Shoulder", "Knee", "Plantar fascia (heel)"]
VENIPUNCTURE = ["Forearm (venipuncture)", "Back of the hand (venipuncture)", "Elbow crease (venipuncture)"]
HANDS = ["Hands (palms, trays)"]
FEET = ["Feet (soles, trays)"]
OTHER = "Other"
#: What the side list offers; "" = the site has no side (both hands in trays are "both").
SIDES = ["left", "right", "both"]


def sites_for(protocol: Protocol) -> list[str]:
    """The sites this protocol treats, the likeliest first, "Other" last."""
    text = f"{protocol.id} {protocol.name}".lower()
    if protocol.agent.kind is AgentKind.TAP_WATER:
        hands, feet = "hand" in text, "feet" in text or "foot" in text
        sites = (HANDS if hands else []) + (FEET if feet else []) or HANDS + FEET
    elif "venipuncture" in text or "lidocaine" in text:
        sites = list(VENIPUNCTURE)
    else:
        sites = list(MUSCULOSKELETAL)
    return [*sites, OTHER]
