"""The household trading agent: forecast a site's next period, then bid/offer
within the limits the household set. Pure: history and prices in, orders out.

Forecast: the mean net import of the same time of day over the last days of
metered history (seasonal naive), which is what a half-hourly smart-meter
history supports; with no history, the site's annual consumption spread
evenly. Battery: energy above the household's evening reserve may be offered,
limited by the battery's power over the period.

Prices: the agent bids below the supplier's import tariff and offers above
its export price (a local trade only makes sense between the two), a third
of the spread in from each end, clipped to the household's own limits
(``max_buy`` / ``min_sell``) and the market's floor and cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


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
) -> list[AgentOrder]:
    spread = import_price - export_price
    step = (spread / 3).quantize(Decimal("0.001"))
    bid_price = min(import_price - step, limits.max_buy, cap)
    offer_price = max(export_price + step, limits.min_sell, floor)
    out: list[AgentOrder] = []
    if net_wh > 0:
        # battery first covers the need it can, above the reserve
        spare = _battery_spare(battery_soc_wh, battery_capacity_wh, battery_power_w, limits, period_minutes)
        need = net_wh - min(spare, net_wh)
        if need >= min_order_wh and bid_price >= floor:
            out.append(AgentOrder("bid", need, bid_price.quantize(Decimal("0.001"))))
    elif net_wh < 0:
        if -net_wh >= min_order_wh and offer_price <= cap:
            out.append(AgentOrder("offer", -net_wh, offer_price.quantize(Decimal("0.001")), "solar"))
    else:
        spare = _battery_spare(battery_soc_wh, battery_capacity_wh, battery_power_w, limits, period_minutes)
        if spare >= min_order_wh and offer_price <= cap:
            out.append(AgentOrder("offer", spare, offer_price.quantize(Decimal("0.001")), "battery"))
    return out


def _battery_spare(soc_wh, capacity_wh, power_w, limits: AgentLimits, period_minutes) -> int:
    if capacity_wh <= 0:
        return 0
    reserve = capacity_wh * limits.battery_reserve_pct // 100
    by_power = power_w * period_minutes // 60
    return max(0, min(soc_wh - reserve, by_power))
