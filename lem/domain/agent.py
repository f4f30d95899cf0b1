"""The household trading agent: forecast a site's next period, then bid/offer
within the limits the household set. Pure: history and prices in, orders out.

Prices: the agent bids below the supplier's import tariff and offers above
its export price (a local trade only makes sense between the two), a third
of the spread in from each end, clipped to the household's own limits
(``max_buy`` / ``min_sell``) and the market's floor and cap.

Quantities (issue 17): the agent minimises expected cost, it does not match
the mean forecast. A kWh bought locally and not used is sold back to the
supplier at the export price, so over-buying costs ``local - export``; a kWh
used and not bought comes from the supplier, so under-buying costs
``import - local``. The cost-minimising quantity is the newsvendor quantile

    q_bid = (import - local) / (import - export)

of the forecast distribution of the period's import. For an offer, selling
a kWh the home does not export means buying it from the supplier (cost
``import - local``) and not selling one it exports earns only the export
price (cost ``local - export``), so

    q_offer = (local - export) / (import - export)

of the forecast export. ``local`` is the price a trade is expected at
(`expected_local_prices`: the club's match tariff, the middle of the
agents' bid and offer prices in a uniform-price auction, the bid in
pay-as-bid), with the market's percentage fee added to what a buyer pays
and taken from what a seller gets.

Forecast distribution: the same time of day over the last days of metered
history (seasonal naive), which is what a half-hourly smart-meter history
supports; with no history the site's annual consumption spread evenly (a
one-point distribution). Battery: energy above the household's evening
reserve covers the bid first and, when the home neither imports nor
exports, may be offered, limited by the battery's power over the period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np


@dataclass(frozen=True)
class AgentLimits:
    min_sell: Decimal  # p/kWh
    max_buy: Decimal
    battery_reserve_pct: int


@dataclass(frozen=True)
class AgentOrder:
    side: str  # "bid" | "offer"
    quantity_wh: int
    price: Decimal  # p/kWh
    energy_source: str = "solar"


def forecast_net_wh(history_net_wh: Sequence[int], *, annual_kwh: int | None, periods_per_day: int) -> int:
    """Expected net import (+) / export (-) of the next period, Wh."""
    if history_net_wh:
        return round(sum(history_net_wh) / len(history_net_wh))
    if annual_kwh:
        return round(annual_kwh * 1000 / (365 * periods_per_day))
    return 0


def newsvendor_ratios(*, import_price, export_price, bid_local, offer_local):
    """(q_bid, q_offer): the forecast quantiles that minimise expected cost.

    Prices in any one unit (p/kWh or ticks); ``bid_local``/``offer_local`` may
    be numpy arrays (one per household). A spread of zero leaves nothing to
    gain: both quantiles are 0 (no order)."""
    spread = float(import_price) - float(export_price)
    if spread <= 0:
        return np.zeros_like(np.asarray(bid_local, dtype=float)), np.zeros_like(np.asarray(offer_local, dtype=float))
    bl = np.asarray(bid_local, dtype=float)
    ol = np.asarray(offer_local, dtype=float)
    q_bid = np.clip((float(import_price) - bl) / spread, 0.0, 1.0)
    q_offer = np.clip((ol - float(export_price)) / spread, 0.0, 1.0)
    if q_bid.ndim == 0:
        return float(q_bid), float(q_offer)
    return q_bid, q_offer


def quantile_quantities(history_net_wh: np.ndarray, q_bid, q_offer) -> tuple[np.ndarray, np.ndarray]:
    """Bid and offer quantities (Wh) from a history of net imports.

    ``history_net_wh``: days x sites -- or days x periods x sites, the value
    replay's whole day at once -- of net import (+) / export (-) at the same
    time of day; a 1-D history is one site. ``q_bid`` / ``q_offer``: scalars or
    one per site (broadcast over the trailing axes). A site gets either a bid
    or an offer, the side its median history is on (a home never trades with
    itself)."""
    h = np.asarray(history_net_wh, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    if h.shape[0] == 0:
        z = np.zeros(h.shape[1:], dtype=np.int64)
        return z, z.copy()
    ordered = np.sort(h, axis=0)  # one sort: max(x, 0) and max(-x, 0) are monotone
    imports = np.maximum(ordered, 0.0)
    exports = np.maximum(-ordered[::-1], 0.0)
    bid = _quantile_sorted(imports, q_bid)
    offer = _quantile_sorted(exports, q_offer)
    median = _quantile_sorted(ordered, 0.5)
    bid = np.where(median > 0, np.floor(bid), 0.0).astype(np.int64)
    offer = np.where(median < 0, np.floor(offer), 0.0).astype(np.int64)
    return bid, offer


def _quantile_sorted(s: np.ndarray, q) -> np.ndarray:
    """Linear-interpolated quantile (numpy's default method) along axis 0 of
    the axis-0-sorted ``s``, at ``q`` (broadcast over the other axes)."""
    n = s.shape[0]
    qq = np.broadcast_to(np.asarray(q, dtype=np.float64), s.shape[1:])
    pos = qq * (n - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    low = np.take_along_axis(s, lo[None], axis=0)[0]
    high = np.take_along_axis(s, hi[None], axis=0)[0]
    return low * (1 - frac) + high * frac


def expected_local_prices(*, mechanism: str, bid_price, offer_price, match_tariff=None, fee_fraction=0.0):
    """(what a buyer expects to pay, what a seller expects to get) per kWh
    traded locally, fees included. Club matching: the members' match tariff.
    Uniform price: where the agents' bids and offers meet, the middle of the
    two (the clearing engine prices at the middle of the clearing interval).
    Pay-as-bid: the buyer's limit, for both sides. Works on numpy arrays."""
    bp = np.asarray(bid_price, dtype=np.float64)
    op = np.asarray(offer_price, dtype=np.float64)
    if mechanism == "club":
        buy = sell = np.full(np.broadcast(bp, op).shape, float(match_tariff))
    elif mechanism == "pay_as_bid":
        buy, sell = bp, bp
    else:
        buy = sell = (bp + op) / 2
    return buy * (1 + fee_fraction), sell * (1 - fee_fraction)


def expected_gain_micro(
    history_net_wh: np.ndarray, *, bid_wh, offer_wh, import_price, export_price, bid_local, offer_local
) -> np.ndarray:
    """Expected gain against the supplier alone of orders ``bid_wh`` /
    ``offer_wh`` if filled, in micro-pence (Wh x ticks), averaged over the
    history's days (axis 0): a bought Wh used saves ``import - local``, one
    not used loses ``local - export``; a sold Wh exported earns
    ``local - export``, one not exported costs ``import - local``. Prices in
    ticks; everything broadcasts over the trailing axes."""
    h = np.asarray(history_net_wh, dtype=np.float64)
    if h.shape[0] == 0:
        return np.zeros(h.shape[1:])
    b, o = np.asarray(bid_wh, dtype=np.float64), np.asarray(offer_wh, dtype=np.float64)
    # a Wh bought and not used: min(import, b) used, b - that spilled; so the
    # gain is (import - export) x E[min(import, b)] - b x (local - export); the
    # same for an offer. With b = 0 (o = 0) its side is 0.
    used = np.clip(h, 0.0, b).mean(axis=0)
    delivered = np.clip(-h, 0.0, o).mean(axis=0)
    spread = import_price - export_price
    return spread * (used + delivered) - b * (bid_local - export_price) - o * (import_price - offer_local)


def floor_quantities(
    history_net_wh: np.ndarray, bid_wh, offer_wh, *, min_days: int = 7
) -> tuple[np.ndarray, np.ndarray]:
    """The part of each order its history says is all but certain: what the
    home imported (a bid) / exported (an offer) on EVERY day of the history at
    that time, capped at the order; nothing with fewer than ``min_days`` of
    history (one day says little). Same shapes as `quantile_quantities`."""
    h = np.asarray(history_net_wh, dtype=np.int64)
    if h.ndim == 1:
        h = h[:, None]
    b = np.asarray(bid_wh, dtype=np.int64)
    o = np.asarray(offer_wh, dtype=np.int64)
    if h.shape[0] < max(min_days, 1):
        return np.zeros_like(b), np.zeros_like(o)
    return np.minimum(np.maximum(h.min(axis=0), 0), b), np.minimum(np.maximum(-h.max(axis=0), 0), o)


def within_budget(bid_wh, offer_wh, bid_floor, offer_floor, *, bid_risk, offer_risk, budget):
    """The day's orders (periods x members) cut, per member, so that if none
    of what they buy were used and none of what they sell were delivered, the
    day's loss would stay within ``budget`` (micro-pence per member).

    ``bid_risk``: what a Wh bought and not used loses (the limit price paid,
    fee included, less the export price it is sold back at), ticks;
    ``offer_risk``: what a Wh sold and not delivered loses (the import price
    it is bought in at, less the price received). The floors (what every day
    of the history used, `floor_quantities`) are the most likely to be used,
    so they take the budget first and the rest of each order what is left;
    but history is not certain, so floors are at risk like any other Wh
    (issue 17: seed 6444, 6 homes, September: a battery home's floor offer of
    51 Wh, its only trade of the month, not delivered)."""
    b, o = np.asarray(bid_wh, dtype=np.int64), np.asarray(offer_wh, dtype=np.int64)
    fb = np.minimum(np.asarray(bid_floor, dtype=np.int64), b)
    fo = np.minimum(np.asarray(offer_floor, dtype=np.int64), o)
    rb_, ro_ = np.maximum(bid_risk, 0), np.maximum(offer_risk, 0)
    room = np.maximum(np.asarray(budget, dtype=np.float64), 0.0)
    floor_worst = (fb * rb_ + fo * ro_).sum(axis=0)
    s_floor = np.where(floor_worst > room, room / np.maximum(floor_worst, 1), 1.0)
    fb = np.floor(fb * s_floor).astype(np.int64)
    fo = np.floor(fo * s_floor).astype(np.int64)
    room = np.maximum(room - (fb * rb_ + fo * ro_).sum(axis=0), 0.0)
    ab, ao = b - fb, o - fo
    worst = (ab * rb_ + ao * ro_).sum(axis=0)
    scale = np.where(worst > room, room / np.maximum(worst, 1), 1.0)
    return fb + np.floor(ab * scale).astype(np.int64), fo + np.floor(ao * scale).astype(np.int64)


def unit_risk(*, bid_price, offer_price, import_price, export_price, fee_fraction=0.0):
    """(a bid's, an offer's) worst loss per Wh traded, in the unit of the
    prices (ticks: micro-pence per Wh), never below 0: a Wh bought at
    ``bid_price`` (the fee added) and not used is sold back at the export
    price; a Wh sold at ``offer_price`` (the fee taken) and not delivered is
    bought in at the import price. The ``bid_risk`` / ``offer_risk`` of
    `within_budget`, and the worst case of trades not yet metered."""
    bp = np.asarray(bid_price, dtype=np.float64)
    op = np.asarray(offer_price, dtype=np.float64)
    return (
        np.maximum(bp * (1 + fee_fraction) - export_price, 0.0),
        np.maximum(import_price - op * (1 - fee_fraction), 0.0),
    )


def worth_trading_today(expected_day_gain_micro, day_fee_micro) -> np.ndarray:
    """A household pays the membership fee for each day it trades (pro rata,
    `lem.domain.fees`), so its agent trades on a day only if the day's
    expected gain covers that day's share of the fee."""
    return np.asarray(expected_day_gain_micro) > np.asarray(day_fee_micro)


def agent_prices(
    *, import_price: Decimal, export_price: Decimal, limits: AgentLimits, floor: Decimal, cap: Decimal
) -> tuple[Decimal, Decimal]:
    """(bid price, offer price), p/kWh to 3 dp."""
    step = ((import_price - export_price) / 3).quantize(Decimal("0.001"))
    bid_price = min(import_price - step, limits.max_buy, cap)
    offer_price = max(export_price + step, limits.min_sell, floor)
    return bid_price.quantize(Decimal("0.001")), offer_price.quantize(Decimal("0.001"))


def agent_orders(
    *,
    net_wh: int,
    import_price: Decimal,
    export_price: Decimal,
    limits: AgentLimits,
    floor: Decimal,
    cap: Decimal,
    battery_soc_wh: int = 0,
    battery_capacity_wh: int = 0,
    battery_power_w: int = 0,
    period_minutes: int = 30,
    min_order_wh: int = 10,
    history_net_wh: Sequence[int] | None = None,
    mechanism: str = "uniform",
    match_tariff: Decimal | None = None,
    fee_pct: Decimal = Decimal("0"),
) -> list[AgentOrder]:
    """The orders for one period.

    With ``history_net_wh`` (net import at the same time of day on past days)
    quantities are the newsvendor quantiles of that history; without it, the
    point forecast ``net_wh``. ``mechanism``/``match_tariff``: the market's,
    for the price a trade is expected at (`expected_local_prices`);
    ``fee_pct``: the market's percentage fee on each side."""
    bid_price, offer_price = agent_prices(
        import_price=import_price, export_price=export_price, limits=limits, floor=floor, cap=cap
    )
    spare = _battery_spare(battery_soc_wh, battery_capacity_wh, battery_power_w, limits, period_minutes)
    if history_net_wh:
        bid_local, offer_local = expected_local_prices(
            mechanism=mechanism,
            bid_price=float(bid_price),
            offer_price=float(offer_price),
            match_tariff=None if match_tariff is None else float(match_tariff),
            fee_fraction=float(fee_pct) / 100,
        )
        q_bid, q_offer = newsvendor_ratios(
            import_price=import_price, export_price=export_price, bid_local=bid_local, offer_local=offer_local
        )
        bid, offer = quantile_quantities(np.asarray(history_net_wh), q_bid, q_offer)
        buy_wh, sell_wh = int(bid[0]), int(offer[0])
        idle = buy_wh == 0 and sell_wh == 0 and forecast_net_wh(history_net_wh, annual_kwh=None, periods_per_day=1) == 0
    else:
        buy_wh, sell_wh = max(net_wh, 0), max(-net_wh, 0)
        idle = net_wh == 0
    out: list[AgentOrder] = []
    if buy_wh > 0:
        # battery first covers the need it can, above the reserve
        need = buy_wh - min(spare, buy_wh)
        if need >= min_order_wh and bid_price >= floor:
            out.append(AgentOrder("bid", need, bid_price))
    elif sell_wh > 0:
        if sell_wh >= min_order_wh and offer_price <= cap:
            out.append(AgentOrder("offer", sell_wh, offer_price, "solar"))
    elif idle and spare >= min_order_wh and offer_price <= cap:
        out.append(AgentOrder("offer", spare, offer_price, "battery"))
    return out


def _battery_spare(soc_wh, capacity_wh, power_w, limits: AgentLimits, period_minutes) -> int:
    if capacity_wh <= 0:
        return 0
    reserve = capacity_wh * limits.battery_reserve_pct // 100
    by_power = power_w * period_minutes // 60
    return max(0, min(soc_wh - reserve, by_power))


@dataclass(frozen=True)
class OrderPreview:
    """What an order would mean for the household, against the supplier alone
    (pence, float; quantities Wh). ``best``: every Wh traded at the limit and
    used / delivered; ``worst``: traded at the limit, none of it used (a bid:
    sold back at the export price) or none delivered (an offer: bought in at
    the import price)."""

    side: str
    quantity_wh: int
    local_pence: float  # at the limit price
    supplier_pence: float  # the same energy with the supplier alone
    best_pence: float  # gain (+) if all used / delivered
    worst_pence: float  # gain (+) or loss (-) if none used / delivered
    typical_wh: int | None  # what the home imported / exported at this time on recent days (median)
    warnings: tuple[str, ...]


def order_preview(
    *,
    side: str,
    quantity_wh: int,
    price: Decimal,
    import_price: Decimal,
    export_price: Decimal,
    history_net_wh: Sequence[int] = (),
) -> OrderPreview:
    """Before a household places an order: what it would cost against the
    supplier alone, and a warning when it could come out worse (issue 15)."""
    kwh = quantity_wh / 1000
    p, imp, exp = float(price), float(import_price), float(export_price)
    warnings = []
    typical = None
    if history_net_wh:
        h = np.asarray(history_net_wh, dtype=float)
        typical = int(np.median(np.maximum(h, 0) if side == "bid" else np.maximum(-h, 0)))
    if side == "bid":
        local, supplier = kwh * p, kwh * imp
        best, worst = supplier - local, kwh * (exp - p)
        if p >= imp:
            warnings.append(
                f"Your limit of {p:g} p/kWh is at or above the supplier's {imp:g} p/kWh: "
                "bought locally, this energy could cost more than the supplier alone."
            )
        if typical is not None and quantity_wh > typical:
            warnings.append(
                f"Your home usually imports about {typical / 1000:,.2f} kWh in this half-hour; "
                f"what you buy and do not use is sold back at {exp:g} p/kWh, "
                f"so this order could cost you up to £{-worst / 100:,.2f} more than the supplier alone."
            )
    else:
        local, supplier = kwh * p, kwh * exp
        best, worst = local - supplier, kwh * (p - imp)
        if p <= exp:
            warnings.append(
                f"Your limit of {p:g} p/kWh is at or below the supplier's export price of {exp:g} p/kWh: "
                "selling locally could earn less than exporting."
            )
        if typical is not None and quantity_wh > typical:
            warnings.append(
                f"Your home usually exports about {typical / 1000:,.2f} kWh in this half-hour; "
                f"what you sell and do not deliver is bought in at {imp:g} p/kWh, "
                f"so this order could cost you up to £{-worst / 100:,.2f} more than the supplier alone."
            )
    return OrderPreview(side, quantity_wh, local, supplier, best, worst, typical, tuple(warnings))
