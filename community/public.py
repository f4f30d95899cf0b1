"""A community's public page (issue 15): what anyone may see without logging in.

Off until the community turns it on (``Community.public_page``), and then only the
sections it chose (``Community.public_sections``). Each building block contributes its
section through ``<app>.panels.public_panels(community)`` returning
``[{"key": ..., "title": ..., "html": ...}]`` — aggregated and pseudonymous figures only,
never a person's name or a single household's data — found through the app registry so
``community`` never imports a higher app.
"""

from __future__ import annotations

from community import panels
from community.models import Community

# key → what the community sees when it chooses (the order of the page)
SECTIONS = {
    "about": "What the community is: its sites and network",
    "plan": "Its published local energy plan",
    "shares": "Open share offers of its co-op",
    "market": "The local market's recent prices and local share",
    "projects": "Funded projects and their progress",
    "join": "How to join",
}
DEFAULT_SECTIONS = list(SECTIONS)


def visible_sections(community: Community) -> list[str]:
    chosen = community.public_sections or []
    return [key for key in SECTIONS if key in chosen]


def public_panels(community: Community) -> list[dict]:
    shown = set(visible_sections(community))
    found = [p for p in panels.collect("public_panels", community) if p.get("key") in shown]
    order = list(SECTIONS)
    return sorted(found, key=lambda p: order.index(p["key"]))
