"""Plotly figures for the planner's pages (HTML fragments; plotly.js from base.html)."""

from __future__ import annotations

import plotly.graph_objects as go

from community.charts import PALETTE, base_layout, fig_html, memo_html

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TYPE_SYMBOL = {
    "house": "circle",
    "flat": "square",
    "bungalow": "circle-open",
    "school": "star",
    "community": "diamond",
    "office": "triangle-up",
    "retail": "triangle-down",
    "pub": "hexagon",
}


def area_map(points: list[dict]) -> str:
    """Buildings on a lat/lon plane, coloured by feeder (no tiles: works offline)."""
    return memo_html("plan-area-map", points, lambda: _area_map(points))


def _area_map(points: list[dict]) -> str:
    fig = go.Figure()
    for i, node in enumerate(sorted({p["node"] for p in points})):
        pts = [p for p in points if p["node"] == node]
        fig.add_trace(
            go.Scatter(
                x=[p["lon"] for p in pts],
                y=[p["lat"] for p in pts],
                mode="markers",
                name=node,
                marker=dict(
                    size=[14 if p["type"] not in ("house", "flat", "bungalow") else 8 for p in pts],
                    color=PALETTE[i % len(PALETTE)],
                    symbol=[TYPE_SYMBOL.get(p["type"], "circle") for p in pts],
                ),
                text=[f"{p['label']}<br>{p['type']} · {p['node']}" for p in pts],
                hoverinfo="text",
            )
        )
    base_layout(fig, 360)
    fig.update_xaxes(title="longitude", gridcolor="#eef2f7", zeroline=False, rangemode="normal")
    fig.update_yaxes(
        title="latitude", gridcolor="#eef2f7", zeroline=False, scaleanchor="x", scaleratio=1.6, rangemode="normal"
    )
    return fig_html(fig)


def _current_state_key(cs) -> tuple:
    return (cs.elec_appliances_wh, cs.elec_heating_wh, cs.gas_wh, cs.oil_wh, cs.pv_generation_wh, cs.carbon_kg)


def end_use_bars(cs) -> str:
    return memo_html("plan-end-use", _current_state_key(cs), lambda: _end_use_bars(cs))


def _end_use_bars(cs) -> str:
    labels = ["Lights & appliances", "Electric heating", "Gas heating", "Oil heating", "Local solar (generated)"]
    values = [cs.elec_appliances_wh, cs.elec_heating_wh, cs.gas_wh, cs.oil_wh, cs.pv_generation_wh]
    colors = [PALETTE[1], PALETTE[3], PALETTE[2], PALETTE[7], PALETTE[5]]
    fig = go.Figure(
        go.Bar(
            x=[v / 1e6 for v in values],
            y=labels,
            orientation="h",
            marker_color=colors,
            text=[f"{v / 1e6:,.0f} MWh" for v in values],
            textposition="auto",
        )
    )
    base_layout(fig, 280)
    fig.update_layout(margin=dict(l=150, r=10, t=10, b=40))
    fig.update_xaxes(title="MWh per year", hoverformat=",.0f")
    return fig_html(fig)


def carbon_pie(cs) -> str:
    return memo_html("plan-carbon", _current_state_key(cs), lambda: _carbon_pie(cs))


def _carbon_pie(cs) -> str:
    items = [(k.capitalize(), v) for k, v in cs.carbon_kg.items() if v > 0]
    fig = go.Figure(
        go.Pie(
            labels=[k for k, _ in items],
            values=[v / 1000 for _, v in items],
            hole=0.5,
            marker=dict(colors=PALETTE[1:4]),
            texttemplate="%{label}<br>%{value:,.0f} t",
        )
    )
    base_layout(fig, 280)
    fig.update_layout(showlegend=False)
    return fig_html(fig)


def monthly_bars(demand: list[float], generation: list[float], extra: dict | None = None) -> str:
    return memo_html("plan-monthly", (demand, generation, extra), lambda: _monthly_bars(demand, generation, extra))


def _monthly_bars(demand: list[float], generation: list[float], extra: dict | None = None) -> str:
    fig = go.Figure()
    fig.add_trace(go.Bar(x=MONTHS, y=[d / 1000 for d in demand], name="electricity demand", marker_color=PALETTE[1]))
    fig.add_trace(go.Bar(x=MONTHS, y=[g / 1000 for g in generation], name="local generation", marker_color=PALETTE[2]))
    for i, (name, series) in enumerate((extra or {}).items()):
        fig.add_trace(
            go.Scatter(
                x=MONTHS, y=[v / 1000 for v in series], name=name, mode="lines+markers", line=dict(color=PALETTE[4 + i])
            )
        )
    base_layout(fig, 300)
    fig.update_xaxes(title="month")
    fig.update_yaxes(title="MWh")
    return fig_html(fig)


def headroom_bars(rows: list[dict]) -> str:
    rows = [r for r in rows if r["peak_kw"] is not None]
    if not rows:
        return ""
    key = [(r["node"].name, r["peak_kw"], r["headroom_kw"]) for r in rows]
    return memo_html("plan-headroom", key, lambda: _headroom_bars(rows))


def _headroom_bars(rows: list[dict]) -> str:
    names = [r["node"].name for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[float(r["peak_kw"]) for r in rows], name="peak load", marker_color=PALETTE[1]))
    fig.add_trace(
        go.Bar(x=names, y=[max(float(r["headroom_kw"]), 0) for r in rows], name="headroom", marker_color=PALETTE[5])
    )
    fig.update_layout(barmode="stack")
    base_layout(fig, 300)
    fig.update_xaxes(title="network node")
    fig.update_yaxes(title="kW")
    return fig_html(fig)


def scenario_years(result: dict) -> str:
    years = [y["year"] for y in result["years"]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=years,
            y=[float(y["capex_gbp"]) / 1000 for y in result["years"]],
            name="capital spent (£k)",
            marker_color=PALETTE[7],
        )
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=[float(y["net_benefit_gbp"]) / 1000 for y in result["years"]],
            name="net benefit per year (£k)",
            mode="lines+markers",
            line=dict(color=PALETTE[0]),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=[y["carbon_saved_kg"] / 1000 for y in result["years"]],
            name="carbon saved (t/yr)",
            mode="lines",
            yaxis="y2",
            line=dict(color=PALETTE[5], dash="dot"),
        )
    )
    base_layout(fig, 320)
    fig.update_layout(
        xaxis=dict(title="year", tickformat="d", dtick=5 if len(years) > 12 else 1),
        yaxis=dict(title="£ thousand"),
        yaxis2=dict(title="tCO2e a year", overlaying="y", side="right", showgrid=False, tickformat=",.1~f"),
    )
    return fig_html(fig)


def node_peaks(result: dict) -> str:
    """Peak load as a share of each node's capacity, so a 250 kW feeder and a
    60 MW grid supply point read on one scale; 100 % is the limit."""
    years = [y["year"] for y in result["years"]]
    fig = go.Figure()
    for i, n in enumerate(result["nodes"]):
        cap = max(n["capacity_w"], 1)
        fig.add_trace(
            go.Scatter(
                x=years,
                y=[100 * p / cap for p in n["peak_w"]],
                name=n["name"],
                mode="lines+markers",
                line=dict(color=PALETTE[i % len(PALETTE)]),
                customdata=[p / 1000 for p in n["peak_w"]],
                hovertemplate="%{customdata:,.0f} kW = %{y:.0f}% of "
                + f"{cap / 1000:,.0f} kW<extra>{n['name']}</extra>",
            )
        )
    fig.add_hline(
        y=100, line=dict(color="#b91c1c", dash="dash"), annotation_text="capacity", annotation_position="top left"
    )
    base_layout(fig, 320)
    fig.update_xaxes(title="year", tickformat="d")  # 2030, not 2,030
    fig.update_yaxes(title="peak as % of capacity", rangemode="tozero")
    return fig_html(fig)


def compare_bars(rows: list[dict]) -> str:
    names = [r["scenario"].name for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=names,
            y=[float(r["capex"]) / 1000 for r in rows],
            name="capital cost (£k)",
            marker_color=PALETTE[7],
            offsetgroup="1",
        )
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[float(r["benefit"]) / 1000 for r in rows],
            name="net benefit per year (£k)",
            marker_color=PALETTE[0],
            offsetgroup="2",
        )
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["carbon_t"] for r in rows],
            name="carbon saved to end (t)",
            marker_color=PALETTE[5],
            yaxis="y2",
            offsetgroup="3",
        )
    )
    base_layout(fig, 340)
    fig.update_layout(
        barmode="group",
        xaxis=dict(title="scenario"),
        yaxis=dict(title="£ thousand"),
        yaxis2=dict(title="tCO2e", overlaying="y", side="right", showgrid=False, tickformat=",.1~f"),
    )
    return fig_html(fig)


def compare_carbon(scenarios) -> str:
    fig = go.Figure()
    for i, s in enumerate(scenarios):
        years = [y["year"] for y in s.result["years"]]
        fig.add_trace(
            go.Scatter(
                x=years,
                y=[y["carbon_saved_cumulative_kg"] / 1000 for y in s.result["years"]],
                name=s.name,
                mode="lines+markers",
                line=dict(color=PALETTE[i % len(PALETTE)]),
            )
        )
    base_layout(fig, 300)
    fig.update_xaxes(title="year", tickformat="d")  # 2030, not 2,030
    fig.update_yaxes(title="carbon saved, cumulative (t)", tickformat=",.1~f")
    return fig_html(fig)


def preference_spread(rows: list[dict]) -> str:
    """Stacked share of 1..5 scores per option: the spread, not just the mean."""
    rows = [r for r in rows if r["overall"]]
    if not rows:
        return ""
    labels = [r["label"] for r in rows]
    colours = ["#b91c1c", "#f97316", "#d1d5db", "#34d399", "#047857"]
    names = ["1 strongly against", "2 against", "3 neutral", "4 for", "5 strongly for"]
    fig = go.Figure()
    for k in range(5):
        fig.add_trace(
            go.Bar(
                y=labels,
                x=[r["overall"].counts[k] / max(r["overall"].n, 1) * 100 for r in rows],
                name=names[k],
                orientation="h",
                marker_color=colours[k],
                customdata=[r["overall"].counts[k] for r in rows],
                hovertemplate="%{customdata} people<extra>" + names[k] + "</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    base_layout(fig, 60 + 40 * len(rows))
    fig.update_layout(margin=dict(l=200, r=10, t=30, b=30))
    fig.update_xaxes(title="% of people", range=[0, 100])
    return fig_html(fig)
