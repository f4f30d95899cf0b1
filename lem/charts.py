"""Plotly figures for the market pages (kWh and p/kWh in charts; the data stays Wh and Decimal).

Drawn through community.charts (``base_layout`` + ``fig_html``), so dates read in UK
time, the x-axis starts at the first period and value axes include zero."""

from __future__ import annotations

from datetime import datetime

import plotly.graph_objects as go

from community.charts import base_layout, fig_html, memo_html
from lem.models import ClearingRun, Participant, Trade

TRADED, PRICE, BOUGHT, SOLD = "#9ccfd8", "#0f766e", "#2b7a78", "#f4a259"


def recent_prices(runs: list[ClearingRun]) -> str:
    """Energy traded (bars) and the clearing price (line) of the recent cleared periods."""
    pts = sorted(
        (r.period_start, float(r.clearing_price), r.volume_wh / 1000) for r in runs if r.clearing_price is not None
    )
    if not pts:
        return ""
    return memo_html("lem-prices", pts, lambda: _recent_prices(pts))


def _recent_prices(pts: list[tuple]) -> str:
    x = [p[0] for p in pts]
    fig = go.Figure()
    fig.add_bar(x=x, y=[round(p[2], 1) for p in pts], name="traded (kWh)", marker_color=TRADED)
    fig.add_scatter(
        x=x, y=[p[1] for p in pts], name="clearing price (p/kWh)", yaxis="y2", mode="lines+markers", line_color=PRICE
    )
    base_layout(fig, 300)
    fig.update_layout(
        xaxis=dict(title="delivery period (UK time)"),
        yaxis=dict(title="kWh traded"),
        yaxis2=dict(title="p/kWh", overlaying="y", side="right", rangemode="tozero", showgrid=False),
    )
    return fig_html(fig)


def my_trades(participant: Participant, trades: list[Trade]) -> str:
    """A household's energy bought (up) and sold (down) per period, and the price it traded at."""
    per: dict[datetime, dict] = {}
    for t in trades:
        d = per.setdefault(t.period_start, {"bought": 0, "sold": 0, "price": None})
        if t.buyer_id == participant.pk:
            d["bought"] += t.quantity_wh
            d["price"] = float(t.buyer_price)
        else:
            d["sold"] += t.quantity_wh
            d["price"] = float(t.seller_price)
    xs = sorted(per)
    fig = go.Figure()
    fig.add_bar(x=xs, y=[per[x]["bought"] / 1000 for x in xs], name="bought (kWh)", marker_color=BOUGHT)
    fig.add_bar(x=xs, y=[-per[x]["sold"] / 1000 for x in xs], name="sold (kWh)", marker_color=SOLD)
    fig.add_scatter(
        x=xs, y=[per[x]["price"] for x in xs], name="price (p/kWh)", yaxis="y2", mode="lines+markers", line_color=PRICE
    )
    base_layout(fig, 320)
    fig.update_layout(
        barmode="relative",
        xaxis=dict(title="delivery period (UK time)"),
        yaxis=dict(title="kWh (sold below zero)"),
        yaxis2=dict(title="p/kWh", overlaying="y", side="right", rangemode="tozero", showgrid=False),
    )
    return fig_html(fig)
