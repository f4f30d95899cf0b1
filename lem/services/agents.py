"""The trading agents: placing orders on members' behalf.

Risk (issue 17): the live agent keeps the value replay's guarantee
(`lem.domain.value`): every Wh it orders, floors first, is within
`risk_budget` of what the household's trading has won this calendar month
(local time) by its settled lines, less the worst case of what is not yet
metered (its cleared trades in periods not settled, its orders not yet
cleared), so a month ends at worst the stake (`STAKE_MICRO`, 1p) below the
supplier alone, fees aside. No orders until a week of readings at the
period's time of day, as in the replay.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from community.locks import advisory_lock
from community.models import Membership, Role
from lem.domain.agent import (
    AgentLimits,
    _battery_spare,
    agent_orders,
    agent_prices,
    expected_gain_micro,
    expected_local_prices,
    floor_quantities,
    forecast_net_wh,
    newsvendor_ratios,
    quantile_quantities,
    unit_risk,
    within_budget,
    worth_trading_today,
)
from lem.domain.settlement import BP, MICRO
from lem.domain.value import risk_budget
from lem.models import (
    Market,
    Order,
    RuleVersion,
    SettlementLine,
    SettlementRun,
    Trade,
)
from lem.services.base import _ticks, floor_period, gate_closure, import_price_at, period_length, rules_in_force
from lem.services.orders import CO2_BY_SOURCE

log = logging.getLogger(__name__)
MIN_ORDER_WH = 10  # agent_orders' default: smaller orders are not placed


def agent_place_orders(
    *, market: Market, period_start: datetime, now: datetime | None = None, history_days: int = 7
) -> int:
    """Each enabled agent forecasts its site's next period and bids/offers
    within the household's limits and its month's risk budget (module
    docstring). Idempotent: an agent that already has an order for the period
    places nothing. Returns the orders placed."""
    now = now or timezone.now()
    with transaction.atomic():
        # one agents' run per market at a time: each reads what is already ordered
        # (for idempotency and the month's risk budget), so two at once could both
        # order for a period, or both spend the same stake
        advisory_lock(f"lem:agents:{market.pk}")
        return _place_orders(market=market, period_start=period_start, now=now, history_days=history_days)


def _place_orders(*, market: Market, period_start: datetime, now: datetime, history_days: int) -> int:
    from assets.models import Device, IntervalReading, Meter, Telemetry

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
    candidates: list[tuple] = []  # (participant, order, floor Wh)
    short: list[int] = []
    for p in participants:
        if p.user_id in operators:
            continue
        h = hist.get(p.site_id, [])
        if len(h) < history_days:  # a few days say little: no order until a week is metered
            short.append(p.pk)
            continue
        net = forecast_net_wh(
            hist.get(p.site_id, []), annual_kwh=p.site.annual_consumption_kwh, periods_per_day=per_day
        )
        soc, cap, power = batteries.get(p.site_id, (0, 0, 0))
        limits = AgentLimits(p.min_sell_price, p.max_buy_price, p.battery_reserve_pct)
        for o in agent_orders(
            net_wh=net,
            import_price=imp,
            export_price=exp,
            limits=limits,
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
            # the part every day of the history imported (exported) at this time, less
            # what the battery covers first: the most likely used, so first in the budget
            # (a bid is the need left after the battery's spare: agent_orders)
            spare = _battery_spare(soc, cap, power, limits, minutes) if o.side == "bid" else 0
            fb, fo = floor_quantities(
                np.asarray(h, dtype=np.int64),
                [o.quantity_wh + spare if o.side == "bid" else 0],
                [o.quantity_wh if o.side == "offer" else 0],
                min_days=history_days,
            )
            floor_wh = min(max(int(fb[0]) - spare, 0), o.quantity_wh) if o.side == "bid" else int(fo[0])
            candidates.append((p, o, floor_wh))
    if short:
        log.info(
            "agents: market %s, period %s: no orders for %d participant(s) with fewer than %d days of "
            "readings at this time of day (ids %s)",
            market.pk,
            period_start.isoformat(),
            len(short),
            history_days,
            short[:20],
        )
    budgets = agent_risk_budgets(
        market=market, participant_ids=[p.pk for p, _, _ in candidates], period_start=period_start
    )
    candidates = _worth_trading_today(
        market=market,
        rule=rule,
        period_start=period_start,
        candidates=candidates,
        budgets=budgets,
        history_days=history_days,
    )
    new: list[Order] = []
    for p, o, qty in _within_budgets(
        market=market, period_start=period_start, rule=rule, candidates=candidates, budgets=budgets
    ):
        new.append(
            Order(
                market=market,
                participant=p,
                period_start=period_start,
                side=o.side,
                quantity_wh=qty,
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


@dataclass(frozen=True)
class AgentBudget:
    """A household's risk budget for its agent's next orders, micro-pence."""

    won_micro: int  # its trading this month against the supplier alone, by its settled lines (trade fees paid)
    at_risk_micro: int  # worst case of its trades not yet settled and its orders not yet cleared
    budget_micro: int  # what its next orders may lose at worst: risk_budget(won) - at_risk, >= 0


def agent_risk_budgets(
    *, market: Market, participant_ids: Iterable[int], period_start: datetime
) -> dict[int, AgentBudget]:
    """Each household's risk budget for orders for ``period_start``, from the
    database, as the value replay keeps it (`lem.domain.value.risk_budget`).

    Won: this calendar month (the market's local time), the sum over its day
    lines (`SettlementLine`, money signed from the member's side, + = pays) of
    ``supplier_only`` less what trading made it pay: local cost - local income
    + supplier cost - supplier income + trade fees (the social tariff discount
    is not trading's and is left out). At risk: its trades this month in periods
    not yet settled (a bought Wh at the buyer's price, fee added, less the
    export price; a sold Wh at the import price less the seller's price, fee
    taken; each trade's fixed fee) and its open orders this month at their
    limit prices, each in the rules in force for its period."""
    ids = list(participant_ids)
    month_start, month_end = _month_bounds(market, period_start)
    saving = (
        F("supplier_only") - F("local_cost") + F("local_income") - F("supplier_cost") + F("supplier_income") - F("fees")
    )
    won_gbp = dict(
        SettlementLine.objects.filter(participant_id__in=ids, period_start__gte=month_start, period_start__lt=month_end)
        .values("participant_id")
        .annotate(s=Sum(saving))
        .values_list("participant_id", "s")
    )
    rule_at = _rules_at(market)
    at_risk: dict[int, float] = defaultdict(float)
    settled = SettlementRun.objects.filter(
        market=market, period_start=OuterRef("period_start"), status=SettlementRun.Status.SETTLED
    )
    trades = (
        Trade.objects.filter(market=market, period_start__gte=month_start, period_start__lt=month_end)
        .filter(Q(buyer_id__in=ids) | Q(seller_id__in=ids))
        .filter(~Exists(settled))
        .values_list("period_start", "buyer_id", "seller_id", "quantity_wh", "buyer_price", "seller_price")
    )
    for ps, buyer, seller, q, bp, sp in trades:
        rb, ro, fixed = _unit_risks(market, rule_at(ps), ps, bp, sp)
        at_risk[buyer] += q * rb + fixed
        at_risk[seller] += q * ro + fixed
    orders = Order.objects.filter(
        market=market,
        participant_id__in=ids,
        status=Order.Status.OPEN,
        period_start__gte=month_start,
        period_start__lt=month_end,
    ).values_list("period_start", "participant_id", "side", "quantity_wh", "filled_wh", "price")
    for ps, pid, side, q, filled, price in orders:
        rb, ro, fixed = _unit_risks(market, rule_at(ps), ps, price, price)
        at_risk[pid] += (q - filled) * (rb if side == Order.Side.BID else ro) + fixed
    out = {}
    for pid in ids:
        won = int(Decimal(won_gbp.get(pid) or 0) * 100 * MICRO)
        risk = int(np.ceil(at_risk.get(pid, 0.0)))
        out[pid] = AgentBudget(won, risk, max(int(risk_budget(won)) - risk, 0))
    return out


def _within_budgets(
    *,
    market: Market,
    period_start: datetime,
    rule: RuleVersion,
    candidates: list[tuple],
    budgets: dict[int, AgentBudget],
) -> list:
    """The candidates' quantities cut with `within_budget`, floors first, to
    each household's `agent_risk_budgets` less the new order's fixed fee:
    (participant, order, Wh) for those still worth an order."""
    if not candidates:
        return []
    bid = np.array([o.side == Order.Side.BID for _, o, _ in candidates])
    qty = np.array([o.quantity_wh for _, o, _ in candidates], dtype=np.int64)
    floor = np.array([f for _, _, f in candidates], dtype=np.int64)
    price = np.array([_ticks(o.price) for _, o, _ in candidates], dtype=np.float64)
    rb, ro = unit_risk(
        bid_price=price,
        offer_price=price,
        import_price=_ticks(import_price_at(rule, market, period_start)),
        export_price=_ticks(rule.export_price),
        fee_fraction=int(rule.fee_pct * 100) / BP,
    )
    fixed = int(rule.fee_per_trade_pence * MICRO)
    budget = np.array([budgets[p.pk].budget_micro - fixed for p, _, _ in candidates], dtype=np.float64)
    qb, qo = within_budget(
        np.where(bid, qty, 0)[None],
        np.where(bid, 0, qty)[None],
        np.where(bid, floor, 0)[None],
        np.where(bid, 0, floor)[None],
        bid_risk=rb[None],
        offer_risk=ro[None],
        budget=budget,
    )
    kept, cut = [], []
    for i, (p, o, _) in enumerate(candidates):
        q = int(qb[0, i] if bid[i] else qo[0, i])
        if q >= MIN_ORDER_WH:
            kept.append((p, o, q))
        else:
            cut.append(p.pk)
    if cut:
        log.info(
            "agents: market %s, period %s: no orders for %d participant(s) whose month's risk budget "
            "(what their trading has won this month, plus the stake, less what is not yet metered) "
            "does not cover %d Wh (ids %s)",
            market.pk,
            period_start.isoformat(),
            len(cut),
            MIN_ORDER_WH,
            cut[:20],
        )
    return kept


def _worth_trading_today(
    *,
    market: Market,
    rule: RuleVersion,
    period_start: datetime,
    candidates: list[tuple],
    budgets: dict[int, AgentBudget],
    history_days: int,
) -> list[tuple]:
    """The candidates that may trade today, as the value replay decides: a
    household pays the membership fee for each local day it trades
    (`lem.domain.fees`), so an agent that has not traded (nor ordered) yet
    today starts only if the expected gain of its orders for the rest of the
    day covers the day's share of the fee (`worth_trading_today`), and, once
    it has traded on an earlier day of the month, only while what the month
    has won after those days' fees still pays for today's. Those already
    trading today pay the day's fee anyway and go on. Where the rules cap
    the fee at a share of the month's trading saving, a day's fee can never
    cost more than the day gains: an agent trades when it expects a gain."""
    from assets.models import IntervalReading, Meter
    from lem.domain.fees import days_in_month

    monthly_micro = int(rule.membership_fee * 100) * MICRO
    if not candidates or monthly_micro <= 0:
        return candidates
    tz = ZoneInfo(market.community.timezone)
    local = period_start.astimezone(tz)
    today, month = local.date(), local.date().replace(day=1)
    capped = rule.membership_fee_cap_pct is not None
    day_fee = 0 if capped else monthly_micro // days_in_month(month)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    day_end = (local.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).replace(
        tzinfo=tz
    )
    day_end = day_end.astimezone(UTC)
    traded = _traded_days(market, [p.pk for p, _, _ in candidates], month=_month_bounds(market, period_start))
    ordered_today = set(
        Order.objects.filter(
            market=market,
            participant_id__in=[p.pk for p, _, _ in candidates],
            source=Order.Source.AGENT,
            period_start__gte=day_start,
            period_start__lt=day_end,
        )
        .exclude(status=Order.Status.CANCELLED)
        .values_list("participant_id", flat=True)
    )
    undecided = [c for c in candidates if today not in traded.get(c[0].pk, ()) and c[0].pk not in ordered_today]
    if not undecided:
        return candidates
    # the rest of the day's periods and, for each, the same time on the last days
    step = period_length(market)
    slots = []
    t = period_start
    while t < day_end:
        slots.append(t)
        t += step
    sites = sorted({p.site_id for p, _, _ in undecided})
    col = {s: j for j, s in enumerate(sites)}
    at = {t: i for i, t in enumerate(slots)}
    hist = np.zeros((history_days, len(slots), len(sites)))
    for site_id, ps, imp_wh, exp_wh in IntervalReading.objects.filter(
        meter__site_id__in=sites,
        meter__kind=Meter.Kind.SITE,
        period_start__gte=slots[0] - timedelta(days=history_days),
        period_start__lt=slots[-1],
    ).values_list("meter__site_id", "period_start", "import_wh", "export_wh"):
        # the remaining slots span less than a day: a reading serves at most one of
        # them, the first d days later that is not before the period
        d = -((ps - slots[0]) // timedelta(days=1))
        i = at.get(ps + timedelta(days=d))
        if 1 <= d <= history_days and i is not None:
            hist[d - 1, i, col[site_id]] = imp_wh - exp_wh
    ep = _ticks(rule.export_price)
    fee_fraction = float(rule.fee_pct) / 100
    fixed = int(rule.fee_per_trade_pence * MICRO)
    gain = np.zeros(len(undecided))
    for ip_dec in sorted({import_price_at(rule, market, t) for t in slots}):
        rows = [i for i, t in enumerate(slots) if import_price_at(rule, market, t) == ip_dec]
        ip = _ticks(ip_dec)
        prices = [
            agent_prices(
                import_price=ip_dec,
                export_price=rule.export_price,
                limits=AgentLimits(p.min_sell_price, p.max_buy_price, p.battery_reserve_pct),
                floor=market.price_floor,
                cap=market.price_cap,
            )
            for p, _, _ in undecided
        ]
        bp = np.array([_ticks(b) for b, _ in prices], dtype=np.float64)
        op = np.array([_ticks(o) for _, o in prices], dtype=np.float64)
        bl, ol = expected_local_prices(
            mechanism=rule.mechanism,
            bid_price=bp,
            offer_price=op,
            match_tariff=_ticks(rule.match_tariff),
            fee_fraction=fee_fraction,
        )
        qb, qo = newsvendor_ratios(import_price=ip, export_price=ep, bid_local=bl, offer_local=ol)
        h = hist[:, rows][:, :, [col[p.site_id] for p, _, _ in undecided]]
        bq, oq = quantile_quantities(h, qb, qo)
        g = expected_gain_micro(
            h, bid_wh=bq, offer_wh=oq, import_price=ip, export_price=ep, bid_local=bl, offer_local=ol
        )
        g = np.where((bq > 0) | (oq > 0), g - fixed, 0.0)
        gain += np.maximum(g, 0.0).sum(axis=0)
    keep = worth_trading_today(gain, day_fee)
    month_traded = np.array([len(traded.get(p.pk, ())) for p, _, _ in undecided])
    won = np.array([budgets[p.pk].won_micro for p, _, _ in undecided])
    if not capped:
        keep &= (month_traded == 0) | (won - month_traded * day_fee >= day_fee)
    out = {c[0].pk for c, k in zip(undecided, keep.tolist(), strict=True) if not k}
    if out:
        log.info(
            "agents: market %s, period %s: no orders for %d participant(s) whose expected gain today does not "
            "cover the day's share of the membership fee (%s p) (ids %s)",
            market.pk,
            period_start.isoformat(),
            len(out),
            f"{day_fee / MICRO:.2f}",
            sorted(out)[:20],
        )
    return [c for c in candidates if c[0].pk not in out]


def _traded_days(market: Market, ids: list[int], *, month: tuple[datetime, datetime]) -> dict[int, set]:
    """Per participant id in ``ids``, the local days of the month on which it
    bought or sold locally (`lem.services.fees.traded_days`, for a few
    participants: at most a row per participant and day)."""
    tz = ZoneInfo(market.community.timezone)
    start, end = month
    month = Trade.objects.filter(market=market, period_start__gte=start, period_start__lt=end)
    days: dict[int, set] = defaultdict(set)
    for who in ("buyer_id", "seller_id"):
        rows = (
            month.filter(**{f"{who}__in": ids})
            .annotate(day=TruncDate("period_start", tzinfo=tz))
            .values_list(who, "day")
            .distinct()
        )
        for pid, day in rows:
            days[pid].add(day)
    return days


def _month_bounds(market: Market, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the market's local calendar month holding ``at``, UTC."""
    tz = ZoneInfo(market.community.timezone)
    start = at.astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start.replace(tzinfo=None) + timedelta(days=32)).replace(day=1).replace(tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _rules_at(market: Market):
    """``at -> RuleVersion`` in force then (`rules_in_force`, one query for many periods)."""
    rules = list(market.rule_versions.filter(status=RuleVersion.Status.APPROVED).order_by("effective_from", "number"))

    def at(t: datetime) -> RuleVersion:
        chosen = None
        for r in rules:
            if r.effective_from > t:
                break
            chosen = r
        if chosen is None:
            return rules_in_force(market, t)  # raises the usual error
        return chosen

    return at


def _unit_risks(market: Market, rule: RuleVersion, ps: datetime, bid_price, offer_price) -> tuple[float, float, int]:
    """(a bought Wh's, a sold Wh's worst loss, micro-pence; the fixed fee, micro-pence)."""
    rb, ro = unit_risk(
        bid_price=_ticks(bid_price),
        offer_price=_ticks(offer_price),
        import_price=_ticks(import_price_at(rule, market, ps)),
        export_price=_ticks(rule.export_price),
        fee_fraction=int(rule.fee_pct * 100) / BP,
    )
    return float(rb), float(ro), int(rule.fee_per_trade_pence * MICRO)


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
