"""Balancing controller speed: ``python -m bench.balancing [--sizes 50,500,2000]``.

- ``mpc``: the rolling schedule for N devices x 96 quarter-hours (24 h): half
  batteries, a fifth EVs, the rest heat pumps, with PV, an evening peak, a
  ToU + DUoS red-band tariff and an import limit. Goal (issue 11): 500 devices
  < 2 s. Segments above ``mpc.DIRECT_LIMIT`` devices are planned in groups and
  split back per device (``mpc.solve_fleet``); the time includes the split.
- ``mpc_direct``: every device its own LP columns (small segments, e.g. the
  demo's 20 homes), for comparison.
- ``mpc_committed``: as ``mpc`` with commitments (issue 11: the market trades
  first, the VPP's accepted events are commitments): 5 % of the batteries held
  to a VPP event for an hour and 20 homes with a traded position for 2 h; the
  committed devices are planned one by one, the rest in groups.
- ``corrective``: one corrective step for N devices: the batteries' correction
  (half the devices) plus the EV and heat-pump commands built from the plan and
  passed through the safety gate (``domain.loads``). Goal: 500 < 50 ms (OpenEMS
  budgets < 100 ms per controller in a 1 s cycle). Best of 50 runs.

The heat pumps' COP follows the outdoor temperature step by step and each home
has its own setpoint, as ``services.schedule_inputs`` builds them.

- ``estate_value``: the demo's private-wire estate (20 homes with PV and
  batteries, 45 kW import / 60 kW export, ``vpp.balancing.estate_sim``) under
  the controller for one week in each season (weeks from the second Monday of
  January, April, July and October 2026), and the avoided red-band DUoS and
  capacity charges it earns in £ per home per year (``domain.kpi``), next to
  seed 002 C.8's ~£75 per home per year for a 200-home private wire. Run with
  ``--estate``; it takes a few minutes.

One JSON line per size: {"bench", "n", "seconds", "rate", "unit"}.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timedelta

import numpy as np

from vpp.balancing.domain import corrective, loads, mpc, tariff


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
    outdoor = 6 + 4 * np.sin((hours - 9) / 24 * 2 * np.pi)
    return mpc.Problem(
        step_h=0.25,
        load_w=load,
        pv_w=pv,
        import_limit_w=np.full(T, 1_800.0 * homes),
        export_limit_w=np.full(T, 2_500.0 * homes),
        import_price_p=imp_p,
        export_price_p=exp_p,
        outdoor_c=outdoor,
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
            cop=np.tile(mpc.heat_pump_cop(outdoor), (nh, 1)),
            setpoint_c=rng.choice([19.5, 20.0, 21.0], nh),
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


def committed(p: mpc.Problem, seed: int = 3) -> mpc.Problem:
    rng = np.random.default_rng(seed)
    nb, T = len(p.batteries), p.steps
    fixed = np.full((nb, T), np.nan)
    held = rng.choice(nb, max(nb // 20, 1), replace=False)
    fixed[held, 68:72] = -2_000.0  # 17:00-18:00: 2 kW less import each
    sites = min(20, nb)
    cw = np.full((sites, T), np.nan)
    cw[:, 44:52] = -1_500.0  # 11:00-13:00: each sold 3 kWh of sun
    com = mpc.SiteCommitments(
        committed_w=cw,
        uncontrolled_w=np.tile(p.load_w / max(nb, 1) - p.pv_w / max(nb, 1), (sites, 1)),
        batteries=tuple(np.array([i]) for i in range(sites)),
        evs=tuple(np.array([], dtype=int) for _ in range(sites)),
        heat_pumps=tuple(np.array([], dtype=int) for _ in range(sites)),
    )
    return mpc.Problem(
        **{
            **{f: getattr(p, f) for f in p.__dataclass_fields__},
            "batteries": mpc.Batteries(**{**p.batteries.__dict__, "fixed_w": fixed}),
            "commitments": com,
        }
    )


def bench_committed(n: int) -> dict:
    p = committed(problem(n))
    t0 = time.perf_counter()
    s, _ = mpc.solve_fleet(p)
    sec = time.perf_counter() - t0
    return {
        "bench": "balancing_mpc_committed",
        "n": n,
        "seconds": round(sec, 4),
        "rate": round(n / sec, 1),
        "unit": "devices/s (96 quarter-hours)",
        "breach_wh": s.breach_wh,
        "commitment_miss_wh": s.commitment_miss_wh,
    }


def bench_estate_value(homes: int = 20, weeks=("2026-01-12", "2026-04-13", "2026-07-13", "2026-10-12")) -> dict:
    from datetime import UTC
    from decimal import Decimal

    from assets.domain.home import SimSite
    from vpp.balancing import estate_sim
    from vpp.balancing.domain import kpi

    t0 = time.perf_counter()
    net, bat, pv, red = [], [], [], []
    for w in weeks:
        start = datetime.fromisoformat(w).replace(tzinfo=UTC)
        sims = [SimSite(s) for s in estate_specs(homes)]
        # a day to settle the batteries' state of charge, then the week that counts
        run = estate_sim.simulate(
            sims,
            start=start - timedelta(days=1),
            end=start + timedelta(days=7),
            import_limit_w=45_000,
            export_limit_w=60_000,
            margin_w=2_000,
        )
        keep = np.array([t > start for t in run.at])
        q = keep.sum() // 3 * 3  # 5-minute rows to quarter-hours, as selectors.segment_kpis does
        for series, out in ((run.net_w, net), (run.battery_w, bat), (run.pv_w, pv)):
            out.append(series[keep][:q].reshape(-1, 3).mean(axis=1))
        times = [t for t, k in zip(run.at, keep, strict=True) if k][:q:3]
        red.append(tariff.red_band([(t - timedelta(minutes=5)).astimezone(estate_sim.LONDON) for t in times]))
    k = kpi.kpis(
        net_w=np.concatenate(net),
        battery_w=np.concatenate(bat),
        pv_w=np.concatenate(pv),
        red_band=np.concatenate(red),
        interval_h=0.25,
        import_limit_w=45_000,
        export_limit_w=60_000,
        homes=homes,
        duos_red_p_per_kwh=tariff.Tariff().duos_red_p,
        capacity_gbp_per_kw_year=Decimal("50"),
    )
    sec = time.perf_counter() - t0
    return {
        "bench": "balancing_estate_value",
        "n": homes,
        "seconds": round(sec, 1),
        "rate": float(k.avoided_gbp_per_home_year),
        "unit": "GBP per home per year (avoided red-band DUoS + capacity)",
        "vs": {"seed_002_c8_gbp_per_home_year": 75},
        "days": round(k.days, 1),
        "avoided_duos_gbp_per_year": float(k.avoided_duos_gbp_per_year),
        "avoided_capacity_gbp_per_year": float(k.avoided_capacity_gbp_per_year),
        "peak_import_kw": round(k.peak_import_w / 1000, 1),
        "baseline_peak_import_kw": round(k.baseline_peak_import_w / 1000, 1),
        "red_band_import_kwh": round(k.red_band_import_wh / 1000, 1),
        "baseline_red_band_import_kwh": round(k.baseline_red_band_import_wh / 1000, 1),
        "self_sufficiency_pct": round(k.self_sufficiency_pct or 0, 1),
        "hours_at_limit": k.hours_at_limit,
    }


def estate_specs(homes: int):
    from vpp.balancing import estate_sim

    return estate_sim.estate_specs(homes)


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
    nb = n // 2
    fleet = corrective.Fleet(
        setpoint_w=rng.integers(-2_000, 2_000, nb).astype(float),
        max_charge_w=np.full(nb, 5_000.0),
        max_discharge_w=np.full(nb, 5_000.0),
        stored_wh=rng.uniform(2_000, 9_000, nb),
        capacity_wh=np.full(nb, 10_000.0),
        reserve_wh=np.full(nb, 1_000.0),
        efficiency=np.full(nb, 0.95),
        available=rng.random(nb) > 0.05,
    )
    ne = n // 5
    nh = n - n // 2 - ne
    ev_plan = rng.choice([0.0, 3_700.0, 7_000.0], ne)
    ev_now = rng.choice([0.0, 7_000.0], ne)
    hp_indoor = rng.uniform(18.5, 22.5, nh)
    hp_now = rng.uniform(0, 3_000, nh)
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        props = [
            loads.ev_proposal(key=k, planned_w=ev_plan[k], now_w=ev_now[k], rated_w=7_000, lease_w=None)
            for k in range(ne)
        ] + [
            loads.heat_pump_proposal(
                key=ne + k,
                planned_indoor_c=hp_indoor[k],
                planned_w=1_500,
                base_setpoint_c=20.5,
                comfort_min_c=18.5,
                comfort_max_c=22.5,
                lease_delta_c=None,
                now_w=hp_now[k],
                rated_w=3_000,
            )
            for k in range(nh)
        ]
        props = [p_ for p_ in props if p_ is not None]
        r = corrective.correct(
            measured_net_w=1_500.0 * n,
            target_net_w=500.0 * n - sum(p_.expected_w for p_ in props),
            import_limit_w=1_200.0 * n,
            export_limit_w=1_000.0 * n,
            fleet=fleet,
            horizon_s=300,
            margin_w=2_000,
        )
        loads.gate(
            props,
            measured_net_w=1_500.0 * n,
            battery_change_w=r.correction_w,
            import_limit_w=1_200.0 * n,
            export_limit_w=1_000.0 * n,
            margin_w=2_000,
        )
        best = min(best, time.perf_counter() - t0)
    return {
        "bench": "balancing_corrective",
        "n": n,
        "seconds": round(best, 6),
        "rate": round(n / best, 1),
        "unit": "devices/s (batteries + EV and heat-pump commands through the gate)",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,500,2000")
    ap.add_argument("--estate", action="store_true", help="also the demo estate's £ per home per year (minutes)")
    ap.add_argument("--estate-only", action="store_true")
    ap.add_argument("--weeks", default="2026-01-12,2026-04-13,2026-07-13,2026-10-12", help="estate weeks (Mondays)")
    args = ap.parse_args()
    if args.estate_only:
        print(json.dumps(bench_estate_value(weeks=args.weeks.split(","))), flush=True)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(bench_direct(30)), flush=True)
    for n in sizes:
        print(json.dumps(bench_mpc(n)), flush=True)
    for n in sizes:
        print(json.dumps(bench_committed(n)), flush=True)
    for n in sizes:
        print(json.dumps(bench_corrective(n)), flush=True)
    if args.estate:
        print(json.dumps(bench_estate_value(weeks=args.weeks.split(","))), flush=True)


if __name__ == "__main__":
    main()
