"""The plan's card on the community page."""

from __future__ import annotations

from django.template.loader import render_to_string

from planning import selectors


def community_panels(request, community) -> list[dict]:
    plan = selectors.plans_for(community).first()
    if plan is None:
        return []
    latest = selectors.latest_version(plan)
    html = render_to_string(
        "planning/partials/panel.html",
        {"community": community, "plan": plan, "latest": latest, "milestones": list(plan.milestones.all()[:3])},
        request=request,
    )
    return [{"title": "Local energy plan", "html": html}]
