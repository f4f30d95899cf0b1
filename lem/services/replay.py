"""Replaying a clearing run and explaining an order's outcome."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from lem.domain import clearing as engine
from lem.models import (
    ClearingRun,
    Mechanism,
    Order,
)
from lem.services.clearing import _book_hash, clear_book, frozen_orders


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


def explain_order(order: Order, *, runs: dict | None = None) -> str:
    """Plain words: why did (or didn't) this order match? ``runs`` (period start -> its
    ClearingRun, for a list of orders) saves a query per order."""
    if order.status == Order.Status.CANCELLED:
        return "You cancelled this order before gate closure."
    if runs is not None:
        run = runs.get(order.period_start)
    else:
        run = ClearingRun.objects.filter(market_id=order.market_id, period_start=order.period_start).first()
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
