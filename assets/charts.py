"""Plotly figures for energy pages (kW / kWh in charts only; the data stays Wh)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from assets.selectors import EnergySeries
from community.charts import base_layout, fig_html

LONDON = ZoneInfo("Europe/London")
IMPORT, EXPORT, GEN, DEMAND = "#dc2626", "#2563eb", "#d97706", "#0f766e"


def _kw(values, minutes):
    """Wh per period -> average kW; None stays None (a gap shows as a gap)."""
    return [None if v is None else round(v / 1000 * 60 / minutes, 3) for v in values]


def site_day(series: EnergySeries, minutes: int = 30) -> str:
    x = [s.astimezone(LONDON) for s in series.starts]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=_kw(series.imported, minutes), name="import", marker_color=IMPORT))
    fig.add_trace(
        go.Bar(
            x=x,
            y=[None if v is None else -v for v in _kw(series.exported, minutes)],
            name="export",
            marker_color=EXPORT,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_kw(series.generated, minutes),
            name="generation",
            mode="lines",
            line=dict(color=GEN, width=2),
            connectgaps=False,
        )
    )
    base_layout(fig, 300)
    fig.update_layout(barmode="relative")
    fig.update_yaxes(title="kW (average per half-hour)", gridcolor="#eef2f7", zerolinecolor="#9ca3af")
    fig.update_xaxes(title="time (UK)", tickformat="%H:%M")
    return fig_html(fig)


def generation_vs_demand(series: EnergySeries, minutes: int = 30, height: int = 280) -> str:
    x = [s.astimezone(LONDON) for s in series.starts]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_kw(series.demand, minutes),
            name="demand",
            mode="lines",
            line=dict(color=DEMAND, width=2),
            connectgaps=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=_kw(series.generated, minutes),
            name="local generation",
            mode="lines",
            fill="tozeroy",
            line=dict(color=GEN, width=1.5),
            connectgaps=False,
        )
    )
    base_layout(fig, height)
    fig.update_xaxes(title="time (UK)", tickformat="%H:%M")
    fig.update_yaxes(title="kW", gridcolor="#eef2f7", rangemode="tozero")
    return fig_html(fig)


def daily_totals(days: list[dict]) -> str:
    """days: [{"day": date, "demand_wh", "generated_wh"}]"""
    fig = go.Figure()
    x = [d["day"].strftime("%a %d") for d in days]
    fig.add_trace(
        go.Bar(x=x, y=[round((d["demand_wh"] or 0) / 1000, 1) for d in days], name="demand", marker_color=DEMAND)
    )
    fig.add_trace(
        go.Bar(
            x=x, y=[round((d["generated_wh"] or 0) / 1000, 1) for d in days], name="local generation", marker_color=GEN
        )
    )
    base_layout(fig, 260)
    fig.update_xaxes(title="day")
    fig.update_yaxes(title="kWh", gridcolor="#eef2f7", rangemode="tozero")
    return fig_html(fig)
