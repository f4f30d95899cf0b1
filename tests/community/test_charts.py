"""Every chart builder's figure, as the browser receives it (issue 15: words, charts, honesty):
x-axes titled, dates from the first data point (not hours before) in UK time, value axes
that include zero (a flat 21.333 p is flat), hover values rounded, the legend above."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace as NS

import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets import charts as energy
from assets.selectors import EnergySeries
from community.charts import site_map, tidy, value_format
from lem import charts as market
from planning import charts as plan
from vpp import charts as flex

T0 = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)  # 06:00 in London (summer time)
HALF = timedelta(minutes=30)


def figure_of(html: str) -> tuple[list, dict]:
    """The data and layout passed to Plotly.newPlot in a chart's HTML."""
    dec = json.JSONDecoder()
    i = html.index("Plotly.newPlot(")
    i = html.index('",', i) + 2
    while html[i].isspace():
        i += 1
    data, i = dec.raw_decode(html, i)
    i = html.index(",", i) + 1
    while html[i].isspace():
        i += 1
    layout, _ = dec.raw_decode(html, i)
    return data, layout


def _axes(data: list, layout: dict):
    """(layout key, axis, traces) of every x- and y-axis some cartesian trace uses."""
    out = {}
    for t in data:
        if t["type"] == "pie":
            continue
        for letter in "xy":
            ref = t.get(f"{letter}axis", letter)
            key = f"{letter}axis{ref[1:]}"
            out.setdefault(key, []).append(t)
    return [(k, layout.get(k, {}), ts) for k, ts in out.items()]


def _series(n=48, first_data=12) -> EnergySeries:
    starts = [T0 - timedelta(hours=6) + HALF * k for k in range(n)]
    have = [k >= first_data and k < n - 4 for k in range(n)]
    return EnergySeries(
        starts,
        [800 if h else None for h in have],
        [200 if h else None for h in have],
        [350 if h else None for h in have],
    )


def _builders():
    s = _series()
    starts = s.starts[:8]
    node = NS(name="Feeder A")
    fc = NS(p10=[1000] * 8, p50=[2000] * 8, p90=[3000] * 8)
    delivery = NS(settling_method="dfs", baselines={"dfs": [400] * 8}, actual_wh=[300] * 8)
    years = [{"year": 2026 + k, "capex_gbp": "1000", "net_benefit_gbp": "250.5", "carbon_saved_kg": 132234.5,
              "carbon_saved_cumulative_kg": 132234.5 * (k + 1)} for k in range(10)]  # fmt: skip
    result = {"years": years, "nodes": [{"name": "F1", "capacity_w": 250_000, "peak_w": [200_000] * 10}]}
    cs = NS(elec_appliances_wh=2e9, elec_heating_wh=1e9, gas_wh=3e9, oil_wh=1e8, pv_generation_wh=5e8,
            carbon_kg={"electricity": 132_234, "gas": 500_000})  # fmt: skip
    runs = [NS(period_start=T0 + HALF * k, clearing_price=Decimal("21.333"), volume_wh=4500) for k in range(6)]
    me = NS(pk=1)
    trades = [NS(period_start=T0 + HALF * k, buyer_id=1, quantity_wh=1200, buyer_price=Decimal("21.333"),
                 seller_price=Decimal("21.333")) for k in range(5)]  # fmt: skip
    points = [{"id": k, "lat": 52.1 + k / 1000, "lon": -1.9 - k / 1000, "kind": "Home", "label": "Home",
               "feeder": "F1", "mine": k == 0} for k in range(5)]  # fmt: skip
    scored = NS(counts=[1, 2, 3, 4, 5], n=15)
    return {
        "site_day": lambda: energy.site_day(s),
        "generation_vs_demand": lambda: energy.generation_vs_demand(s),
        "daily_totals": lambda: energy.daily_totals(
            [{"day": date(2026, 7, k), "demand_wh": 12345, "generated_wh": 4567} for k in range(1, 8)]
        ),
        "forecast_by_node": lambda: flex.forecast_by_node([(node, fc)], starts),
        "event_tracking": lambda: flex.event_tracking(
            {
                "starts": starts,
                "planned_w": [2000] * 8,
                "sent_w": [1800] * 8,
                "measured_w": [1500] * 8,
                "target_w": [2500] * 8,
            }  # fmt: skip
        ),
        "baselines": lambda: flex.baselines(starts, {"dfs": [3000] * 8}, [2500] * 8, "dfs"),
        "household_event": lambda: flex.household_event(starts, delivery),
        "end_use_bars": lambda: plan.end_use_bars(cs),
        "monthly_bars": lambda: plan.monthly_bars([1000.0] * 12, [300.0] * 12),
        "headroom_bars": lambda: plan.headroom_bars([{"node": node, "peak_kw": 120, "headroom_kw": 80}]),
        "scenario_years": lambda: plan.scenario_years(result),
        "node_peaks": lambda: plan.node_peaks(result),
        "compare_bars": lambda: plan.compare_bars(
            [{"scenario": NS(name="A"), "capex": 1000, "benefit": 100, "carbon_t": 132.2345}]
        ),
        "compare_carbon": lambda: plan.compare_carbon([NS(name="A", result=result)]),
        "preference_spread": lambda: plan.preference_spread([{"label": "Solar on the school", "overall": scored}]),
        "recent_prices": lambda: market.recent_prices(runs),
        "my_trades": lambda: market.my_trades(me, trades),
        "site_map": lambda: site_map(points),
        "area_map": lambda: plan.area_map([{**p, "node": "F1", "type": "house"} for p in points]),
    }


BUILDERS = _builders()
MAPS = {"site_map", "area_map"}  # a place, not a quantity: the axes span the sites


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_axis_is_titled_and_every_value_axis_means_something(name):
    data, layout = figure_of(BUILDERS[name]())
    for key, axis, traces in _axes(data, layout):
        horizontal = any(t.get("orientation") == "h" for t in traces)
        is_value_axis = key.startswith("x") == horizontal
        if key.startswith("x") or is_value_axis:  # a bar chart's category labels may speak for themselves
            assert (axis.get("title") or {}).get("text"), f"{name}: {key} has no title"
        if is_value_axis and name not in MAPS:
            rng = axis.get("range")
            assert axis.get("rangemode") == "tozero" or (rng and rng[0] <= 0 <= rng[1]) or horizontal, (
                f"{name}: {key} does not include zero"
            )
            assert axis.get("hoverformat") or axis.get("tickformat"), f"{name}: {key} hover values not rounded"
    assert layout.get("legend", {}).get("y", 1) >= 1, f"{name}: the legend must sit above the plot"


@pytest.mark.parametrize("name", ["site_day", "generation_vs_demand"])
def test_a_day_chart_starts_at_the_first_reading_in_uk_time(name):
    data, layout = figure_of(BUILDERS[name]())
    first = (T0 - timedelta(hours=6) + 12 * HALF).astimezone(UTC)  # 06:00 UTC = 07:00 BST
    start = datetime.fromisoformat(layout["xaxis"]["range"][0])
    assert start.tzinfo is None  # wall-clock UK time: plotly.js would drop an offset and show UTC
    assert timedelta(0) <= (first.replace(tzinfo=None) + timedelta(hours=1)) - start <= timedelta(minutes=15)


def test_a_flat_local_price_reads_as_flat_from_zero():
    data, layout = figure_of(BUILDERS["recent_prices"]())
    assert layout["yaxis2"]["rangemode"] == "tozero"
    prices = next(t for t in data if t.get("yaxis") == "y2")
    assert set(prices["y"]) == {21.333} and layout["yaxis2"]["hoverformat"] == ",.1f"
    assert layout["yaxis2"]["tickmode"] == "auto"  # its own round ticks, not 6.03, 12.06, 18.08


def test_a_legend_put_below_the_dates_is_moved_above():
    fig = go.Figure(go.Scatter(x=[T0, T0 + HALF], y=[1, 2], name="a"))
    fig.update_layout(legend={"orientation": "h", "y": -0.18})
    assert tidy(fig).layout.legend.y > 1


def test_hover_values_are_rounded_to_their_size():
    assert value_format([132.2345]) == ",.1f"
    assert value_format([1_396_159]) == ",.0f"
    assert value_format([0.0423]) == ",.3~f"
    assert value_format([]) == ",.3~f"


@settings(max_examples=40, deadline=None)
@given(
    first=st.integers(min_value=0, max_value=40),
    length=st.integers(min_value=1, max_value=8),
    bars=st.booleans(),
    level=st.floats(min_value=-500, max_value=500, allow_nan=False),
)
def test_the_x_axis_starts_at_the_first_data_point_whatever_the_gaps(first, length, bars, level):
    xs = [T0 + HALF * k for k in range(48)]
    ys = [level if first <= k < first + length else None for k in range(48)]
    fig = go.Figure(go.Bar(x=xs, y=ys) if bars else go.Scatter(x=xs, y=ys))
    lo, hi = tidy(fig).layout.xaxis.range
    t_first = (T0 + HALF * first).astimezone(UTC).replace(tzinfo=None) + timedelta(hours=1)
    t_last = t_first + HALF * (length - 1)
    pad = HALF / 2 if bars else (timedelta(minutes=15) if length == 1 else timedelta(0))
    assert (lo, hi) == (t_first - pad, t_last + pad)
    assert fig.layout.yaxis.rangemode == "tozero"  # flat or not, the value axis includes zero


@pytest.mark.parametrize("name", ["scenario_years", "node_peaks", "compare_carbon"])
def test_years_read_as_years_not_as_thousands(name):
    data, layout = figure_of(BUILDERS[name]())
    assert all(isinstance(x, int) and 2000 < x < 2100 for t in data for x in t["x"])
    assert layout["xaxis"]["tickformat"] == "d"  # 2030, not 2,030
