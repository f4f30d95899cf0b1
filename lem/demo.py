"""Demo data for the market: the community's market, its members as
participants, and the last day and a half of trading (readings, agent orders,
clearing at gate closure, settlement, ledger) so every page has something to
show. Idempotent: a second run finds the market and only tops up the open
periods' agent orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from community.models import Community, Membership, Role, Site
from lem import services
from lem.domain.simulate import Home, period_energy
from lem.models import Market

DEMO_RULES = {
    "mechanism": "uniform",
    "import_price": "24.5",
    "peak_import_price": "32",
    "export_price": "15",
    "match_tariff": "20",
    "fee_per_trade_pence": "0.1",
    "fee_pct": "1",
    "membership_fee": "1.50",
    "social_discount_pct": "20",
    "fund_share_pct": "50",
}
HISTORY_HOURS = 36


def _ensure_meter(site: Site):
    from assets.models import Meter

    meter = Meter.objects.filter(site=site, kind=Meter.Kind.SITE).first()
    if meter is None:
        meter = Meter.objects.create(site=site, kind=Meter.Kind.SITE, serial=f"LEM-{site.community_id}-{site.pk}")
    return meter


def _write_readings(meters: dict[int, object], homes: dict[int, Home], start, end, minutes: int) -> None:
    from assets.models import IntervalReading

    rows = []
    t = start
    while t < end:
        for site_id, meter in meters.items():
            imp, exp = period_energy(homes[site_id], t, minutes)
            rows.append(
                IntervalReading(
                    meter=meter, period_start=t, period_minutes=minutes, import_wh=imp, export_wh=exp, source="estimate"
                )
            )
        t += timedelta(minutes=minutes)
    IntervalReading.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def seed(*, community: Community, stdout=None) -> Market:
    say = (lambda m: stdout.write(m)) if stdout is not None else (lambda m: None)
    operator = Membership.objects.filter(community=community, role=Role.MARKET_OPERATOR).select_related("user").first()
    actor = operator.user if operator else None
    now = timezone.now()
    market = Market.objects.filter(community=community).first()
    if market is not None:
        n = services.agents_run_due(market=market, now=now, horizon_periods=4)
        say(f"lem: market exists; agents placed {n} order(s) for the next periods")
        _value_reports(market, actor, say)
        return market

    minutes = community.settlement_period_minutes
    step = timedelta(minutes=minutes)
    with transaction.atomic():
        market = services.market_create(
            community=community,
            actor=actor,
            name="Local energy market",
            gate_closure_minutes=15,
            rules=DEMO_RULES,
            now=now - timedelta(days=60),
        )
        operators = set(
            Membership.objects.filter(community=community, role=Role.MARKET_OPERATOR).values_list("user_id", flat=True)
        )
        homes: dict[int, Home] = {}
        meters = {}
        for i, site in enumerate(Site.objects.filter(community=community).order_by("pk").prefetch_related("occupants")):
            occupant = next((u for u in site.occupants.all() if u.pk not in operators), None)
            if occupant is None:
                continue
            p = services.participant_enrol(
                market=market, site=site, user=occupant, actor=occupant, fuel_poor=(i % 9 == 4)
            )
            p.min_sell_price, p.max_buy_price = Decimal("16"), Decimal("26")
            p.save(update_fields=["min_sell_price", "max_buy_price"])
            homes[site.pk] = Home(
                key=site.pk, annual_kwh=site.annual_consumption_kwh or 3100, pv_kwp=(3.6 if i % 5 in (0, 2) else 0.0)
            )
            meters[site.pk] = _ensure_meter(site)
    say(f"lem: market with {len(homes)} participants")

    # history: readings a week back (the agents' forecasts), then trading period by period
    first = services.floor_period(market, now - timedelta(hours=HISTORY_HOURS))
    last_delivered = services.floor_period(market, now) - step
    _write_readings(meters, homes, first - timedelta(days=3), last_delivered + step, minutes)
    t = first
    while t <= last_delivered:
        services.agent_place_orders(
            market=market, period_start=t, now=t - timedelta(minutes=market.gate_closure_minutes + 5)
        )
        services.market_clear(market=market, period_start=t, now=t - timedelta(minutes=market.gate_closure_minutes))
        t += step
    settled = services.settlement_settle_due(market=market, now=now, lookback=timedelta(hours=HISTORY_HOURS + 1))
    services.membership_fees_post(market=market, month=timezone.localtime(now).date(), actor=actor)
    n = services.agents_run_due(market=market, now=now, horizon_periods=4)
    say(f"lem: {HISTORY_HOURS} h of trading cleared, {settled} periods settled, {n} orders open for the next periods")
    _propose_cheaper_membership(market, community, now, say)
    _value_reports(market, actor, say)
    return market


# issue 17: members propose dropping the per-trade fee and cutting the membership
# fee; the value report models the change on every household before the vote
PROPOSAL = {**DEMO_RULES, "fee_per_trade_pence": "0", "membership_fee": "1.00"}


def _propose_cheaper_membership(market, community, now, say) -> None:
    member = Membership.objects.filter(community=community, role=Role.MEMBER).select_related("user").first()
    if member is None or market.rule_versions.filter(status="proposed").exists():
        return
    services.rule_propose(
        market=market,
        actor=member.user,
        values=PROPOSAL,
        effective_from=now + timedelta(days=14),
        reason="No fee per trade and a £1.00 membership fee: the value report says most homes gain",
    )
    say("lem: a rules change (no fee per trade, membership £1.50 -> £1.00) is open for the members' vote")


def _value_reports(market, actor, say) -> None:
    """Queue the year's value report and the modelled effect of any open rules
    vote (the worker replays the year once `make run` starts; idempotent)."""
    from community.errors import DomainError
    from lem.services.value import value_report_request

    try:
        r = value_report_request(market=market, actor=actor)
        for rule in market.rule_versions.filter(status="proposed"):
            value_report_request(market=market, actor=actor, rule=rule)
    except DomainError as exc:
        say(f"lem: no value report ({exc.message})")
        return
    say(f"lem: value report {r.get_status_display().lower()} (the worker replays the last year)")
