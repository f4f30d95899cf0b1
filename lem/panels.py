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


def public_panels(community) -> list[dict]:
    """The community's public page: the last week's local prices and the month's local share (totals only)."""
    from community.charts import base_layout, fig_html

    market = selectors.market_for(community)
    if market is None:
        return []
    now = timezone.now()
    runs = list(
        ClearingRun.objects.filter(
            market=market, clearing_price__isnull=False, period_start__gte=now - timedelta(days=7)
        ).order_by("period_start")
    )
    chart = ""
    if runs:
        import plotly.graph_objects as go

        fig = go.Figure(
            go.Scatter(
                x=[r.period_start for r in runs],
                y=[float(r.clearing_price) for r in runs],
                mode="lines",
                line=dict(color="#0f766e", shape="hv"),
                name="local price",
            )
        )
        base_layout(fig, height=260)
        fig.update_layout(xaxis=dict(title="delivery period (UK time)"), yaxis=dict(title="p/kWh", rangemode="tozero"))
        chart = fig_html(fig)
    html = render_to_string(
        "lem/partials/public_panel.html",
        {"market": market, "chart": chart, "summary": selectors.community_summary(market, now - timedelta(days=30))},
    )
    return [{"key": "market", "title": "Local energy market", "html": html}]
