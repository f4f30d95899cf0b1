"""Who may use each market page and API endpoint (the permission matrix)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.routes import ANY_ROLE, Route, roles

HOUSEHOLD = roles("member")
OPERATOR_READERS = roles("market_operator", "auditor", "convenor")


def _market(w):
    from tests.lem.factories import make_market

    if "mw" not in w.extra:
        w.extra["mw"] = make_market(w)
    return w.extra["mw"]


def _with_order(w):
    from django.utils import timezone

    from lem import selectors, services

    mw = _market(w)
    period = selectors.next_open_period(mw.market, timezone.now())
    w.extra["order"] = services.order_place(
        participant=mw.seller,
        actor=mw.seller.user,
        side="offer",
        quantity_wh=500,
        price=Decimal("12"),
        period_start=period,
    )
    w.extra["period"] = period


def _with_run(w):
    from django.utils import timezone

    from lem import services

    mw = _market(w)
    period = services.floor_period(mw.market, timezone.now()) - timedelta(minutes=30)
    w.extra["run"] = services.market_clear(market=mw.market, period_start=period)


def _with_proposal(w):
    from django.utils import timezone

    from lem import services
    from tests.lem.factories import RULES

    mw = _market(w)
    w.extra["rule"] = services.rule_propose(
        market=mw.market,
        actor=w.users["member"],
        values={**RULES, "fee_pct": "1"},
        effective_from=timezone.now() + timedelta(days=3),
    )


def _slug(w):
    return {"slug": w.community.slug}


def _month(w):
    from django.utils import timezone

    return {"slug": w.community.slug, "month": timezone.localtime().strftime("%Y-%m")}


ROUTES = [
    Route("lem:index", ANY_ROLE, setup=_market),
    Route(
        "lem:run", ANY_ROLE, setup=_with_run, kwargs=lambda w: {"slug": w.community.slug, "run_id": w.extra["run"].pk}
    ),
    Route("lem:my", ANY_ROLE, setup=_market),
    Route(
        "lem:my",
        HOUSEHOLD,
        method="post",
        setup=_with_order,
        label="POST lem:my (place an order)",
        data=lambda w: {
            "action": "order",
            "side": "offer",
            "quantity_wh": "300",
            "price": "14.5",
            "period_start": (w.extra["period"] + timedelta(minutes=30)).isoformat(),
            "energy_source": "solar",
        },
    ),
    Route(
        "lem:order",
        HOUSEHOLD,
        method="post",
        setup=_with_order,
        kwargs=lambda w: {"slug": w.community.slug, "order_id": w.extra["order"].pk},
        data=lambda w: {"action": "cancel"},
    ),
    Route("lem:statement", HOUSEHOLD, setup=_market, kwargs=_month),
    Route(
        "lem:statement", HOUSEHOLD, setup=_market, kwargs=_month, query="?format=pdf", label="GET lem:statement (PDF)"
    ),
    Route("lem:rules", ANY_ROLE, setup=_market),
    Route(
        "lem:rules",
        HOUSEHOLD,
        method="post",
        setup=_with_proposal,
        label="POST lem:rules (vote)",
        data=lambda w: {"action": "vote", "rule": w.extra["rule"].pk, "choice": "yes"},
    ),
    Route("lem:operator", OPERATOR_READERS, setup=_market),
    Route(
        "lem:operator",
        roles("market_operator"),
        method="post",
        setup=_market,
        label="POST lem:operator (clear due periods)",
        data=lambda w: {"action": "clear"},
    ),
    # API
    Route("lem-api:order-list", ANY_ROLE, setup=_market, api=True),
    Route(
        "lem-api:order-list",
        HOUSEHOLD,
        method="post",
        setup=_with_order,
        api=True,
        label="POST lem-api:order-list",
        data=lambda w: {
            "side": "offer",
            "quantity_wh": 250,
            "price": "13",
            "period_start": (w.extra["period"] + timedelta(minutes=30)).isoformat(),
        },
    ),
    Route(
        "lem-api:order-detail",
        HOUSEHOLD,
        setup=_with_order,
        api=True,
        kwargs=lambda w: {"slug": w.community.slug, "order_id": w.extra["order"].pk},
    ),
    Route("lem-api:result-list", ANY_ROLE, setup=_market, api=True),
    Route("lem-api:trade-list", ANY_ROLE, setup=_market, api=True),
    Route("lem-api:settlement-list", ANY_ROLE, setup=_market, api=True),
    Route("lem-api:statement-detail", HOUSEHOLD, setup=_market, api=True, kwargs=_month),
]

# the value report (issue 17)
from tests.lem.routes_value import ROUTES as _VALUE_ROUTES  # noqa: E402

ROUTES += _VALUE_ROUTES
