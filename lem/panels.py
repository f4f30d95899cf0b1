"""Cards the market adds to the community page and a site's page."""

from __future__ import annotations

from datetime import timedelta

from django.template.loader import render_to_string
from django.utils import timezone

from lem import selectors
from lem.models import ClearingRun, Participant


def community_panels(request, community) -> list[dict]:
    market = selectors.market_for(community)
    if market is None:
        return []
    last = ClearingRun.objects.filter(market=market, clearing_price__isnull=False).order_by("-period_start").first()
    ctx = {
        "community": community,
        "last": last,
        "summary": selectors.community_summary(market, timezone.now() - timedelta(days=30)),
    }
    return [
        {
            "title": "Local energy market",
            "html": render_to_string("lem/partials/community_panel.html", ctx, request=request),
        }
    ]


def site_panels(request, site) -> list[dict]:
    p = Participant.objects.filter(site=site).select_related("market__community").first()
    if p is None:
        return []
    ctx = {"p": p, "community": site.community, "balance": selectors.balance_of(p)}
    return [
        {"title": "Local energy market", "html": render_to_string("lem/partials/site_panel.html", ctx, request=request)}
    ]
