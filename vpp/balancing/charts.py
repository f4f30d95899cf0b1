"""Plotly figures for the grid pages (kW in charts only; the data stay W)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from community.charts import base_layout, fig_html

PLAN, ACTUAL, LIMIT, BATTERY, PV = "#7c3aed", "#0f766e", "#dc2626", "#2563eb", "#d97706"


def schedule_vs_actual(schedule, steps, tz: str, *, hours_back: int = 3, now=None) -> str:
    """The plan's net position per quarter-hour against the measured minute by minute, with the limits."""
    z = ZoneInfo(tz)
    fig = go.Figure()
    if schedule is not None and schedule.net_w:
        xs = [
            (schedule.starts_at + timedelta(minutes=schedule.step_minutes * i)).astimezone(z)
            for i in range(len(schedule.net_w))
        ]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[v / 1000 for v in schedule.net_w],
                name="schedule",
                mode="lines",
                line=dict(color=PLAN, width=2, shape="hv"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[v / 1000 for v in schedule.import_limit_w],
                name="import limit",
                mode="lines",
                line=dict(color=LIMIT, width=1, dash="dash", shape="hv"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[-v / 1000 for v in schedule.export_limit_w],
                name="export limit",
                mode="lines",
                line=dict(color=LIMIT, width=1, dash="dot", shape="hv"),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[v / 1000 for v in schedule.pv_w],
                name="PV forecast",
                mode="lines",
                line=dict(color=PV, width=1),
                visible="legendonly",
            )
        )
    xs = [s.at.astimezone(z) for s in steps if s.measured_net_w is not None]
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[s.measured_net_w / 1000 for s in steps if s.measured_net_w is not None],
            name="measured",
            mode="lines",
            line=dict(color=ACTUAL, width=2),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=[s.battery_w / 1000 for s in steps if s.measured_net_w is not None],
            name="batteries",
            mode="lines",
            line=dict(color=BATTERY, width=1),
        )
    )
    fig.update_yaxes(title_text="kW (+ import / − export)", zeroline=True)
    if now is not None:  # the last hours and the next ones: where the controller is working
        fig.update_xaxes(
            range=[(now - timedelta(hours=hours_back)).astimezone(z), (now + timedelta(hours=9)).astimezone(z)]
        )
    return fig_html(base_layout(fig, 320))


def node_loading(flows) -> str:
    """Each node's measured flow as a share of its limit in that direction."""
    names = [f.node.name for f in flows if f.measured_w is not None]
    pct = [round(f.loading_pct or 0, 1) for f in flows if f.measured_w is not None]
    colors = ["#dc2626" if p >= 95 else "#d97706" if p >= 80 else "#0f766e" for p in pct]
    text = [
        f"{f.measured_w / 1000:+.1f} kW of {(f.import_limit_w if f.measured_w >= 0 else f.export_limit_w) / 1000:.0f}"
        for f in flows
        if f.measured_w is not None
    ]
    fig = go.Figure(go.Bar(x=pct, y=names, orientation="h", marker_color=colors, text=text, textposition="auto"))
    fig.update_xaxes(title_text="% of capacity in force", range=[0, max([100, *pct]) * 1.05])
    fig.update_layout(showlegend=False)
    return fig_html(base_layout(fig, 60 + 36 * max(len(names), 1)))
