"""Clearing a period's frozen book and the clock that clears due periods."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from community.constraints import node_limits_in_force
from community.errors import DomainError
from community.models import NetworkNode
from lem.domain import clearing as engine
from lem.models import (
    ClearingRun,
    Market,
    Mechanism,
    Order,
    RuleVersion,
    Trade,
)
from lem.services.base import _ticks, floor_period, gate_closure, period_length, rules_in_force


def _network(
    market: Market, period_start: datetime | None = None
) -> tuple[engine.Network, dict[int, int], list[NetworkNode], list[int]]:
    """The community's network tree as the engine's Network (limits in Wh per period).

    With ``period_start``, each node's limits are the tightest of its capacity
    and the network operators' constraint statements in force during the
    period (``community.constraints``); the ids of those statements are
    returned so the run can record what it obeyed."""
    nodes = list(NetworkNode.objects.filter(community=market.community).order_by("id"))
    hours = Decimal(market.community.settlement_period_minutes) / 60
    if not nodes:
        return engine.Network.single(), {}, [], []
    limits = {}
    statement_ids: list[int] = []
    if period_start is not None:
        limits = node_limits_in_force(
            community=market.community, start=period_start, end=period_start + period_length(market)
        )
        statement_ids = sorted({i for lim in limits.values() for i in lim.statement_ids})
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
        imp_kw, exp_kw = n.import_capacity_kw, n.export_capacity_kw
        if n.pk in limits:
            imp_kw, exp_kw = limits[n.pk].import_limit_kw, limits[n.pk].export_limit_kw
        rows.append((n.name, parent, int(max(imp_kw, 0) * hours * 1000), int(max(exp_kw, 0) * hours * 1000)))
    return engine.Network.build(rows), index, order, statement_ids


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
    network, index, _, _ = _network(market, period_start)
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
    network, index, nodes, statement_ids = _network(market, period_start)
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
            node_names[i]: str(engine.ticks_to_price(p))
            for i, p in enumerate(result.node_price.tolist())
            if result.node_has_price[i]
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
    run.constraint_statement_ids = statement_ids
    run.finished_at = timezone.now()
    run.save()
    return run


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
