"""LAEP scenario speed: N buildings x 10 options x 8,760 h x 15 plan years.

    python -m bench.laep            # 500 and 5,000 buildings
    python -m bench.laep 5000       # one size

Goal (issue 5): a 5,000-building scenario computes in under 10 s.
Prints one JSON line per size.  ``vs.naive_per_year``: our speed as a ratio
to the straightforward method (simulate every building every plan year hour
by hour) on the same input - run only at the smaller size, it is slow.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from planning.domain import battery
from planning.domain.buildings import Building, stock_from_buildings
from planning.domain.modelling import NetworkNode, OptionChoice, run_scenario

TYPES = ["house"] * 8 + ["flat", "bungalow", "office", "retail", "school", "community", "pub"]


def make_area(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    n_feeders = max(2, n // 50)
    nodes = [NetworkNode("primary", None, 200.0 * n / 50 * 0.8)]
    nodes += [NetworkNode(f"ss{i}", "primary", 2000.0) for i in range(max(1, n_feeders // 10))]
    n_ss = len(nodes) - 1
    nodes += [NetworkNode(f"fd{i}", f"ss{i % n_ss}", 120.0, float(rng.uniform(40, 90))) for i in range(n_feeders)]
    buildings = []
    for i in range(n):
        t = TYPES[rng.integers(len(TYPES))]
        dom = t in ("house", "flat", "bungalow")
        buildings.append(
            Building(
                ref=f"b{i}",
                building_type=t,
                floor_area_m2=float(rng.uniform(50, 140) if dom else rng.uniform(150, 2000)),
                lat=float(52.45 + rng.uniform(-0.06, 0.06)),
                lon=float(-1.9 + rng.uniform(-0.08, 0.08)),
                epc_band="BCDDDEEFG"[rng.integers(9)],
                heating_fuel=("gas", "gas", "gas", "gas", "gas", "gas", "oil", "electric")[rng.integers(8)],
                annual_elec_kwh=float(rng.uniform(1800, 4200)) if dom and rng.random() < 0.3 else None,
                roof_area_m2=float(rng.uniform(15, 45) if dom else rng.uniform(100, 800))
                if rng.random() < 0.8
                else None,
                roof_tilt_deg=float(rng.uniform(20, 45)),
                roof_azimuth_deg=float(rng.uniform(90, 270)),
                existing_pv_kwp=3.0 if rng.random() < 0.05 else 0.0,
                node=f"fd{rng.integers(n_feeders)}",
            )
        )
    options = [
        OptionChoice("pv", "rooftop_pv", {2026: 0.05, 2030: 0.3, 2040: 0.6}),
        OptionChoice("bat", "battery", {2027: 0.05, 2035: 0.4}),
        OptionChoice("hp", "heat_pump", {2026: 0.02, 2035: 0.4, 2040: 0.6}),
        OptionChoice("gl", "ground_loop", {2028: 0.05, 2035: 0.2}),
        OptionChoice("ev", "ev_charger", {2026: 0.1, 2040: 0.8}),
        OptionChoice("rf", "retrofit", {2026: 0.05, 2035: 0.5}, {"target_band": "C"}),
        OptionChoice("cs1", "community_solar", {2028: 1.0}, {"kwp": 500, "node": "primary"}),
        OptionChoice("cs2", "community_solar", {2031: 0.5, 2033: 1.0}, {"kwp": 250, "tilt_deg": 10}),
        OptionChoice("wt1", "wind_turbine", {2030: 1.0}, {"rated_kw": 900}),
        OptionChoice("wt2", "wind_turbine", {2034: 1.0}, {"rated_kw": 250, "mean_speed_ms": 5.5}),
    ]
    return buildings, nodes, options


def naive(stock, result_engine_inputs):
    """Reference: every building, every year, hour by hour (PV+battery too)."""
    from planning.domain.modelling import _Engine, _validate_options
    from planning.domain.reference import merged_assumptions

    buildings, nodes, options = result_engine_inputs
    a = merged_assumptions({})
    years = list(range(2026, 2041))
    shares = _validate_options(options, years, 2026)
    node_map = {n.ref: i for i, n in enumerate(nodes)}
    node_index = np.array([node_map[x] for x in stock.node])
    eng = _Engine(stock, nodes, node_index, options, years, shares, a, 0, lambda f, m: None)
    eng._shapes()
    eng._adoption()
    totals = []
    for yi in range(len(eng.years)):
        st = eng._state(yi)
        for c0 in range(0, len(stock), 512):
            sl = slice(c0, c0 + 512)
            coef, sid = st["coef"][sl], st["sid"][sl]
            load = (coef[:, :, None] * eng.S[sid]).sum(axis=1)
            net = load - st["kwp"][sl, None] * eng.G[eng.roof_row[sl]]
            b = np.flatnonzero(st["batt"][sl])
            if len(b):
                net[b] = battery.self_consumption(
                    net[b].T, a["battery_kwh"], a["battery_kw"], a["battery_round_trip"]
                ).T
            totals.append(np.clip(net, 0, None).sum())
    return totals


def run(n: int, with_reference: bool) -> dict:
    buildings, nodes, options = make_area(n)
    stock = stock_from_buildings(buildings)
    run_scenario(stock, nodes, options[:1], start_year=2026, end_year=2027, current_year=2026)  # warm caches
    t0 = time.perf_counter()
    res = run_scenario(stock, nodes, options, start_year=2026, end_year=2040, current_year=2026)
    seconds = time.perf_counter() - t0
    out = {
        "bench": "laep_scenario",
        "n": n,
        "seconds": round(seconds, 3),
        "rate": round(n / seconds, 1),
        "unit": "buildings/s",
        "options": len(options),
        "hours": 8760,
        "years": 15,
        "payback_years": str(res.simple_payback_years),
        "overloaded_nodes": sum(1 for x in res.nodes if x.overloaded_years),
        "vs": {},
    }
    if with_reference:
        t1 = time.perf_counter()
        naive(stock, (buildings, nodes, options))
        ref = time.perf_counter() - t1
        out["vs"]["naive_per_year"] = round(ref / seconds, 2)
    return out


def main(argv: list[str]) -> None:
    sizes = [int(x) for x in argv] or [500, 5000]
    for n in sizes:
        print(json.dumps(run(n, with_reference=n <= 1000)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
