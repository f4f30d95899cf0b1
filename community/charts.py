"""Plotly figures for community pages, and what every app's charts share (issue 15).

Every figure of every app goes to the page through ``fig_html``, which first applies
``tidy``: dates on the x-axis in UK time, the x-axis from the first data point to the
last (not hours before), a title on every date axis, value axes that include zero
(a flat price of 21.333 p reads as flat, not as a swing between 20.333 and 22.333),
hover values rounded to what the numbers mean, and the legend above the plot, never
over the date labels. A builder that sets a range, a rangemode or a title itself keeps
it. plotly.js comes from our static files; ``register_plotly_template`` sets the look.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import plotly.graph_objects as go

from community.cache import cached

PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#059669", "#dc2626", "#4b5563"]
SYMBOLS = {"Home": "circle", "School": "star", "Community building": "diamond", "Business": "square"}


LONDON = ZoneInfo("Europe/London")
LEGEND_ABOVE = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0)


def fig_html(fig: go.Figure) -> str:
    tidy(fig)
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
        legend=LEGEND_ABOVE,
    )
    return fig


def _is_date(v) -> bool:
    return isinstance(v, datetime | date)


def _uk(v):
    """A datetime as UK wall-clock time (plotly.js ignores offsets: it would show UTC in summer)."""
    if isinstance(v, datetime) and v.tzinfo is not None:
        return v.astimezone(LONDON).replace(tzinfo=None)
    return v


def _axis_key(ref: str | None, letter: str) -> str:
    """A trace's axis reference ('x', 'y2') -> its layout key ('xaxis', 'yaxis2')."""
    ref = ref or letter
    return f"{letter}axis{ref[1:]}"


def _as_datetime(v) -> datetime:
    return v if isinstance(v, datetime) else datetime.combine(v, time())


def _plotted(xs, ys) -> list[datetime]:
    """The x of the points that have a value (a gap is not data), as datetimes."""
    pairs = zip(xs, ys, strict=False) if ys is not None else ((x, 0) for x in xs)
    return [_as_datetime(x) for x, y in pairs if _is_date(x) and y is not None]


def value_format(values) -> str:
    """A d3 format for numbers of this size: 132.2345 -> '132.2', 1,396,159 -> '1,396,159', 0.0423 -> '0.042'."""
    biggest = max((abs(v) for v in values if isinstance(v, int | float)), default=0)
    if biggest >= 1000:
        return ",.0f"
    if biggest >= 10:
        return ",.1f"
    if biggest >= 1:
        return ",.2f"
    return ",.3~f"


def tidy(fig: go.Figure) -> go.Figure:
    """Apply the shared chart rules (module docstring) to a finished figure, in place."""
    layout = fig.layout
    if layout.legend.y is not None and layout.legend.y < 0:
        fig.update_layout(legend=LEGEND_ABOVE)  # below the plot it sits on the date labels
    spans: dict[str, list] = {}
    pads: dict[str, timedelta] = {}
    values: dict[str, list] = {}
    for trace in fig.data:
        if trace.type not in ("scatter", "bar", "scattergl"):
            continue
        horizontal = getattr(trace, "orientation", None) == "h"
        xs, ys = trace.x, trace.y
        value_axis = _axis_key(trace.xaxis, "x") if horizontal else _axis_key(trace.yaxis, "y")
        values.setdefault(value_axis, []).extend((xs if horizontal else ys) or [])
        if horizontal or not xs or not any(_is_date(x) for x in xs[:5]):
            continue
        if any(isinstance(x, datetime) and x.tzinfo is not None for x in xs):
            trace.x = xs = [_uk(x) for x in xs]
        key = _axis_key(trace.xaxis, "x")
        spans.setdefault(key, []).extend(_plotted(xs, ys))
        if trace.type == "bar":
            # bars are centred on x: the axis starts at the first bar's left edge
            ordered = sorted(_as_datetime(x) for x in xs if _is_date(x))
            gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b > a]
            width = min(gaps) if gaps else timedelta(minutes=30)
            pads[key] = max(pads.get(key, timedelta(0)), width / 2)
    for key, xs in spans.items():
        axis = layout[key]
        if not xs:
            continue
        lo, hi = min(xs), max(xs)
        if axis.range is None and axis.autorange in (None, True):
            pad = pads.get(key) or (timedelta(minutes=15) if lo == hi else timedelta(0))
            axis.range = [lo - pad, hi + pad]
        if not axis.title.text:
            axis.title.text = "time (UK)" if hi - lo <= timedelta(days=2) else "date"
    for key, vals in values.items():
        axis = layout[key]
        if not axis.hoverformat:
            axis.hoverformat = value_format(vals)
        if key.startswith("y") and axis.range is None and axis.rangemode is None:
            axis.rangemode = "tozero"
        if axis.overlaying and axis.tickmode is None:
            # plotly.js "syncs" an overlaid axis to the first one's grid: 6.03, 12.06, 18.08 p
            axis.tickmode = "auto"
            axis.showgrid = False
    return fig


def memo_html(kind: str, inputs: object, build: Callable[[], str], *, ttl: int = 600) -> str:
    """A chart's HTML kept by the content it draws: the key is a hash of ``inputs`` (plain
    data: numbers, strings, dates), so new data is a new key and a hit is never stale.
    Building a plotly figure costs 20-50 ms of CPU; most charts change once a period."""
    digest = hashlib.sha256(repr(inputs).encode()).hexdigest()[:32]
    return cached(f"cem:chart:v1:{kind}:{digest}", build, ttl=ttl)


def site_map(points: list[dict]) -> str:
    """Sites on a lat/lon scatter (no map tiles: the platform works offline)."""
    return memo_html("site-map", points, lambda: _site_map(points))


def _site_map(points: list[dict]) -> str:
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
    # merged once here: a "plotly_white+cem" default would be merged again for every figure (~0.3 s each);
    # only the layout is kept: every chart embeds its template, and the per-trace defaults of
    # 24 trace types we do not draw were 4 KB of each chart's HTML
    merged = pio.templates.merge_templates(pio.templates["plotly_white"], cem)
    pio.templates["cem"] = go.layout.Template(layout=merged.layout)
    pio.templates.default = "cem"
