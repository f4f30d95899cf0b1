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
from lem.models import Market, Participant

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
# issue 17: the members voted out the fee per trade, cut the membership fee and
# capped it at half of what trading saved each household in the month (shared
# savings: the value report showed most homes losing under v1, and the homes
# whose batteries leave little to trade still losing to the fee alone); v2 has
# been in force since, and is what the demo's statements and value report use
RULES_VOTED = {**DEMO_RULES, "fee_per_trade_pence": "0", "membership_fee": "1.00", "membership_fee_cap_pct": "50"}
RULES_IN_FORCE = RULES_VOTED
HISTORY_HOURS = 36


def _ensure_meter(site: Site):
    from assets.models import Meter

    meter = Meter.objects.filter(site=site, kind=Meter.Kind.SITE).first()
    if meter is None:
        meter = Meter.objects.create(site=site, kind=Meter.Kind.SITE, serial=f"LEM-{site.community_id}-{site.pk}")
    return meter


def _write_readings(meters: dict[int, object], homes: dict[int, Home], start, end, minutes: int) -> None:
    from assets.demo import insert_readings
    from assets.models import IntervalReading

    rows = []
    t = start
    while t < end:
        for site_id, meter in meters.items():
            imp, exp = period_energy(homes[site_id], t, minutes)
            rows.append((meter.pk, t, minutes, imp, exp, IntervalReading.Source.ESTIMATE))
        t += timedelta(minutes=minutes)
    insert_readings(rows, batch_size=2000)


def _community_generation(community: Community) -> dict[int, Home]:
    """The community's own generation sites (the school's and the centre's PV
    the co-op owns, the farm's wind turbine) and what they generate."""
    from assets.models import Device

    out: dict[int, Home] = {}
    gens = Device.objects.filter(
        community=community,
        # the co-op's PV, and the farm's turbine (a corporate anchor asset whose
        # owner sells its output locally under its benefit-fund agreement)
        ownership__in=(Device.Ownership.COMMUNITY, Device.Ownership.CORPORATE),
        kind__in=(Device.Kind.PV, Device.Kind.WIND),
        site__kind__in=[k for k in Site.Kind.values if k != Site.Kind.HOME],
    ).select_related("site")
    for d in gens.order_by("site_id", "pk"):
        h = out.get(d.site_id) or Home(key=d.site_id, annual_kwh=d.site.annual_consumption_kwh or 0)
        if d.kind == Device.Kind.PV:
            kwp = (d.specs or {}).get("dc_w", d.rated_power_w) / 1000
            h = Home(key=h.key, annual_kwh=h.annual_kwh, pv_kwp=h.pv_kwp + kwp, wind_kw=h.wind_kw)
        else:
            h = Home(key=h.key, annual_kwh=h.annual_kwh, pv_kwp=h.pv_kwp, wind_kw=h.wind_kw + d.rated_power_w / 1000)
        out[d.site_id] = h
    return out


def _enrol_community_generation(market: Market, community: Community, say) -> dict[int, Home]:
    """Issue 17: the community's own generation offers into the local market
    before it is exported. Each generation site trades through an agent run for
    the co-op by its treasurer (its steward on the site); idempotent."""
    gens = _community_generation(community)
    steward = (
        Membership.objects.filter(community=community, role=Role.TREASURER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if steward is None or not gens:
        return {}
    operators = set(
        Membership.objects.filter(community=community, role=Role.MARKET_OPERATOR).values_list("user_id", flat=True)
    )
    new: dict[int, Home] = {}
    known = set(market.participants.values_list("site_id", flat=True))
    for site in Site.objects.filter(pk__in=gens).order_by("pk").prefetch_related("occupants"):
        if site.pk in known:
            continue
        user = next((u for u in site.occupants.all() if u.pk not in operators), None)
        if user is None:
            site.occupants.add(steward.user)
            user = steward.user
        p = services.participant_enrol(market=market, site=site, user=user, actor=user)
        p.min_sell_price, p.max_buy_price = Decimal("16"), Decimal("26")
        p.save(update_fields=["min_sell_price", "max_buy_price"])
        new[site.pk] = gens[site.pk]
    if new:
        say(f"lem: {len(new)} community generation site(s) offer into the market before exporting")
    return new


def seed(*, community: Community, stdout=None) -> Market:
    say = (lambda m: stdout.write(m)) if stdout is not None else (lambda m: None)
    operator = Membership.objects.filter(community=community, role=Role.MARKET_OPERATOR).select_related("user").first()
    actor = operator.user if operator else None
    now = timezone.now()
    market = Market.objects.filter(community=community).first()
    if market is not None:
        new = _enrol_community_generation(market, community, say)
        if new:  # a week of readings, so their agents have a history to forecast from
            minutes = community.settlement_period_minutes
            last = services.floor_period(market, now)
            meters = {sid: _ensure_meter(Site.objects.get(pk=sid)) for sid in new}
            _write_readings(meters, new, last - timedelta(days=8), last, minutes)
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
        gens = _community_generation(community)
        _enrol_community_generation(market, community, say)
        homes: dict[int, Home] = {}
        meters = {}
        for i, site in enumerate(Site.objects.filter(community=community).order_by("pk").prefetch_related("occupants")):
            occupant = next((u for u in site.occupants.all() if u.pk not in operators), None)
            if occupant is None:
                continue
            if site.pk in gens:
                homes[site.pk] = gens[site.pk]
                meters[site.pk] = _ensure_meter(site)
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
        # the households joined with the market (its history is older than this seed run)
        Participant.objects.filter(market=market).update(created_at=now - timedelta(days=60))
    say(f"lem: market with {len(homes)} participants")
    _voted_cheaper_fees(market, community, now, say)

    # history: readings a week back (the agents' forecasts), then trading period by period
    first = services.floor_period(market, now - timedelta(hours=HISTORY_HOURS))
    last_delivered = services.floor_period(market, now) - step
    # eight days of readings before trading starts: the agents order only with a week of history
    _write_readings(meters, homes, first - timedelta(days=8), last_delivered + step, minutes)
    t = first
    while t <= last_delivered:
        at = t - timedelta(minutes=market.gate_closure_minutes + 5)
        # what was delivered and metered by then is settled, so each agent's risk budget grows with what
        # its household has won this month (as settlement runs as readings arrive in a live market)
        services.settlement_settle_due(market=market, now=at, lookback=timedelta(hours=3))
        services.agent_place_orders(market=market, period_start=t, now=at)
        services.market_clear(market=market, period_start=t, now=t - timedelta(minutes=market.gate_closure_minutes))
        t += step
    settled = services.settlement_settle_due(market=market, now=now, lookback=timedelta(hours=HISTORY_HOURS + 1))
    services.membership_fees_post(market=market, month=timezone.localtime(now).date(), actor=actor)
    n = services.agents_run_due(market=market, now=now, horizon_periods=4)
    say(f"lem: {HISTORY_HOURS} h of trading cleared, {settled} periods settled, {n} orders open for the next periods")
    _propose_bigger_social_discount(market, community, now, say)
    _value_reports(market, actor, say)
    return market


def _voted_cheaper_fees(market, community, now, say) -> None:
    """v2: a member proposed no fee per trade and a £1.00 membership fee; the
    members approved it and it has been in force for the last 40 days."""
    from lem.models import RuleVote

    voters = list(
        Membership.objects.filter(community=community, role=Role.MEMBER)
        .order_by("user_id")
        .values_list("user", flat=True)
    )
    if not voters or market.rule_versions.count() > 1:
        return
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(voters)
    with transaction.atomic():
        rule = _propose_voted(market, users[voters[0]], now)
        # two in three members voted, nine in ten of them yes
        RuleVote.objects.bulk_create(
            [
                RuleVote(rule=rule, voter=users[u], choice="no" if i % 10 == 9 else "yes")
                for i, u in enumerate(voters[: max(1, len(voters) * 2 // 3)])
            ]
        )
        services.rule_decide(rule=rule, actor=None, now=now - timedelta(days=41))
    say("lem: the members voted v2 (no fee per trade, membership £1.50 -> £1.00), in force for 40 days")


def _propose_voted(market, actor, now):
    return services.rule_propose(
        market=market,
        actor=actor,
        values=RULES_VOTED,
        effective_from=now - timedelta(days=40),
        reason="No fee per trade and a £1.00 membership fee: under v1 most homes paid more than the supplier alone",
        now=now - timedelta(days=55),
    )


# issue 17: an open vote, with its modelled effect on every household before members vote
PROPOSAL = {**RULES_VOTED, "social_discount_pct": "30"}


def _propose_bigger_social_discount(market, community, now, say) -> None:
    member = Membership.objects.filter(community=community, role=Role.MEMBER).select_related("user").first()
    if member is None or market.rule_versions.filter(status="proposed").exists():
        return
    services.rule_propose(
        market=market,
        actor=member.user,
        values=PROPOSAL,
        effective_from=now + timedelta(days=14),
        reason="A bigger social tariff discount for fuel-poor homes, paid from the community fund",
    )
    say("lem: a rules change (social tariff discount 20% -> 30%) is open for the members' vote")


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
