"""Who may use the value report pages (issue 17)."""

from __future__ import annotations

from tests.routes import ANY_ROLE, Route, roles

READERS = roles("market_operator", "auditor", "convenor")
RUNNERS = roles("market_operator", "convenor")


def _market(w):
    from tests.lem.routes import _market as market

    return market(w)


def _with_proposal(w):
    from tests.lem.routes import _with_proposal as proposal

    proposal(w)


ROUTES = [
    Route("lem:value", READERS, setup=_market),
    Route(
        "lem:value",
        RUNNERS,
        method="post",
        setup=_market,
        label="POST lem:value (replay the year)",
        data=lambda w: {},
        success_redirects=True,
    ),
    Route("lem:value_household", ANY_ROLE, setup=_market),
    Route(
        "lem:value_rule",
        roles("member", "market_operator", "auditor", "convenor"),
        setup=_with_proposal,
        kwargs=lambda w: {"slug": w.community.slug, "number": w.extra["rule"].number},
    ),
]

ROUTES += [
    Route(
        "lem:order_preview",
        roles("member"),
        setup=_market,
        query="?side=bid&quantity_wh=500&price=21",
    ),
]
