"""Starting points for scenarios: the six pathways of seed 002 section 3.5
("Possible Pathways - 6 Scenarios").  Each is an illustration, not a
prescription: it gives a scenario a first set of options and take-up (years
counted from the scenario's start) that the community then edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pathway:
    key: str
    label: str
    who: str  # the seed's example community
    story: str
    # (kind, {years after start: take-up %}, params)
    options: tuple[tuple[str, dict[int, float], dict[str, str]], ...] = field(default_factory=tuple)
    blocks: tuple[str, ...] = ()  # building blocks the pathway goes through (Milestone.Block values)


PATHWAYS: tuple[Pathway, ...] = (
    Pathway(
        "simple_vpp",
        "Simple VPP (behavioural response)",
        "Tenants on an estate with a common landlord",
        "A community group finds a VPP operator to take households to schemes like DFS, mainly by shifting use; "
        "smart appliances and chargers join over time.",
        (("ev_charger", {0: 5, 5: 30, 10: 50}, {"smart": "1"}),),
        ("plan", "vpp"),
    ),
    Pathway(
        "rooftop_pv",
        "Rooftop solar (no coordination)",
        "Homeowners in an established housing development",
        "Little agreement on most ideas, but many want rooftop solar from a trusted supplier: a group purchase.",
        (("rooftop_pv", {0: 10, 3: 35, 8: 55}, {}),),
        ("plan", "purchasing"),
    ),
    Pathway(
        "advanced_vpp",
        "Advanced VPP (PV and batteries)",
        "Tenants and homeowners, a wide range of housing",
        "A core group works with the council and DNO; homes add solar and batteries that a VPP aggregates.",
        (
            ("rooftop_pv", {0: 10, 4: 40, 10: 60}, {}),
            ("battery", {1: 5, 6: 30, 10: 45}, {}),
            ("ev_charger", {0: 10, 10: 60}, {"smart": "1"}),
        ),
        ("plan", "purchasing", "vpp"),
    ),
    Pathway(
        "energy_share",
        "Community energy sharing (community asset)",
        "A group formed around a piece of common land",
        "Derelict land by the playing fields becomes a community-owned solar farm selling to local homes.",
        (("community_solar", {2: 100}, {"kwp": "500"}),),
        ("plan", "anchor", "lem"),
    ),
    Pathway(
        "wind_dividend",
        "Wind farm dividend",
        "A developer seeking community buy-in",
        "A developer's wind farm pays into a community fund that seeds local projects (modelled here as a "
        "turbine share whose output is sold locally first).",
        (("wind_turbine", {3: 100}, {"rated_kw": "1000"}), ("retrofit", {1: 10, 10: 50}, {"target_band": "C"})),
        ("plan", "corporate", "marketplace"),
    ),
    Pathway(
        "private_wire",
        "Private wire network (self-balancing village)",
        "A developer building a new village",
        "Solar farm, shared-loop heat pumps, rooftop solar and batteries, run by an ESCO as one balanced system.",
        (
            ("community_solar", {1: 100}, {"kwp": "750"}),
            ("ground_loop", {1: 30, 5: 70}, {}),
            ("rooftop_pv", {1: 30, 5: 80}, {}),
            ("battery", {2: 20, 6: 60}, {}),
        ),
        ("plan", "corporate", "balancing"),
    ),
)
PATHWAYS_BY_KEY = {p.key: p for p in PATHWAYS}


def pathway_take_up(pathway: Pathway, start_year: int, end_year: int) -> list[tuple[str, dict[int, float], dict]]:
    """The pathway's options with absolute years, clipped to the scenario's span."""
    out = []
    for kind, points, params in pathway.options:
        take_up = {min(start_year + dy, end_year): pct for dy, pct in points.items()}
        out.append((kind, take_up, dict(params)))
    return out
