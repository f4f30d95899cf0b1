"""Write paths of the local energy market.

Every function is keyword-only, runs in one transaction, validates first and
raises ``DomainError`` with a message a person understands (views turn it
into an inline error, the API into a 400) and writes nothing on bad input.
Periodic work (clearing, settlement, fees) is idempotent: a second call for
the same period returns the stored result and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import IntegrityError, models, transaction
from django.db.models import Sum
from django.utils import timezone

from community.errors import DomainError
from community.models import Community, LedgerAccount, Membership, NetworkNode, Role, Site
from community.services import EntrySpec, audit_record, ledger_account, ledger_post_many, ledger_reverse
from lem.domain import clearing as engine
from lem.domain import settlement as sm
from lem.domain.agent import AgentLimits, agent_orders, forecast_net_wh
from lem.models import (
    ClearingRun,
    Market,
    Mechanism,
    MonthlyCharge,
    Order,
    Participant,
    Payment,
    RuleVersion,
    RuleVote,
    SettlementLine,
    SettlementRun,
    Trade,
)

TICK = Decimal("0.001")
SOURCE = "lem"
PEAK_HOURS = range(16, 19)  # local time, when a supplier has a peak import rate

# --------------------------------------------------------------------------
# helpers


def period_length(market: Market) -> timedelta:
    return timedelta(minutes=market.community.settlement_period_minutes)


def floor_period(market: Market, at: datetime) -> datetime:
    minutes = market.community.settlement_period_minutes
    at = at.astimezone(ZoneInfo("UTC"))
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def gate_closure(market: Market, period_start: datetime) -> datetime:
    return period_start - timedelta(minutes=market.gate_closure_minutes)


def _decimal(value: Any, what: str, field: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(f"{what} must be a number.", field=field) from None
    if not d.is_finite():
        raise DomainError(f"{what} must be a number.", field=field)
    return d


def _price(market: Market, value: Any, field: str = "price") -> Decimal:
    d = _decimal(value, "The price", field)
    if d != d.quantize(TICK):
        raise DomainError("Prices have at most 3 decimal places (p/kWh).", field=field)
    if d < market.price_floor or d > market.price_cap:
        raise DomainError(
            f"The price must be between {fmt_price(market.price_floor)} and {fmt_price(market.price_cap)} p/kWh.",
            field=field,
        )
    return d


def fmt_price(d: Decimal) -> str:
    """12.500 -> '12.5', 100.000 -> '100' (p/kWh in messages)."""
    return f"{Decimal(d).quantize(TICK).normalize():f}"


def _ticks(price: Decimal) -> int:
    return int(price * engine.PRICE_SCALE)


def is_household(user: Any, participant: Participant) -> bool:
    """Anyone living at the participant's site trades for it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.pk == participant.user_id or participant.site.occupants.filter(pk=user.pk).exists()


def _is_operator(user: Any, community: Community) -> bool:
    return Membership.objects.filter(community=community, user=user, role=Role.MARKET_OPERATOR).exists()


def rules_in_force(market: Market, at: datetime) -> RuleVersion:
    rule = (
        market.rule_versions.filter(status=RuleVersion.Status.APPROVED, effective_from__lte=at)
        .order_by("-effective_from", "-number")
        .first()
    )
    if rule is None:
        raise DomainError("The market has no rules in force for that time.")
    return rule


def import_price_at(rule: RuleVersion, market: Market, period_start: datetime) -> Decimal:
    if rule.peak_import_price is not None:
        local = period_start.astimezone(ZoneInfo(market.community.timezone))
        if local.hour in PEAK_HOURS:
            return rule.peak_import_price
    return rule.import_price


# --------------------------------------------------------------------------
# market and rules


RULE_FIELDS = (
    "mechanism",
    "match_tariff",
    "import_price",
    "peak_import_price",
    "export_price",
    "fee_per_trade_pence",
    "fee_pct",
    "membership_fee",
    "social_discount_pct",
    "fund_share_pct",
)


def _clean_rules(values: dict) -> dict:
    out: dict[str, Any] = {}
    mech = values.get("mechanism", Mechanism.UNIFORM)
    if mech not in Mechanism.values:
        raise DomainError(f"'{mech}' is not a clearing mechanism ({', '.join(Mechanism.values)}).", field="mechanism")
    out["mechanism"] = mech
    for name, what in (
        ("match_tariff", "The match tariff"),
        ("import_price", "The import price"),
        ("export_price", "The export price"),
        ("fee_per_trade_pence", "The fee per trade"),
        ("fee_pct", "The fee percentage"),
        ("membership_fee", "The membership fee"),
        ("social_discount_pct", "The social tariff discount"),
        ("fund_share_pct", "The fund's share of fees"),
    ):
        if name in values and values[name] not in (None, ""):
            d = _decimal(values[name], what, name)
            if d < 0:
                raise DomainError(f"{what} cannot be negative.", field=name)
            if name.endswith("_pct") and d > 100:
                raise DomainError(f"{what} cannot be above 100%.", field=name)
            out[name] = d
    if values.get("peak_import_price") not in (None, ""):
        out["peak_import_price"] = _decimal(values["peak_import_price"], "The peak import price", "peak_import_price")
    if "import_price" not in out or "export_price" not in out:
        raise DomainError("The rules need the supplier's import and export prices.", field="import_price")
    if out["export_price"] > out["import_price"]:
        raise DomainError("The export price cannot be above the import price.", field="export_price")
    return out


@transaction.atomic
def market_create(
    *,
    community: Community,
    actor: Any,
    name: str = "",
    gate_closure_minutes: int = 15,
    price_floor: Decimal = Decimal("0"),
    price_cap: Decimal = Decimal("100"),
    rules_need_vote: bool = True,
    rules: dict,
    now: datetime | None = None,
) -> Market:
    if Market.objects.filter(community=community).exists():
        raise DomainError("This community already has a market.")
    if not 0 <= int(gate_closure_minutes) <= 1440:
        raise DomainError(
            "Gate closure must be between 0 and 1,440 minutes before delivery.", field="gate_closure_minutes"
        )
    if Decimal(price_floor) > Decimal(price_cap):
        raise DomainError("The price floor must be below the cap.", field="price_floor")
    cleaned = _clean_rules(rules)
    now = now or timezone.now()
    market = Market.objects.create(
        community=community,
        name=name or f"{community.name} energy market",
        gate_closure_minutes=gate_closure_minutes,
        price_floor=price_floor,
        price_cap=price_cap,
        rules_need_vote=rules_need_vote,
    )
    RuleVersion.objects.create(
        market=market,
        number=1,
        effective_from=now - timedelta(days=3650),
        status=RuleVersion.Status.APPROVED,
        proposed_by=actor if getattr(actor, "is_authenticated", False) else None,
        decided_at=now,
        reason="Initial rules",
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="lem.market_create",
        summary=f"Opened the market {market.name}",
        community=community,
        obj=market,
    )
    return market


@transaction.atomic
def market_update(
    *, market: Market, actor: Any, gate_closure_minutes: int, price_floor: Any, price_cap: Any, rules_need_vote: bool
) -> Market:
    floor = _decimal(price_floor, "The price floor", "price_floor")
    cap = _decimal(price_cap, "The price cap", "price_cap")
    if floor > cap:
        raise DomainError("The price floor must be below the cap.", field="price_floor")
    try:
        gc = int(gate_closure_minutes)
    except (TypeError, ValueError):
        raise DomainError("Gate closure must be a whole number of minutes.", field="gate_closure_minutes") from None
    if not 0 <= gc <= 1440:
        raise DomainError(
            "Gate closure must be between 0 and 1,440 minutes before delivery.", field="gate_closure_minutes"
        )
    before = {
        "gate_closure_minutes": market.gate_closure_minutes,
        "price_floor": str(market.price_floor),
        "price_cap": str(market.price_cap),
    }
    market.gate_closure_minutes, market.price_floor, market.price_cap = gc, floor, cap
    market.rules_need_vote = bool(rules_need_vote)
    market.save(update_fields=["gate_closure_minutes", "price_floor", "price_cap", "rules_need_vote"])
    audit_record(
        actor=actor,
        action="lem.market_update",
        summary="Changed the market configuration",
        community=market.community,
        obj=market,
        changes={"before": before},
    )
    return market


@transaction.atomic
def rule_propose(
    *, market: Market, actor: Any, values: dict, effective_from: datetime, reason: str = "", now: datetime | None = None
) -> RuleVersion:
    """A new rule version. Applies at ``effective_from`` once approved: at
    once when the market needs no vote and the operator proposes it, else
    after the members' vote (``rule_decide``)."""
    now = now or timezone.now()
    community = market.community
    is_op = _is_operator(actor, community) or getattr(actor, "is_superuser", False)
    is_member = Membership.objects.filter(community=community, user=actor, role=Role.MEMBER).exists()
    if not (is_op or is_member):
        raise DomainError("Only members and the market operator can propose rule changes.", code="forbidden")
    if not market.rules_need_vote and not is_op:
        raise DomainError("In this market only the operator changes the rules.", code="forbidden")
    if effective_from <= now:
        raise DomainError("A rule change must apply from a future time.", field="effective_from")
    cleaned = _clean_rules(values)
    number = (market.rule_versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    approve_now = not market.rules_need_vote
    rule = RuleVersion.objects.create(
        market=market,
        number=number,
        effective_from=effective_from,
        status=RuleVersion.Status.APPROVED if approve_now else RuleVersion.Status.PROPOSED,
        decided_at=now if approve_now else None,
        reason=reason[:300],
        proposed_by=actor if getattr(actor, "is_authenticated", False) else None,
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="lem.rule_propose",
        summary=f"Proposed rules v{number} from {effective_from:%Y-%m-%d %H:%M}",
        community=community,
        obj=rule,
        changes={k: str(v) for k, v in cleaned.items()},
    )
    return rule


@transaction.atomic
def rule_vote(*, rule: RuleVersion, voter: Any, choice: str) -> RuleVote:
    if rule.status != RuleVersion.Status.PROPOSED:
        raise DomainError("Voting on this rule change has closed.")
    if choice not in RuleVote.Choice.values:
        raise DomainError("Vote yes or no.", field="choice")
    if not Membership.objects.filter(community=rule.market.community, user=voter, role=Role.MEMBER).exists():
        raise DomainError("Only members of the community can vote on its market rules.", code="forbidden")
    vote, _ = RuleVote.objects.update_or_create(rule=rule, voter=voter, defaults={"choice": choice})
    return vote


@transaction.atomic
def rule_decide(*, rule: RuleVersion, actor: Any, now: datetime | None = None) -> RuleVersion:
    """Close the vote: approved when yes > no and turnout reaches the quorum."""
    now = now or timezone.now()
    rule = RuleVersion.objects.select_for_update().get(pk=rule.pk)
    if rule.status != RuleVersion.Status.PROPOSED:
        return rule
    market = rule.market
    members = Membership.objects.filter(community=market.community, role=Role.MEMBER).values("user").distinct().count()
    yes = rule.votes.filter(choice=RuleVote.Choice.YES).count()
    no = rule.votes.filter(choice=RuleVote.Choice.NO).count()
    quorum = members * market.vote_quorum_pct / 100
    approved = yes > no and (yes + no) >= quorum
    rule.status = RuleVersion.Status.APPROVED if approved else RuleVersion.Status.REJECTED
    if approved and rule.effective_from < now:
        rule.effective_from = now  # never rewrite the past
    rule.decided_at = now
    rule.save(update_fields=["status", "effective_from", "decided_at"])
    audit_record(
        actor=actor,
        action="lem.rule_decide",
        summary=f"Rules v{rule.number} {rule.status} ({yes} yes, {no} no, {members} members)",
        community=market.community,
        obj=rule,
    )
    return rule


# --------------------------------------------------------------------------
# participants


def _pseudonym(market: Market, site: Site) -> str:
    h = hashlib.sha256(f"{market.pk}:{site.pk}".encode()).hexdigest()[:4].upper()
    return f"Trader {h}-{site.pk}"


@transaction.atomic
def participant_enrol(*, market: Market, site: Site, user: Any, actor: Any, fuel_poor: bool = False) -> Participant:
    community = market.community
    if site.community_id != community.pk:
        raise DomainError("That site is not in this community.", field="site")
    if _is_operator(user, community):
        raise DomainError("The market operator runs the market and may not trade in it.", code="forbidden")
    if not site.occupants.filter(pk=user.pk).exists():
        raise DomainError("Only the site's household can trade for it.", field="site", code="forbidden")
    existing = Participant.objects.filter(market=market, site=site).first()
    if existing:
        return existing
    p = Participant.objects.create(
        market=market, site=site, user=user, pseudonym=_pseudonym(market, site), fuel_poor=fuel_poor
    )
    audit_record(
        actor=actor,
        action="lem.participant_enrol",
        summary=f"{site.name} joined the market as {p.pseudonym}",
        community=community,
        obj=p,
    )
    return p


@transaction.atomic
def participant_update_agent(
    *,
    participant: Participant,
    actor: Any,
    agent_enabled: bool,
    min_sell_price: Any,
    max_buy_price: Any,
    battery_reserve_pct: Any,
) -> Participant:
    if not is_household(actor, participant):
        raise DomainError("Only the household can change its trading agent.", code="forbidden")
    market = participant.market
    ms = _price(market, min_sell_price, "min_sell_price")
    mb = _price(market, max_buy_price, "max_buy_price")
    try:
        reserve = int(battery_reserve_pct)
    except (TypeError, ValueError):
        raise DomainError("The battery reserve must be a whole percentage.", field="battery_reserve_pct") from None
    if not 0 <= reserve <= 100:
        raise DomainError("The battery reserve must be between 0 and 100%.", field="battery_reserve_pct")
    participant.agent_enabled = bool(agent_enabled)
    participant.min_sell_price, participant.max_buy_price, participant.battery_reserve_pct = ms, mb, reserve
    participant.save(update_fields=["agent_enabled", "min_sell_price", "max_buy_price", "battery_reserve_pct"])
    audit_record(
        actor=actor,
        action="lem.agent_update",
        summary=f"{participant.pseudonym} changed their agent's limits",
        community=market.community,
        obj=participant,
    )
    return participant


@transaction.atomic
def participant_set_credit(*, participant: Participant, actor: Any, credit_limit: Any, fuel_poor: bool) -> Participant:
    if not (_is_operator(actor, participant.market.community) or getattr(actor, "is_superuser", False)):
        raise DomainError("Only the market operator sets credit limits.", code="forbidden")
    limit = _decimal(credit_limit, "The credit limit", "credit_limit")
    if limit < 0:
        raise DomainError("The credit limit cannot be negative.", field="credit_limit")
    participant.credit_limit, participant.fuel_poor = limit, bool(fuel_poor)
    participant.save(update_fields=["credit_limit", "fuel_poor"])
    audit_record(
        actor=actor,
        action="lem.participant_credit",
        summary=f"Credit limit of {participant.pseudonym} set to £{limit}",
        community=participant.market.community,
        obj=participant,
    )
    return participant


# --------------------------------------------------------------------------
# orders


def member_account(participant: Participant) -> LedgerAccount:
    return ledger_account(
        community=participant.market.community,
        code=f"lem:member:{participant.pk}",
        name=f"Market member {participant.pseudonym}",
        kind=LedgerAccount.Kind.ASSET,
        user=participant.user,
    )


def participant_owes(participant: Participant) -> Decimal:
    """What the member owes the market (ledger balance of their account)."""
    from community.models import JournalLine

    total = JournalLine.objects.filter(
        account__community=participant.market.community, account__code=f"lem:member:{participant.pk}"
    ).aggregate(s=Sum("amount"))["s"]
    return Decimal(total or 0).quantize(Decimal("0.01"))  # SQLite sums decimals as floats


def _check_period(market: Market, period_start: datetime, now: datetime) -> None:
    if period_start.tzinfo is None:
        raise DomainError("The period start needs a time zone.", field="period_start")
    if floor_period(market, period_start) != period_start:
        raise DomainError(
            f"Periods start on the {market.community.settlement_period_minutes}-minute boundary.", field="period_start"
        )
    if period_start <= now:
        raise DomainError("That period has already started; orders are for future periods.", field="period_start")
    if now >= gate_closure(market, period_start):
        raise DomainError(
            f"Gate closure for that period has passed ({market.gate_closure_minutes} min before delivery); "
            "its orders are frozen.",
            field="period_start",
        )


def _check_nominees(participant: Participant, nominees: Iterable[Any]) -> list[int]:
    ids: list[int] = []
    for x in nominees or []:
        try:
            ids.append(int(x))
        except (TypeError, ValueError):
            raise DomainError("Nominated neighbours must be market participants.", field="nominees") from None
    if len(ids) > 3:
        raise DomainError("You can nominate at most three neighbours.", field="nominees")
    if participant.pk in ids:
        raise DomainError("You cannot nominate yourself.", field="nominees")
    found = set(Participant.objects.filter(market=participant.market, pk__in=ids).values_list("pk", flat=True))
    if set(ids) - found:
        raise DomainError("Nominated neighbours must be market participants.", field="nominees")
    return ids


@transaction.atomic
def order_place(
    *,
    participant: Participant,
    actor: Any,
    side: str,
    quantity_wh: Any,
    price: Any,
    period_start: datetime,
    source: str = Order.Source.BROWSER,
    nominees: Iterable[Any] = (),
    max_co2_g_per_kwh: Any = None,
    renewable_only: bool = False,
    energy_source: str = Order.EnergySource.SOLAR,
    now: datetime | None = None,
) -> Order:
    now = now or timezone.now()
    market = participant.market
    if source != Order.Source.AGENT and not is_household(actor, participant):
        raise DomainError("You can only place orders for your own site.", field="participant", code="forbidden")
    if _is_operator(participant.user, market.community):
        raise DomainError("The market operator runs the market and may not trade in it.", code="forbidden")
    if not participant.active:
        raise DomainError("This participant is suspended from trading.", code="forbidden")
    if side not in Order.Side.values:
        raise DomainError("An order is a bid (buy) or an offer (sell).", field="side")
    try:
        qty = int(str(quantity_wh).strip())
    except (TypeError, ValueError):
        raise DomainError("The quantity must be a whole number of Wh.", field="quantity_wh") from None
    if qty <= 0:
        raise DomainError("The quantity must be more than 0 Wh.", field="quantity_wh")
    if qty > 10_000_000:
        raise DomainError("The quantity is more than a site can trade in one period.", field="quantity_wh")
    p = _price(market, price)
    _check_period(market, period_start, now)
    ids = _check_nominees(participant, nominees)
    co2 = None
    if max_co2_g_per_kwh not in (None, ""):
        try:
            co2 = int(max_co2_g_per_kwh)
        except (TypeError, ValueError):
            raise DomainError("The CO2 limit must be whole g/kWh.", field="max_co2_g_per_kwh") from None
        if co2 < 0:
            raise DomainError("The CO2 limit cannot be negative.", field="max_co2_g_per_kwh")
    if energy_source not in Order.EnergySource.values:
        raise DomainError("Unknown energy source.", field="energy_source")
    other = Order.Side.OFFER if side == Order.Side.BID else Order.Side.BID
    if Order.objects.filter(
        participant=participant, period_start=period_start, side=other, status=Order.Status.OPEN
    ).exists():
        raise DomainError(
            f"You already have {'an offer' if other == Order.Side.OFFER else 'a bid'} for that period: "
            "a site either buys or sells in one period.",
            field="side",
        )
    if side == Order.Side.BID:
        owes = participant_owes(participant)
        if owes > participant.credit_limit:
            raise DomainError(
                f"You owe £{owes:.2f}, over your credit limit of £{participant.credit_limit:.2f}: "
                "pay the balance before placing new bids.",
                code="credit_limit",
            )
    if renewable_only and side == Order.Side.BID:
        co2 = RENEWABLE_MAX_CO2 if co2 is None else min(co2, RENEWABLE_MAX_CO2)
    order = Order.objects.create(
        market=market,
        participant=participant,
        period_start=period_start,
        side=side,
        quantity_wh=qty,
        price=p,
        source=source,
        submitted_at=now,
        nominees=ids,
        max_co2_g_per_kwh=co2 if side == Order.Side.BID else None,
        renewable_only=bool(renewable_only),
        energy_source=energy_source,
        co2_g_per_kwh=CO2_BY_SOURCE.get(energy_source, 0),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return order


@transaction.atomic
def order_place_many(
    *, participant: Participant, actor: Any, period_start: datetime, periods: Any = 1, **order: Any
) -> list[Order]:
    """The same order for ``periods`` consecutive delivery periods (1-48):
    all placed, or none if any period is refused."""
    try:
        n = int(periods)
    except (TypeError, ValueError):
        raise DomainError("The number of periods must be a whole number.", field="periods") from None
    if not 1 <= n <= 48:
        raise DomainError("An order can cover 1 to 48 consecutive periods.", field="periods")
    step = period_length(participant.market)
    return [
        order_place(participant=participant, actor=actor, period_start=period_start + i * step, **order)
        for i in range(n)
    ]


# Lifecycle intensities, g CO2e/kWh (UNECE 2021 medians, rounded); battery
# energy is assumed to be stored local solar; grid: UK 2023 average.
CO2_BY_SOURCE = {"solar": 40, "wind": 12, "battery": 40, "grid": 207}
# "Only renewable" = at most this lifecycle intensity: solar, wind and
# batteries storing local solar qualify, grid energy does not.
RENEWABLE_MAX_CO2 = 50


def _editable(order: Order, actor: Any, now: datetime) -> Order:
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not is_household(actor, order.participant):
        raise DomainError("You can only change your own orders.", code="forbidden")
    if order.status != Order.Status.OPEN:
        raise DomainError("This order is no longer open.")
    if now >= gate_closure(order.market, order.period_start):
        raise DomainError("Gate closure has passed: this order is frozen.")
    return order


@transaction.atomic
def order_update(*, order: Order, actor: Any, quantity_wh: Any, price: Any, now: datetime | None = None) -> Order:
    now = now or timezone.now()
    order = _editable(order, actor, now)
    try:
        qty = int(str(quantity_wh).strip())
    except (TypeError, ValueError):
        raise DomainError("The quantity must be a whole number of Wh.", field="quantity_wh") from None
    if qty <= 0:
        raise DomainError("The quantity must be more than 0 Wh.", field="quantity_wh")
    order.quantity_wh, order.price = qty, _price(order.market, price)
    order.submitted_at = now  # a changed order loses its time priority
    order.save(update_fields=["quantity_wh", "price", "submitted_at"])
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor: Any, now: datetime | None = None) -> Order:
    now = now or timezone.now()
    order = _editable(order, actor, now)
    order.status = Order.Status.CANCELLED
    order.save(update_fields=["status"])
    return order


# --------------------------------------------------------------------------
# clearing


def _network(market: Market) -> tuple[engine.Network, dict[int, int], list[NetworkNode]]:
    """The community's network tree as the engine's Network (limits in Wh per period)."""
    nodes = list(NetworkNode.objects.filter(community=market.community).order_by("id"))
    hours = Decimal(market.community.settlement_period_minutes) / 60
    if not nodes:
        return engine.Network.single(), {}, []
    children: dict[int | None, list[NetworkNode]] = {}
    for n in nodes:
        children.setdefault(n.parent_id, []).append(n)
    roots = children.get(None, [])
    order: list[NetworkNode] = []
    stack = list(reversed(roots))
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(reversed(children.get(n.pk, [])))
    # one virtual root above the community's top nodes: the market itself
    index = {n.pk: i + 1 for i, n in enumerate(order)}
    rows = [("market", -1, -1, -1)]
    for n in order:
        parent = index[n.parent_id] if n.parent_id in index else 0
        rows.append(
            (n.name, parent, int(n.import_capacity_kw * hours * 1000), int(n.export_capacity_kw * hours * 1000))
        )
    return engine.Network.build(rows), index, order


def _book(orders: list, node_index: dict[int, int]) -> engine.Book:
    n = len(orders)
    return engine.Book.from_arrays(
        order_id=[o.id for o in orders],
        is_bid=[o.side == Order.Side.BID for o in orders],
        qty_wh=[o.quantity_wh for o in orders],
        price=[_ticks(o.price) for o in orders],
        seq=[int(o.submitted_at.timestamp() * 1_000_000) for o in orders],
        node=[node_index.get(o.participant__site__network_node_id, 0) for o in orders],
        owner=[o.participant_id for o in orders],
        nominees=[(list(o.nominees) + [-1, -1, -1])[:3] for o in orders] if n else np.zeros((0, 3)),
        max_co2=[o.max_co2_g_per_kwh if o.max_co2_g_per_kwh is not None else -1 for o in orders],
        co2=[o.co2_g_per_kwh for o in orders],
    )


def _book_hash(orders: list, rule: RuleVersion) -> str:
    rows = [
        (
            o.id,
            o.side,
            o.quantity_wh,
            str(o.price),
            o.submitted_at.isoformat(),
            list(o.nominees),
            o.max_co2_g_per_kwh,
            o.co2_g_per_kwh,
            o.participant_id,
        )
        for o in orders
    ]
    return hashlib.sha256(json.dumps([rule.pk, rows], default=str).encode()).hexdigest()


BOOK_FIELDS = (
    "id",
    "side",
    "quantity_wh",
    "price",
    "submitted_at",
    "nominees",
    "max_co2_g_per_kwh",
    "co2_g_per_kwh",
    "participant_id",
    "participant__site__network_node_id",
    "energy_source",
)


def frozen_orders(market: Market, period_start: datetime) -> list:
    """The period's book as light rows (attribute access, no model instances)."""
    return list(
        Order.objects.filter(market=market, period_start=period_start)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("id")
        .values_list(*BOOK_FIELDS, named=True)
    )


def clear_book(market: Market, period_start: datetime, orders: list, rule: RuleVersion) -> engine.ClearingResult:
    network, index, _ = _network(market)
    book = _book(orders, index)
    return engine.clear(
        book,
        mechanism=rule.mechanism,
        network=network,
        match_tariff=_ticks(rule.match_tariff) if rule.mechanism == Mechanism.CLUB else None,
    )


@transaction.atomic
def market_clear(*, market: Market, period_start: datetime, now: datetime | None = None) -> ClearingRun:
    """Clear one period at gate closure. Idempotent: a cleared period returns its run."""
    now = now or timezone.now()
    if now < gate_closure(market, period_start):
        raise DomainError("Gate closure for that period has not passed yet.")
    existing = ClearingRun.objects.filter(market=market, period_start=period_start).first()
    if existing is not None:
        return existing
    rule = rules_in_force(market, period_start)
    try:
        with transaction.atomic():
            run = ClearingRun.objects.create(
                market=market,
                period_start=period_start,
                rule=rule,
                mechanism=rule.mechanism,
                started_at=now,
            )
    except IntegrityError:  # another worker got there first
        return ClearingRun.objects.get(market=market, period_start=period_start)
    orders = frozen_orders(market, period_start)
    network, index, nodes = _network(market)
    result = engine.clear(
        _book(orders, index),
        mechanism=rule.mechanism,
        network=network,
        match_tariff=_ticks(rule.match_tariff) if rule.mechanism == Mechanism.CLUB else None,
    )
    trades = []
    for k in range(len(result.trade_qty_wh)):
        b, o = orders[int(result.trade_bid[k])], orders[int(result.trade_offer[k])]
        trades.append(
            Trade(
                run=run,
                market=market,
                period_start=period_start,
                bid_id=b.id,
                offer_id=o.id,
                buyer_id=b.participant_id,
                seller_id=o.participant_id,
                quantity_wh=int(result.trade_qty_wh[k]),
                buyer_price=engine.ticks_to_price(result.trade_buyer_price[k]),
                seller_price=engine.ticks_to_price(result.trade_seller_price[k]),
                preference_round=bool(result.trade_round[k] == 0),
                energy_source=o.energy_source,
                co2_g_per_kwh=o.co2_g_per_kwh,
            )
        )
    Trade.objects.bulk_create(trades, batch_size=2000)
    # most orders are filled fully or not at all: two set-based updates, and
    # row updates only for the few partial fills at the margin
    fills = result.filled_wh.tolist()
    Order.objects.filter(pk__in=[o.id for o in orders]).update(status=Order.Status.CLEARED)
    full = [o.id for o, f in zip(orders, fills, strict=True) if f == o.quantity_wh]
    Order.objects.filter(pk__in=full).update(filled_wh=models.F("quantity_wh"))
    partial = [Order(pk=o.id, filled_wh=int(f)) for o, f in zip(orders, fills, strict=True) if 0 < f < o.quantity_wh]
    Order.objects.bulk_update(partial, ["filled_wh"], batch_size=2000)
    area_prices = {}
    if result.split:
        node_names = {0: "market"} | {index[n.pk]: n.name for n in nodes}
        area_prices = {
            node_names[i]: str(engine.ticks_to_price(p)) for i, p in enumerate(result.node_price.tolist()) if p >= 0
        }
    run.status = ClearingRun.Status.DONE
    run.clearing_price = engine.ticks_to_price(result.price) if result.price is not None else None
    run.area_prices = area_prices
    run.binding = [
        {"node": b.name, "direction": b.direction, "limit_wh": b.limit_wh, "flow_wh": b.flow_wh} for b in result.binding
    ]
    run.volume_wh = sum(t.quantity_wh for t in trades)
    run.orders_count = len(orders)
    run.book_hash = _book_hash(orders, rule)
    run.message = result.message[:500]
    run.solver = result.solver
    run.finished_at = timezone.now()
    run.save()
    return run


@dataclass
class Replay:
    identical: bool
    book_unchanged: bool
    result: engine.ClearingResult
    message: str


def market_replay(*, run: ClearingRun) -> Replay:
    """Re-clear a past period from its stored book and compare with the stored trades."""
    orders = frozen_orders(run.market, run.period_start)
    book_ok = _book_hash(orders, run.rule) == run.book_hash
    result = clear_book(run.market, run.period_start, orders, run.rule)
    stored = sorted(run.trades.values_list("bid_id", "offer_id", "quantity_wh", "buyer_price", "seller_price"))
    again = sorted(
        (
            orders[int(result.trade_bid[k])].id,
            orders[int(result.trade_offer[k])].id,
            int(result.trade_qty_wh[k]),
            engine.ticks_to_price(result.trade_buyer_price[k]),
            engine.ticks_to_price(result.trade_seller_price[k]),
        )
        for k in range(len(result.trade_qty_wh))
    )
    same = book_ok and stored == again
    msg = (
        "Re-clearing the stored book gives the identical trades."
        if same
        else ("The stored book was changed after clearing." if not book_ok else "Re-clearing gives different trades.")
    )
    return Replay(same, book_ok, result, msg)


def explain_order(order: Order) -> str:
    """Plain words: why did (or didn't) this order match?"""
    if order.status == Order.Status.CANCELLED:
        return "You cancelled this order before gate closure."
    run = ClearingRun.objects.filter(market=order.market, period_start=order.period_start).first()
    if run is None:
        return "This period has not been cleared yet."
    if order.filled_wh == order.quantity_wh:
        return "Fully matched."
    price = run.clearing_price
    for node, p in (run.area_prices or {}).items():
        if order.participant.site.network_node and order.participant.site.network_node.name == node:
            price = Decimal(p)
    if run.mechanism == Mechanism.CLUB:
        return f"Local generation covered only part of the club's demand, so it was shared pro-rata: you got {order.filled_wh} of {order.quantity_wh} Wh."
    if run.volume_wh == 0:
        return run.message
    if price is not None and order.side == Order.Side.BID and order.price < price:
        why = f"Your limit of {order.price} p/kWh was below the clearing price of {price} p/kWh."
    elif price is not None and order.side == Order.Side.OFFER and order.price > price:
        why = f"Your limit of {order.price} p/kWh was above the clearing price of {price} p/kWh."
    else:
        why = (
            f"Your limit equalled the clearing price of {price} p/kWh and earlier orders at that price "
            "were filled first (ties go to the earliest submission)."
        )
    if run.binding:
        why += (
            " The network limit " + ", ".join(f"{b['direction']} at {b['node']}" for b in run.binding) + " was binding."
        )
    return f"Matched {order.filled_wh} of {order.quantity_wh} Wh. {why}"


# --------------------------------------------------------------------------
# settlement


def _readings(market: Market, participants: list, start: datetime) -> tuple[dict[int, sm.Meter], str]:
    """Metered import/export per participant for [start, start + period)."""
    from assets.models import IntervalReading, Meter

    end = start + period_length(market)
    minutes = market.community.settlement_period_minutes
    site_to_p = {p.site_id: p.id for p in participants}
    rows = (
        IntervalReading.objects.filter(
            meter__site_id__in=site_to_p,
            meter__kind=Meter.Kind.SITE,
            period_start__gte=start,
            period_start__lt=end,
        )
        .values_list("meter__site_id", "period_minutes", "import_wh", "export_wh", "period_start")
        .order_by("meter__site_id", "period_start")
    )
    acc: dict[int, list[int]] = {}
    digest_rows = []
    for site_id, pm, imp, exp, ps in rows:
        a = acc.setdefault(site_to_p[site_id], [0, 0, 0])
        a[0] += pm
        a[1] += imp
        a[2] += exp
        digest_rows.append((site_id, int(ps.timestamp()), imp, exp))
    meters = {pid: sm.Meter(v[1], v[2]) for pid, v in acc.items() if v[0] >= minutes}
    return meters, readings_digest(np.array(digest_rows, dtype=np.int64).reshape(-1, 4))


def readings_digest(rows: np.ndarray) -> str:
    """SHA-256 of a period's readings: int64 rows (site id, epoch s, import Wh,
    export Wh) ordered by site then time. The batch path hashes the same bytes."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<i8").tobytes()).hexdigest()


def _rules_for(rule: RuleVersion, market: Market, period_start: datetime) -> sm.Rules:
    return sm.Rules(
        import_price=_ticks(import_price_at(rule, market, period_start)),
        export_price=_ticks(rule.export_price),
        fee_fixed_micro=int(rule.fee_per_trade_pence * sm.MICRO),
        fee_bp=int(rule.fee_pct * 100),
        fund_share_bp=int(rule.fund_share_pct * 100),
        social_bp=int(rule.social_discount_pct * 100),
    )


def _account(market: Market, key: str, cache: dict) -> LedgerAccount:
    if key in cache:
        return cache[key]
    c = market.community
    if key.startswith("member:"):
        p = Participant.objects.get(pk=int(key.split(":")[1]))
        acc = member_account(p)
    else:
        names = {
            sm.MARKET: ("Market clearing", LedgerAccount.Kind.ASSET),
            sm.SUPPLIER: ("Supplier (balancing party)", LedgerAccount.Kind.LIABILITY),
            sm.FUND: ("Community fund", LedgerAccount.Kind.LIABILITY),
            sm.OPERATOR: ("Market operator fees", LedgerAccount.Kind.INCOME),
            "bank": ("Market bank account", LedgerAccount.Kind.ASSET),
        }
        name, kind = names[key]
        acc = ledger_account(community=c, code=f"lem:{key}", name=name, kind=kind)
    cache[key] = acc
    return acc


def _accounts(market: Market, keys: Iterable[str], cache: dict) -> dict:
    """Ledger accounts for settlement keys ('member:42', 'supplier', ...), in
    one query; the few missing ones are created once."""
    missing = [k for k in set(keys) if k not in cache]
    if missing:
        found = LedgerAccount.objects.filter(community=market.community, code__in=[f"lem:{k}" for k in missing])
        for acc in found:
            cache[acc.code[4:]] = acc
        members = [int(k.split(":")[1]) for k in missing if k not in cache and k.startswith("member:")]
        if members:  # first settlement of many members: create their accounts in one go
            LedgerAccount.objects.bulk_create(
                [
                    LedgerAccount(
                        community=market.community,
                        code=f"lem:member:{pid}",
                        name=f"Market member {pseudo}",
                        kind=LedgerAccount.Kind.ASSET,
                        user_id=uid,
                    )
                    for pid, uid, pseudo in Participant.objects.filter(pk__in=members).values_list(
                        "id", "user_id", "pseudonym"
                    )
                ],
                ignore_conflicts=True,
            )
            for acc in LedgerAccount.objects.filter(
                community=market.community, code__in=[f"lem:member:{m}" for m in members]
            ):
                cache[acc.code[4:]] = acc
        for k in missing:
            if k not in cache:
                _account(market, k, cache)
    return cache


def _lines_from_transfers(
    market: Market, transfers: list[sm.Transfer], cache: dict
) -> list[tuple[LedgerAccount, Decimal]]:
    """Net per account: the payer is debited (owes more), the payee credited."""
    net: dict[str, int] = {}
    for t in transfers:
        net[t.payer] = net.get(t.payer, 0) + t.amount_pence
        net[t.payee] = net.get(t.payee, 0) - t.amount_pence
    accounts = _accounts(market, net, cache)
    return [(accounts[k], Decimal(v) / 100) for k, v in sorted(net.items()) if v != 0]


@dataclass
class PeriodInputs:
    participants: list
    trades: list[sm.Trade]
    meters: dict[int, sm.Meter]
    readings_hash: str


def _period_inputs(market: Market, period_start: datetime) -> PeriodInputs:
    participants = list(
        market.participants.filter(active=True).order_by("pk").values_list("id", "site_id", "fuel_poor", named=True)
    )
    trades = [
        sm.Trade(t.pk, t.buyer_id, t.seller_id, t.quantity_wh, _ticks(t.buyer_price), _ticks(t.seller_price))
        for t in Trade.objects.filter(market=market, period_start=period_start).order_by("pk")
    ]
    meters, digest = _readings(market, participants, period_start)
    return PeriodInputs(participants, trades, meters, digest)


def _pence(x: int) -> Decimal:
    return Decimal(x) / 100


def _lines_for(
    run: SettlementRun, result: sm.PeriodSettlement, rules: sm.Rules, participants: list
) -> list[SettlementLine]:
    per: dict[int, dict[str, int]] = {}
    for t in result.transfers:
        if t.member is None:
            continue
        d = per.setdefault(t.member, {})
        pays = t.payer == sm.member_account(t.member)
        d[t.kind] = d.get(t.kind, 0) + (t.amount_pence if pays else -t.amount_pence)
    out = []
    for p in participants:
        pos = result.positions.get(p.id)
        if pos is None:
            continue
        d = per.get(p.id, {})
        only = sm.round_half_up(sm.supplier_only_exact(sm.Meter(pos.import_wh, pos.export_wh), rules))
        out.append(
            SettlementLine(
                run=run,
                participant_id=p.id,
                period_start=run.period_start,
                bought_wh=pos.bought_wh,
                sold_wh=pos.sold_wh,
                import_wh=pos.import_wh,
                export_wh=pos.export_wh,
                from_supplier_wh=pos.import_from_supplier_wh + pos.shortfall_wh,
                to_supplier_wh=pos.export_to_supplier_wh + pos.spill_wh,
                local_cost=_pence(d.get("local_buy", 0)),
                local_income=_pence(-d.get("local_sell", 0)),
                supplier_cost=_pence(d.get("import", 0) + d.get("shortfall", 0)),
                supplier_income=_pence(-(d.get("export", 0) + d.get("spill", 0))),
                fees=_pence(d.get("fee", 0)),
                discount=_pence(-d.get("social", 0)),
                supplier_only=_pence(only),
            )
        )
    return out


def settlement_settle_period(
    *, market: Market, period_start: datetime, now: datetime | None = None, actor: Any = None
) -> SettlementRun:
    """Settle one delivered period against its meter readings.

    Pending (and nothing posted) while any participant's readings are
    missing. Re-running with the same readings and trades changes nothing;
    late or corrected data bumps the revision, and the ledger gets a
    reversal of the old entry plus the new one, so nobody is charged twice.
    """
    now = now or timezone.now()
    if now < period_start + period_length(market):
        raise DomainError("That period has not been delivered yet.")
    with transaction.atomic():
        run, _ = SettlementRun.objects.get_or_create(market=market, period_start=period_start)
        run = SettlementRun.objects.select_for_update().get(pk=run.pk)
        inputs = _period_inputs(market, period_start)
        rule = rules_in_force(market, period_start)
        state_hash = _state_hash(
            inputs.readings_hash,
            [(t.trade_id, t.qty_wh, t.buyer_price, t.seller_price) for t in inputs.trades],
            rule.pk,
            sorted(p.id for p in inputs.participants if p.fuel_poor),
        )
        if run.status == SettlementRun.Status.SETTLED and run.readings_hash == state_hash:
            return run
        rules = _rules_for(rule, market, period_start)
        result = sm.settle_period(
            members=[p.id for p in inputs.participants],
            trades=inputs.trades,
            meters=inputs.meters,
            rules=rules,
            fuel_poor=[p.id for p in inputs.participants if p.fuel_poor],
        )
        if result.status == "pending":
            run.missing = result.missing
            run.message = result.message
            run.rule = rule
            run.save(update_fields=["missing", "message", "rule", "updated_at"])
            return run
        old_nets = _posted_nets(run) if run.status == SettlementRun.Status.SETTLED else {}
        SettlementLine.objects.filter(run=run).delete()
        SettlementLine.objects.bulk_create(_lines_for(run, result, rules, inputs.participants), batch_size=2000)
        was_settled = run.status == SettlementRun.Status.SETTLED
        if was_settled:
            run.revision += 1
        run.status = SettlementRun.Status.SETTLED
        run.readings_hash = state_hash
        run.rule = rule
        run.missing = []
        run.message = (
            "Settled." if not was_settled else f"Re-settled (revision {run.revision}) after late or corrected data."
        )
        run.settled_at = now
        run.save()
        _post_settlement(market, run, result, old_nets=old_nets)
        return run


def _state_hash(readings_digest: str, trades: list[tuple], rule_pk: int, fuel_poor_ids: list[int]) -> str:
    """What a settlement depends on: readings, trades, rule version, who is fuel poor."""
    return hashlib.sha256(
        (readings_digest + json.dumps([list(t) for t in trades]) + f"|rule{rule_pk}|fp{fuel_poor_ids}").encode()
    ).hexdigest()


def _settle_key(market: Market, run: SettlementRun, revision: int) -> str:
    return f"lem:settle:{market.pk}:{run.period_start.isoformat()}:r{revision}"


DAY_KEY = "lem:settle-day:"


def _posted_nets(run: SettlementRun) -> dict[str, int]:
    """Pence (debit +) this period currently has in the ledger, per account key."""
    nets = {
        f"member:{pid}": int(round(total * 100))
        for pid, total in ((line.participant_id, line.total) for line in SettlementLine.objects.filter(run=run))
    }
    nets.update({k: int(v) for k, v in (run.account_nets or {}).items()})
    return {k: v for k, v in nets.items() if v}


def _nets_of(result: sm.PeriodSettlement) -> dict[str, int]:
    return {k: -v for k, v in result.net_by_account().items() if v}


def _post_settlement(
    market: Market,
    run: SettlementRun,
    result: sm.PeriodSettlement,
    cache: dict | None = None,
    old_nets: dict[str, int] | None = None,
) -> None:
    """Post the period's money. A re-settlement reverses the period's own
    entry and posts the new one; a period whose money sits in a batch day
    entry gets a correction entry with the difference instead (the day entry
    stays as it was: entries are never edited)."""
    from community.models import JournalEntry

    cache = {} if cache is None else cache
    nets = _nets_of(result)
    key = _settle_key(market, run, run.revision)
    stamp = f"{run.period_start:%Y-%m-%d %H:%M} UTC"
    if run.ledger_key.startswith(DAY_KEY) and run.posted_revision >= 0:
        delta = {k: nets.get(k, 0) - (old_nets or {}).get(k, 0) for k in set(nets) | set(old_nets or {})}
        delta = {k: v for k, v in delta.items() if v}
        if delta:
            accounts = _accounts(market, delta, cache)
            ledger_post_many(
                community=market.community,
                entries=[
                    EntrySpec(
                        lines=[(accounts[k], Decimal(v) / 100) for k, v in sorted(delta.items())],
                        memo=f"Correction: settlement of {stamp} revision {run.revision} (late or corrected data)",
                        source="lem.settlement",
                        idempotency_key=key + ":correction",
                        effective_at=run.period_start,
                        reference=f"period:{run.period_start.isoformat()}",
                    )
                ],
            )
    else:
        if run.posted_revision >= 0 and run.posted_revision != run.revision:
            old = JournalEntry.objects.filter(
                community=market.community,
                idempotency_key=run.ledger_key or _settle_key(market, run, run.posted_revision),
            ).first()
            if old is not None:
                ledger_reverse(
                    entry=old,
                    memo=f"Reversal: settlement of {stamp} r{run.posted_revision} (late data)",
                    idempotency_key=old.idempotency_key + ":reversal",
                )
        lines = _lines_from_transfers(market, result.transfers, cache)
        if lines:
            ledger_post_many(
                community=market.community,
                entries=[
                    EntrySpec(
                        lines=lines,
                        memo=f"Market settlement {stamp}" + (f" (revision {run.revision})" if run.revision else ""),
                        source="lem.settlement",
                        idempotency_key=key,
                        effective_at=run.period_start,
                        reference=f"period:{run.period_start.isoformat()}",
                    )
                ],
            )
        run.ledger_key = key
    run.account_nets = {k: v for k, v in nets.items() if not k.startswith("member:")}
    run.posted_revision = run.revision
    run.save(update_fields=["posted_revision", "ledger_key", "account_nets"])


# --------------------------------------------------------------------------
# monthly fees, payments


def month_bounds(market: Market, month: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(market.community.timezone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), nxt.astimezone(ZoneInfo("UTC"))


@transaction.atomic
def membership_fees_post(*, market: Market, month: date, actor: Any = None) -> int:
    """Charge the monthly membership fee once per member and month."""
    month = month.replace(day=1)
    start, _ = month_bounds(market, month)
    rule = rules_in_force(market, start)
    if rule.membership_fee <= 0:
        return 0
    cache: dict = {}
    specs, made = [], 0
    for p in market.participants.filter(active=True).order_by("pk"):
        charge, created = MonthlyCharge.objects.get_or_create(
            participant=p, month=month, defaults={"amount": rule.membership_fee}
        )
        specs.append(
            EntrySpec(
                lines=[(member_account(p), charge.amount), (_account(market, sm.OPERATOR, cache), -charge.amount)],
                memo=f"Membership fee {month:%B %Y} ({p.pseudonym})",
                source="lem.fees",
                idempotency_key=f"lem:membership:{p.pk}:{month:%Y-%m}",
                effective_at=start,
            )
        )
        made += created
    if specs:
        ledger_post_many(community=market.community, entries=specs, actor=actor)
    return made


@transaction.atomic
def payment_record(
    *, participant: Participant, actor: Any, amount: Any, reference: str, received_at: datetime | None = None
) -> Payment:
    market = participant.market
    if not (_is_operator(actor, market.community) or getattr(actor, "is_superuser", False)):
        raise DomainError("Only the market operator records payments.", code="forbidden")
    amt = _decimal(amount, "The amount", "amount")
    if amt == 0 or amt != amt.quantize(Decimal("0.01")):
        raise DomainError("The amount must be non-zero pounds and pence.", field="amount")
    reference = (reference or "").strip()
    if not reference:
        raise DomainError("A payment needs the bank reference.", field="reference")
    if Payment.objects.filter(participant=participant, reference=reference).exists():
        raise DomainError("A payment with that reference is already recorded.", field="reference")
    pay = Payment.objects.create(
        participant=participant,
        amount=amt,
        reference=reference,
        received_at=received_at or timezone.now(),
        recorded_by=actor,
    )
    cache: dict = {}
    ledger_post_many(
        community=market.community,
        entries=[
            EntrySpec(
                lines=[(_account(market, "bank", cache), amt), (member_account(participant), -amt)],
                memo=f"Payment from {participant.pseudonym} ({reference})",
                source="lem.payments",
                idempotency_key=f"lem:payment:{pay.pk}",
                effective_at=pay.received_at,
                reference=reference,
            )
        ],
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="lem.payment_record",
        summary=f"Recorded £{amt} from {participant.pseudonym}",
        community=market.community,
        obj=pay,
    )
    return pay


# --------------------------------------------------------------------------
# trading agent


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


# --------------------------------------------------------------------------
# the clock: what Celery beat calls (idempotent)


def market_clear_due(*, market: Market, now: datetime | None = None, lookback: timedelta = timedelta(days=1)) -> int:
    """Clear every period whose gate has closed and that has no run yet."""
    now = now or timezone.now()
    step = period_length(market)
    last = floor_period(market, now + timedelta(minutes=market.gate_closure_minutes))
    if gate_closure(market, last) > now:
        last -= step
    first = floor_period(market, now - lookback)
    done = set(
        ClearingRun.objects.filter(market=market, period_start__gte=first, period_start__lte=last).values_list(
            "period_start", flat=True
        )
    )
    # periods with orders are always cleared; empty ones only near now (to record "no trades")
    with_orders = set(
        Order.objects.filter(market=market, period_start__gte=first, period_start__lte=last).values_list(
            "period_start", flat=True
        )
    )
    todo = sorted(p for p in with_orders | {last} if p not in done and p >= first)
    for p in todo:
        market_clear(market=market, period_start=p, now=now)
    return len(todo)


def settlement_settle_due(
    *, market: Market, now: datetime | None = None, lookback: timedelta = timedelta(days=7)
) -> int:
    """Settle delivered periods that are unsettled, pending, or whose readings
    changed after they were settled (late data). Returns runs touched."""
    from assets.models import IntervalReading, Meter

    now = now or timezone.now()
    first = now - lookback
    delivered_before = now - period_length(market)
    runs = {r.period_start: r for r in SettlementRun.objects.filter(market=market, period_start__gte=first)}
    cleared = set(
        ClearingRun.objects.filter(
            market=market, period_start__gte=first, period_start__lte=delivered_before
        ).values_list("period_start", flat=True)
    )
    site_ids = list(market.participants.values_list("site_id", flat=True))
    latest: dict[datetime, datetime] = {}
    for ps, rec in IntervalReading.objects.filter(
        meter__site_id__in=site_ids,
        meter__kind=Meter.Kind.SITE,
        period_start__gte=first,
        period_start__lte=delivered_before,
    ).values_list("period_start", "received_at"):
        p = floor_period(market, ps)
        if p not in latest or rec > latest[p]:
            latest[p] = rec
    todo = []
    for p in sorted(cleared | set(latest)):
        if p > delivered_before:
            continue
        r = runs.get(p)
        if (
            r is None
            or r.status == SettlementRun.Status.PENDING
            or (r.settled_at and latest.get(p) and latest[p] > r.settled_at)
        ):
            todo.append(p)
    for p in todo:
        settlement_settle_period(market=market, period_start=p, now=now)
    return len(todo)


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
