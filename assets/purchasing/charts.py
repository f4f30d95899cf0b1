"""Plotly figures for the group-buy dashboard (kW only in charts; the data stays in its units)."""

from __future__ import annotations

import plotly.graph_objects as go

from community.charts import base_layout, fig_html

BRAND, MARKET, DONE, HAND, CAP = "#0f766e", "#9ca3af", "#059669", "#d97706", "#2563eb"


def funnel(stats) -> str:
    labels = ["Registered", "Offers", "Accepted", "Installed"]
    values = [stats.registrations, stats.offers, stats.accepted, stats.installed]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=[MARKET, CAP, HAND, DONE],
            text=values,
            textposition="auto",
        )
    )
    base_layout(fig, 220)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="households / offers", gridcolor="#eef2f7")
    return fig_html(fig)


def savings(rows: list[dict]) -> str:
    names = [r["package"].name for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=names, y=[float(r["market_per_unit"]) for r in rows], name="buying alone (£/unit)", marker_color=MARKET
        )
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[float(r["group_per_unit"]) for r in rows],
            name="group price (£/unit)",
            marker_color=BRAND,
            text=[f"−{r['saving_pct']:.0f} %" for r in rows],
            textposition="outside",
        )
    )
    base_layout(fig, 260)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="£ per kWp / kWh / kW / charger", gridcolor="#eef2f7")
    return fig_html(fig)


def installed_kw(points) -> str:
    fig = go.Figure(
        go.Scatter(
            x=[p[0] for p in points], y=[p[1] for p in points], mode="lines+markers", line=dict(color=DONE, shape="hv")
        )
    )
    base_layout(fig, 240)
    fig.update_yaxes(title="installed PV, kWp", gridcolor="#eef2f7", rangemode="tozero")
    return fig_html(fig)


def installer_progress(rows: list[dict]) -> str:
    names = [r["installer"].company for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r["done"] for r in rows], name="installed", marker_color=DONE))
    fig.add_trace(go.Bar(x=names, y=[r["in_hand"] for r in rows], name="in hand", marker_color=HAND))
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[r["capacity"] for r in rows],
            name="capacity to date",
            mode="markers",
            marker=dict(symbol="line-ew-open", size=36, color=CAP, line=dict(width=3, color=CAP)),
        )
    )
    base_layout(fig, 260)
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="installations", gridcolor="#eef2f7", rangemode="tozero")
    return fig_html(fig)
