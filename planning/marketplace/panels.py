"""The marketplace's section of the community's public page: funded projects and their progress."""

from __future__ import annotations

from django.template.loader import render_to_string

from planning.marketplace import selectors


def public_panels(community) -> list[dict]:
    grants = list(selectors.funded_projects(community)[:8])
    campaigns = [c for c in selectors.live_campaigns(community)[:10] if c.status == c.Status.LIVE][:3]
    html = render_to_string(
        "marketplace/partials/public_panel.html", {"community": community, "grants": grants, "campaigns": campaigns}
    )
    return [{"key": "projects", "title": "Funded projects", "html": html}]
