"""Objects the market tests share, built through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from assets.models import IntervalReading, Meter
from lem import services
from lem.models import Market, Participant

# A fixed clock: 10:00 UTC; the next period tradeable before gate closure is 10:30.
NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PERIOD = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)

RULES = {
    "mechanism": "uniform",
    "import_price": "30",
    "export_price": "10",
    "match_tariff": "18",
    "fee_per_trade_pence": "0",
    "fee_pct": "0",
    "membership_fee": "2.50",
    "social_discount_pct": "20",
    "fund_share_pct": "50",
}


@dataclass
class MarketWorld:
    market: Market
    seller: Participant  # the "member" household (feeder A)
    buyer: Participant  # the neighbour (feeder B)
    world: object


def make_market(world, *, rules: dict | None = None, rules_need_vote: bool = True) -> MarketWorld:
    market = services.market_create(
        community=world.community,
        actor=world.users["market_operator"],
        rules=rules or RULES,
        rules_need_vote=rules_need_vote,
        now=NOW - timedelta(days=30),
    )
    seller = services.participant_enrol(
        market=market, site=world.site, user=world.users["member"], actor=world.users["member"]
    )
    buyer = services.participant_enrol(
        market=market, site=world.neighbour_site, user=world.neighbour, actor=world.neighbour
    )
    for site in (world.site, world.neighbour_site):
        Meter.objects.get_or_create(site=site, kind=Meter.Kind.SITE, defaults={"serial": f"M-{site.pk}"})
    return MarketWorld(market, seller, buyer, world)


def reading(participant: Participant, start: datetime, import_wh: int, export_wh: int) -> IntervalReading:
    meter = Meter.objects.get(site=participant.site, kind=Meter.Kind.SITE)
    r, _ = IntervalReading.objects.update_or_create(
        meter=meter,
        period_start=start,
        defaults={"period_minutes": 30, "import_wh": import_wh, "export_wh": export_wh, "source": "csv"},
    )
    return r


def place(mw: MarketWorld, who: Participant, side: str, qty: int, price: str, *, period=PERIOD, now=NOW, **kw):
    return services.order_place(
        participant=who,
        actor=who.user,
        side=side,
        quantity_wh=qty,
        price=Decimal(price),
        period_start=period,
        now=now,
        **kw,
    )
