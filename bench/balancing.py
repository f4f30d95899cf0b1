"""Balancing controller speed: ``python -m bench.balancing [--sizes 50,500,2000]``.

- ``mpc``: the rolling schedule for N devices x 96 quarter-hours (24 h): half
  batteries, a fifth EVs, the rest heat pumps, with PV, an evening peak, a
  ToU + DUoS red-band tariff and an import limit. Goal (issue 11): 500 devices
  < 2 s. Segments above ``mpc.DIRECT_LIMIT`` devices are planned in groups and
  split back per device (``mpc.solve_fleet``); the time includes the split.
- ``mpc_direct``: every device its own LP columns (small segments, e.g. the
  demo's 20 homes), for comparison.
- ``corrective``: one corrective step for N batteries. Goal: 500 < 50 ms
  (OpenEMS budgets < 100 ms per controller in a 1 s cycle). Best of 50 runs.

One JSON line per size: {"bench", "n", "seconds", "rate", "unit"}.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta

import numpy as np

from vpp.balancing.domain import corrective, mpc, tariff


def problem(n: int, seed: int = 1) -> mpc.Problem:
    rng = np.random.default_rng(seed)
    nb, ne = n // 2, n // 5
    nh = n - nb - ne
    T = 96
    hours = np.arange(T) * 0.25
    homes = max(nb, 1)
    pv = np.clip(np.sin((hours - 5) / 14 * np.pi), 0, None) * 3_000 * homes * rng.uniform(0.6, 1.0)
    load = (400 + 700 * np.exp(-(((hours - 18) / 2) ** 2))) * homes
    local = [datetime(2026, 3, 10) + timedelta(minutes=15 * i) for i in range(T)]
    imp_p, exp_p, _ = tariff.prices(local)
    return mpc.Problem(
        step_h=0.25,
        load_w=load,
        pv_w=pv,
        import_limit_w=np.full(T, 1_800.0 * homes),
        export_limit_w=np.full(T, 2_500.0 * homes),
        import_price_p=imp_p,
        export_price_p=exp_p,
        outdoor_c=6 + 4 * np.sin((hours - 9) / 24 * 2 * np.pi),
        batteries=mpc.Batteries(
            capacity_wh=rng.choice([5_000.0, 9_500.0, 13_500.0], nb),
            stored_wh=rng.uniform(0.2, 0.8, nb) * 5_000,
            reserve_wh=np.full(nb, 500.0),
            max_charge_w=rng.choice([2_500.0, 3_300.0, 5_000.0], nb),
            max_discharge_w=rng.choice([2_500.0, 3_300.0, 5_000.0], nb),
            efficiency=np.full(nb, 0.95),
        ),
        evs=mpc.EVs(
            max_w=np.full(ne, 7_000.0),
            need_wh=rng.uniform(5_000, 25_000, ne),
            ready_step=rng.integers(28, 40, ne),
        ),
        heat_pumps=mpc.HeatPumps(
            rated_w=np.full(nh, 3_000.0),
            indoor_c=rng.uniform(19, 21, nh),
            comfort_min_c=np.full(nh, 18.5),
            comfort_max_c=np.full(nh, 22.0),
            r_k_per_w=np.full(nh, 1 / 180),
            c_j_per_k=rng.uniform(0.9e7, 1.5e7, nh),
            cop=np.full(nh, 3.0),
        ),
        capacity_charge_p_per_kw=13.7,
    )


def bench_mpc(n: int) -> dict:
    p = problem(n)
    t0 = time.perf_counter()
    s, _ = mpc.solve_fleet(p)
    sec = time.perf_counter() - t0
    return {
        "bench": "balancing_mpc",
        "n": n,
        "seconds": round(sec, 4),
        "rate": round(n / sec, 1),
        "unit": "devices/s (96 quarter-hours)",
        "breach_wh": s.breach_wh,
    }


def bench_direct(n: int) -> dict:
    p = problem(n)
    t0 = time.perf_counter()
    mpc.solve(p)
    sec = time.perf_counter() - t0
    return {
        "bench": "balancing_mpc_direct",
        "n": n,
        "seconds": round(sec, 4),
        "rate": round(n / sec, 1),
        "unit": "devices/s (96 quarter-hours)",
    }


def bench_corrective(n: int, runs: int = 50) -> dict:
    rng = np.random.default_rng(2)
    fleet = corrective.Fleet(
        setpoint_w=rng.integers(-2_000, 2_000, n).astype(float),
        max_charge_w=np.full(n, 5_000.0),
        max_discharge_w=np.full(n, 5_000.0),
        stored_wh=rng.uniform(2_000, 9_000, n),
        capacity_wh=np.full(n, 10_000.0),
        reserve_wh=np.full(n, 1_000.0),
        efficiency=np.full(n, 0.95),
        available=rng.random(n) > 0.05,
    )
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        corrective.correct(
            measured_net_w=1_500.0 * n,
            target_net_w=500.0 * n,
            import_limit_w=1_200.0 * n,
            export_limit_w=1_000.0 * n,
            fleet=fleet,
            horizon_s=300,
            margin_w=2_000,
        )
        best = min(best, time.perf_counter() - t0)
    return {
        "bench": "balancing_corrective",
        "n": n,
        "seconds": round(best, 6),
        "rate": round(n / best, 1),
        "unit": "batteries/s",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,500,2000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(bench_direct(30)), flush=True)
    for n in sizes:
        print(json.dumps(bench_mpc(n)), flush=True)
    for n in sizes:
        print(json.dumps(bench_corrective(n)), flush=True)


if __name__ == "__main__":
    main()
