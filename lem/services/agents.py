"""The trading agents: placing orders on members' behalf."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from community.models import Membership, Role
from lem.domain.agent import AgentLimits, agent_orders, forecast_net_wh
from lem.models import (
    Market,
    Order,
)
from lem.services.base import floor_period, gate_closure, import_price_at, period_length, rules_in_force
from lem.services.orders import CO2_BY_SOURCE


def agent_place_orders(
    *, market: Market, period_start: datetime, now: datetime | None = None, history_days: int = 7
) -> int:
    """Each enabled agent forecasts its site's next period and bids/offers
    within the household's limits. Idempotent: an agent that already has an
    order for the period places nothing."""
    from assets.models import Device, IntervalReading, Meter, Telemetry

    now = now or timezone.now()
    if now >= gate_closure(market, period_start):
        return 0
    rule = rules_in_force(market, period_start)
    imp, exp = import_price_at(rule, market, period_start), rule.export_price
    minutes = market.community.settlement_period_minutes
    per_day = 24 * 60 // minutes
    participants = list(market.participants.filter(active=True, agent_enabled=True).select_related("site"))
    done = set(
        Order.objects.filter(market=market, period_start=period_start, source=Order.Source.AGENT).values_list(
            "participant_id", flat=True
        )
    )
    participants = [p for p in participants if p.pk not in done]
    if not participants:
        return 0
    # the agents' orders are placed at one moment, so at one price the order id
    # decides who fills first: a queue drawn afresh each period (seeded by it,
    # as the value replay's `lem.domain.value._queue`) so no home is always last
    random.Random(int(period_start.timestamp())).shuffle(participants)
    same_times = [period_start - timedelta(days=d) for d in range(1, history_days + 1)]
    site_ids = [p.site_id for p in participants]
    hist: dict[int, list[int]] = {}
    for site_id, imp_wh, exp_wh in IntervalReading.objects.filter(
        meter__site_id__in=site_ids,
        meter__kind=Meter.Kind.SITE,
        period_start__in=same_times,
    ).values_list("meter__site_id", "import_wh", "export_wh"):
        hist.setdefault(site_id, []).append(imp_wh - exp_wh)
    batteries: dict[int, tuple[int, int, int]] = {}
    for dev in Device.objects.filter(site_id__in=site_ids, kind=Device.Kind.BATTERY):
        soc = Telemetry.objects.filter(device=dev).order_by("-ts").values_list("soc_pct", flat=True).first()
        cap = dev.capacity_wh or 0
        batteries[dev.site_id] = (int(cap * (soc or 0) / 100), cap, dev.rated_power_w)
    # the same checks as order_place, done in bulk (one agent order per site)
    operators = set(
        Membership.objects.filter(community=market.community, role=Role.MARKET_OPERATOR).values_list(
            "user_id", flat=True
        )
    )
    owed = _owed_by_participant(market)
    manual = dict(
        Order.objects.filter(market=market, period_start=period_start, status=Order.Status.OPEN)
        .exclude(source=Order.Source.AGENT)
        .values_list("participant_id", "side")
    )
    new: list[Order] = []
    for p in participants:
        if p.user_id in operators:
            continue
        net = forecast_net_wh(
            hist.get(p.site_id, []), annual_kwh=p.site.annual_consumption_kwh, periods_per_day=per_day
        )
        soc, cap, power = batteries.get(p.site_id, (0, 0, 0))
        for o in agent_orders(
            net_wh=net,
            import_price=imp,
            export_price=exp,
            limits=AgentLimits(p.min_sell_price, p.max_buy_price, p.battery_reserve_pct),
            floor=market.price_floor,
            cap=market.price_cap,
            battery_soc_wh=soc,
            battery_capacity_wh=cap,
            battery_power_w=power,
            period_minutes=minutes,
            # issue 17: bid/offer the newsvendor quantile of the home's history, not its mean
            history_net_wh=hist.get(p.site_id) or None,
            mechanism=rule.mechanism,
            match_tariff=rule.match_tariff,
            fee_pct=rule.fee_pct,
        ):
            if manual.get(p.pk, o.side) != o.side:
                continue  # the household placed the other side by hand: it decides
            if o.side == Order.Side.BID and owed.get(p.pk, Decimal("0")) > p.credit_limit:
                continue  # over the credit limit: no new bids
            if not (market.price_floor <= o.price <= market.price_cap) or o.quantity_wh <= 0:
                continue
            new.append(
                Order(
                    market=market,
                    participant=p,
                    period_start=period_start,
                    side=o.side,
                    quantity_wh=o.quantity_wh,
                    price=o.price,
                    source=Order.Source.AGENT,
                    submitted_at=now,
                    nominees=[],
                    energy_source=o.energy_source,
                    co2_g_per_kwh=CO2_BY_SOURCE.get(o.energy_source, 0),
                )
            )
    Order.objects.bulk_create(new, batch_size=2000)
    return len(new)


def _owed_by_participant(market: Market) -> dict[int, Decimal]:
    from community.models import JournalLine

    rows = (
        JournalLine.objects.filter(account__community=market.community, account__code__startswith="lem:member:")
        .values_list("account__code")
        .annotate(s=Sum("amount"))
    )
    return {int(code.rsplit(":", 1)[1]): Decimal(total or 0).quantize(Decimal("0.01")) for code, total in rows}


def agents_run_due(*, market: Market, now: datetime | None = None, horizon_periods: int = 2) -> int:
    """Let the agents place orders for the next periods still open."""
    now = now or timezone.now()
    step = period_length(market)
    p = floor_period(market, now) + step
    made = 0
    for _ in range(horizon_periods + 2):
        if gate_closure(market, p) > now:
            made += agent_place_orders(market=market, period_start=p, now=now)
            horizon_periods -= 1
            if horizon_periods <= 0:
                break
        p += step
    return made
