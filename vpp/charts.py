"""Plotly figures for the VPP pages (kW in charts; the data stays W / Wh)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from community.charts import PALETTE, base_layout, fig_html

LONDON = ZoneInfo("Europe/London")
TARGET, PLAN, SENT, MEASURED = "#dc2626", "#2563eb", "#7c3aed", "#0f766e"
BASELINE_COLOURS = {"dfs": "#d97706", "dfs_adjusted": "#db2777", "meter_before": "#4b5563"}
BASELINE_NAMES = {
    "dfs": "DFS baseline",
    "dfs_adjusted": "DFS + in-day adjustment",
    "meter_before": "meter before event",
}


def _mid(starts):
    """Bars and points at the middle of their period, so a half-hour reads as one."""
    half = (starts[1] - starts[0]) / 2 if len(starts) > 1 else timedelta(minutes=15)
    return [(s + half).astimezone(LONDON) for s in starts]


def _kw(values):
    return [None if v is None else round(v / 1000, 2) for v in values]


def forecast_by_node(rows, starts) -> str:
    """P10-P90 band and P50 line of flexibility per node over the next 48 h."""
    x = [s.astimezone(LONDON) for s in starts]
    fig = go.Figure()
    for i, (node, f) in enumerate(rows):
        c = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(x=x, y=_kw(f.p90), mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_kw(f.p10),
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor=_alpha(c),
                name=f"{node.name} P10–P90",
                hovertemplate="%{y} kW (P10)<extra></extra>",
            )
        )
        fig.add_trace(go.Scatter(x=x, y=_kw(f.p50), mode="lines", line=dict(color=c, width=2), name=f"{node.name} P50"))
    base_layout(fig, 340)
    fig.update_xaxes(title="time (UK)")
    fig.update_yaxes(title="kW of turn-down", rangemode="tozero")
    return fig_html(fig)


def _alpha(hex_colour: str, a: float = 0.18) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{a})"


def event_tracking(t: dict) -> str:
    """Target, plan, commands sent and (after the meters report) delivery against the settling baseline."""
    x = _mid(t["starts"])
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=_kw(t["planned_w"]), name="planned", marker_color=PLAN, opacity=0.5))
    fig.add_trace(go.Bar(x=x, y=_kw(t["sent_w"]), name="commanded", marker_color=SENT, opacity=0.7))
    if any(v is not None for v in t["measured_w"]):
        fig.add_trace(go.Bar(x=x, y=_kw(t["measured_w"]), name="delivered (meters)", marker_color=MEASURED))
    fig.add_trace(
        go.Scatter(
            x=x, y=_kw(t["target_w"]), name="buyer's target", mode="lines+markers", line=dict(color=TARGET, dash="dash")
        )
    )
    base_layout(fig, 320)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title="half-hour of the event (UK time)")
    fig.update_yaxes(title="kW", rangemode="tozero")
    return fig_html(fig)


def baselines(starts, baselines_w: dict, actual_w: list, settling: str) -> str:
    """Every baseline side by side with the metered actual (kW, summed over households)."""
    x = _mid(starts)
    fig = go.Figure()
    for m, vals in baselines_w.items():
        fig.add_trace(
            go.Scatter(
                x=x,
                y=_kw(vals),
                mode="lines+markers",
                name=BASELINE_NAMES.get(m, m) + (" (settles)" if m == settling else ""),
                line=dict(
                    color=BASELINE_COLOURS.get(m),
                    width=3 if m == settling else 1.5,
                    dash=None if m == settling else "dot",
                ),
            )
        )
    fig.add_trace(go.Bar(x=x, y=_kw(actual_w), name="actual (meters)", marker_color=MEASURED, opacity=0.6))
    base_layout(fig, 300)
    fig.update_xaxes(title="half-hour of the event (UK time)")
    fig.update_yaxes(title="kW", rangemode="tozero")
    return fig_html(fig)


def household_event(starts, delivery) -> str:
    x = _mid(starts)
    fig = go.Figure()
    factor = 2  # Wh per half-hour -> W
    m = delivery.settling_method
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[round(v * factor / 1000, 2) for v in delivery.baselines.get(m, [])],
            name="your usual (baseline)",
            mode="lines+markers",
            line=dict(color=BASELINE_COLOURS.get(m)),
        )
    )
    fig.add_trace(
        go.Bar(
            x=x,
            y=[None if v is None else round(v * factor / 1000, 2) for v in delivery.actual_wh],
            name="what you used",
            marker_color=MEASURED,
        )
    )
    base_layout(fig, 220)
    fig.update_xaxes(title="half-hour of the event (UK time)")
    fig.update_yaxes(title="kW", rangemode="tozero")
    return fig_html(fig)
