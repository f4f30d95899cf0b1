"""Plotly figures for community pages (rendered to HTML fragments; plotly.js comes from our static files)."""

from __future__ import annotations

import plotly.graph_objects as go

PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#059669", "#dc2626", "#4b5563"]
SYMBOLS = {"Home": "circle", "School": "star", "Community building": "diamond", "Business": "square"}


def fig_html(fig: go.Figure) -> str:
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        config={"displayModeBar": False, "responsive": True},
        default_height="100%",
        default_width="100%",
    )


def base_layout(fig: go.Figure, height: int = 360) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=40, r=10, t=10, b=40),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12, color="#1f2937"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig


def site_map(points: list[dict]) -> str:
    """Sites on a lat/lon scatter (no map tiles: the platform works offline)."""
    fig = go.Figure()
    feeders = sorted({p["feeder"] for p in points})
    for i, feeder in enumerate(feeders):
        pts = [p for p in points if p["feeder"] == feeder]
        fig.add_trace(
            go.Scatter(
                x=[p["lon"] for p in pts],
                y=[p["lat"] for p in pts],
                mode="markers",
                name=feeder,
                marker=dict(
                    size=[16 if p["kind"] != "Home" else 10 for p in pts],
                    color=PALETTE[i % len(PALETTE)],
                    symbol=[SYMBOLS.get(p["kind"], "circle") for p in pts],
                    line=dict(width=[2 if p["mine"] else 0 for p in pts], color="#111827"),
                ),
                text=[f"{p['label']}<br>{p['kind']} · {p['feeder']}" for p in pts],
                hoverinfo="text",
            )
        )
    base_layout(fig, 380)
    # a place, not a quantity: the axes span the sites, not from zero
    fig.update_xaxes(title="longitude", showgrid=True, gridcolor="#eef2f7", zeroline=False, rangemode="normal")
    fig.update_yaxes(
        title="latitude",
        showgrid=True,
        gridcolor="#eef2f7",
        zeroline=False,
        scaleanchor="x",
        scaleratio=1.6,
        rangemode="normal",
    )
    return fig_html(fig)


def register_plotly_template() -> None:
    """One look for every chart of every app (issue 15), as plotly's default template:
    the legend above the plot (never over the date labels), axes that make room for their
    labels and titles, value axes that start from zero (a flat price of 21.3 p reads as
    flat, not as a swing between 20.3 and 22.3) and thousands separators. A figure may
    still set any of these itself."""
    import plotly.io as pio

    if "cem" in pio.templates:
        return
    axis = dict(automargin=True, separatethousands=True, gridcolor="#eef2f7", zeroline=False)
    cem = go.layout.Template(
        layout=go.Layout(
            colorway=PALETTE,
            font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12, color="#1f2937"),
            legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
            margin=dict(t=36),
            xaxis={**axis, "title": dict(standoff=6)},
            yaxis={**axis, "rangemode": "tozero"},
            hoverlabel=dict(namelength=-1),
        )
    )
    # merged once here: a "plotly_white+cem" default would be merged again for every figure (~0.3 s each)
    pio.templates["cem"] = pio.templates.merge_templates(pio.templates["plotly_white"], cem)
    pio.templates.default = "cem"
