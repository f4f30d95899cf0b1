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
