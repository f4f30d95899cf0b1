"""Plotly figures for the marketplace's funder pages (HTML fragments; plotly.js from our static files)."""

from __future__ import annotations

import plotly.graph_objects as go

from community.charts import PALETTE, base_layout, fig_html

STATUS_ORDER = [
    ("submitted", "Submitted"),
    ("in_review", "In review"),
    ("approved", "Approved"),
    ("declined", "Declined"),
    ("withdrawn", "Withdrawn"),
]


def pipeline_bars(counts: dict[str, int]) -> str:
    labels = [label for key, label in STATUS_ORDER]
    values = [counts.get(key, 0) for key, _ in STATUS_ORDER]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=PALETTE[: len(labels)],
            text=values,
            textposition="auto",
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    base_layout(fig, 240)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="proposals", gridcolor="#eef2f7")
    return fig_html(fig)


def score_histogram(scores: list[float]) -> str:
    fig = go.Figure(
        go.Histogram(
            x=scores,
            xbins=dict(start=0, end=100, size=5),
            marker_color=PALETTE[1],
            hovertemplate="%{x}%: %{y} proposals<extra></extra>",
        )
    )
    base_layout(fig, 240)
    fig.update_xaxes(title="average weighted score (%)", range=[0, 100])
    fig.update_yaxes(title="proposals", gridcolor="#eef2f7")
    return fig_html(fig)


def spend_against_budget(rows: list[dict]) -> str:
    names = [r["call"].title[:30] for r in rows]
    fig = go.Figure()
    for key, label, color in (
        ("budget", "Budget", "#cbd5e1"),
        ("awarded", "Awarded", PALETTE[0]),
        ("paid", "Paid", PALETTE[2]),
    ):
        fig.add_trace(
            go.Bar(
                name=label,
                x=names,
                y=[float(r[key]) for r in rows],
                marker_color=color,
                hovertemplate=f"{label}: £%{{y:,.2f}}<extra></extra>",
            )
        )
    base_layout(fig, 300)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="£", gridcolor="#eef2f7")
    return fig_html(fig)


def campaign_progress(raised: float, matched: float, target: float) -> str:
    fig = go.Figure()
    fig.add_trace(go.Bar(name="Pledged", y=["Raised"], x=[raised], orientation="h", marker_color=PALETTE[0]))
    fig.add_trace(go.Bar(name="Match funding", y=["Raised"], x=[matched], orientation="h", marker_color=PALETTE[2]))
    fig.add_vline(x=target, line_dash="dash", line_color="#111827", annotation_text="target")
    base_layout(fig, 140)
    fig.update_layout(barmode="stack", margin=dict(l=10, r=10, t=24, b=30))
    fig.update_yaxes(visible=False)
    fig.update_xaxes(title="£", range=[0, max(target, raised + matched) * 1.1])
    return fig_html(fig)
