"""Plotly figures for the marketplace's funder and campaign pages.

The figures are written as plotly.js JSON directly (data + layout, the same
schema ``plotly.graph_objects`` would produce) rather than through
``go.Figure``: building and validating a Figure costs ~0.1 s a chart, which
alone would take the funder's pipeline page past its 300 ms budget (issue 12).
plotly.js comes from our static files (base template).
"""

from __future__ import annotations

import json
import uuid

from community.charts import PALETTE

STATUS_ORDER = [
    ("submitted", "Submitted"),
    ("in_review", "In review"),
    ("approved", "Approved"),
    ("declined", "Declined"),
    ("withdrawn", "Withdrawn"),
]
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1f2937"}
CONFIG = {"displayModeBar": False, "responsive": True}


def _layout(height: int, **extra) -> dict:
    layout = {
        "height": height,
        "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": FONT,
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    }
    layout.update(extra)
    return layout


def plot_html(data: list[dict], layout: dict) -> str:
    """A div and the one call that draws it (what ``fig.to_html(full_html=False, include_plotlyjs=False)`` emits)."""
    div = f"mkt-{uuid.uuid4().hex[:12]}"
    payload = ", ".join(json.dumps(x, separators=(",", ":")).replace("</", "<\\/") for x in (data, layout, CONFIG))
    return (
        f'<div id="{div}" class="plotly-graph-div" style="height:{layout["height"]}px; width:100%;"></div>'
        f'<script type="text/javascript">window.PLOTLYENV=window.PLOTLYENV || {{}};'
        f'if (document.getElementById("{div}")) {{ Plotly.newPlot("{div}", {payload}); }}</script>'
    )


def pipeline_bars(counts: dict[str, int]) -> str:
    labels = [label for _, label in STATUS_ORDER]
    values = [counts.get(key, 0) for key, _ in STATUS_ORDER]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": values,
            "y": labels,
            "text": values,
            "textposition": "auto",
            "marker": {"color": PALETTE[: len(labels)]},
            "hovertemplate": "%{y}: %{x}<extra></extra>",
        }
    ]
    layout = _layout(
        240,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"title": {"text": "proposals"}, "gridcolor": "#eef2f7"},
    )
    return plot_html(data, layout)


def score_histogram(scores: list[float]) -> str:
    data = [
        {
            "type": "histogram",
            "x": [round(s, 1) for s in scores],
            "xbins": {"start": 0, "end": 100, "size": 5},
            "marker": {"color": PALETTE[1]},
            "hovertemplate": "%{x}%: %{y} proposals<extra></extra>",
        }
    ]
    layout = _layout(
        240,
        xaxis={"title": {"text": "average weighted score (%)"}, "range": [0, 100]},
        yaxis={"title": {"text": "proposals"}, "gridcolor": "#eef2f7"},
    )
    return plot_html(data, layout)


def spend_against_budget(rows: list[dict]) -> str:
    names = [r["call"].title[:30] for r in rows]
    data = [
        {
            "type": "bar",
            "name": label,
            "x": names,
            "y": [float(r[key]) for r in rows],
            "marker": {"color": color},
            "hovertemplate": f"{label}: £%{{y:,.2f}}<extra></extra>",
        }
        for key, label, color in (
            ("budget", "Budget", "#cbd5e1"),
            ("awarded", "Awarded", PALETTE[0]),
            ("paid", "Paid", PALETTE[2]),
        )
    ]
    layout = _layout(300, barmode="group", yaxis={"title": {"text": "£"}, "gridcolor": "#eef2f7"})
    return plot_html(data, layout)


def campaign_progress(raised: float, matched: float, target: float) -> str:
    data = [
        {
            "type": "bar",
            "name": "Pledged",
            "y": ["Raised"],
            "x": [raised],
            "orientation": "h",
            "marker": {"color": PALETTE[0]},
            "hovertemplate": "Pledged: £%{x:,.2f}<extra></extra>",
        },
        {
            "type": "bar",
            "name": "Match funding",
            "y": ["Raised"],
            "x": [matched],
            "orientation": "h",
            "marker": {"color": PALETTE[2]},
            "hovertemplate": "Matched: £%{x:,.2f}<extra></extra>",
        },
    ]
    layout = _layout(
        140,
        barmode="stack",
        margin={"l": 10, "r": 10, "t": 24, "b": 30},
        yaxis={"visible": False},
        xaxis={"title": {"text": "£"}, "range": [0, max(target, raised + matched) * 1.1 or 1]},
        shapes=[
            {
                "type": "line",
                "x0": target,
                "x1": target,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dash", "color": "#111827"},
            }
        ],
        annotations=[{"x": target, "yref": "paper", "y": 1, "text": "target", "showarrow": False, "yanchor": "bottom"}],
    )
    return plot_html(data, layout)
