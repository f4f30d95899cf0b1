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


def public_panels(community) -> list[dict]:
    """The community's public page: the latest published version of its plan (never a draft)."""
    from planning.models import PlanVersion

    version = (
        PlanVersion.objects.filter(plan__community=community)
        .defer("pdf")
        .select_related("plan")
        .order_by("-published_at")
        .first()
    )
    html = render_to_string(
        "planning/partials/public_panel.html", {"v": version, "s": version.snapshot if version else {}}
    )
    return [{"key": "plan", "title": "Local energy plan", "html": html}]
