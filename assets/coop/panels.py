"""The co-op's card on the community page: its assets' generation and the money kept locally."""

from __future__ import annotations

from django.template.loader import render_to_string

from . import selectors


def community_panels(request, community) -> list[dict]:
    societies = list(selectors.societies(community))
    funds = list(selectors.funds(community))
    if not societies and not funds:
        return []
    rows = [
        {"society": s, "kept": selectors.kept_in_community(s), "members": selectors.active_member_count(s)}
        for s in societies
    ]
    fund_rows = [{"fund": f, "totals": selectors.fund_totals(f)} for f in funds]
    html = render_to_string(
        "coop/partials/community_panel.html",
        {"community": community, "rows": rows, "funds": fund_rows},
        request=request,
    )
    return [{"title": "Community-owned energy", "html": html}]


def public_panels(community) -> list[dict]:
    """The community's public page: the co-op's open share offers, with how much is raised so far."""
    from assets.coop.models import ShareOffer

    offers = list(
        ShareOffer.objects.filter(society__community=community, status=ShareOffer.Status.OPEN)
        .select_related("society")
        .order_by("closes_on")
    )
    rows = [
        {"offer": o, "stats": selectors.offer_stats(o), "rate_pct": o.society.target_interest_rate * 100}
        for o in offers
    ]
    html = render_to_string("coop/partials/public_panel.html", {"rows": rows, "community": community})
    return [{"key": "shares", "title": "Community shares on offer", "html": html}]
