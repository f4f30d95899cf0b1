"""Placing, changing and cancelling orders."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from community.errors import DomainError
from community.models import LedgerAccount
from community.services import ledger_account
from lem.models import (
    Market,
    Order,
    Participant,
)
from lem.services.base import _is_operator, _price, floor_period, gate_closure, is_household, period_length


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
