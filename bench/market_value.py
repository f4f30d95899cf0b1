"""The market's value report (issue 17): ``python -m bench.market_value [--sizes 60,1000]``.

For each size, a community with the demo's device mix (`lem.simyear.demo_like_sites`:
PV on 3 homes in 5, a battery in 1 in 3, EVs, heat pumps, one home in nine
fuel-poor, the school's PV and the community wind turbine, scaled with the
size) simulates a year (`lem.simyear`: the simulator's weather, demand and
devices) and replays it through the market's agents, clearing and
settlement (`lem.domain.value`) under the demo's rules in force
(`lem/demo.py` RULES_IN_FORCE: v2, no fee per trade, £1.00 a month at most half of
the month's trading saving), with no database.

One JSON line per size: {"bench", "n", "seconds", "rate", "unit", ...}
with the replay's figures against the issue's goals: the share of households
better off than with the supplier alone after fees (goal >= 0.9), their £ a
year (median, range), the p/kWh the community keeps on locally matched
energy (goal >= 2, seed 002 C.7), and the seconds for a year of 1,000 homes
(goal < 60), with the load average when it finished (the seconds mean little
without it). ``--rules '{"membership_fee": "1.00"}'`` overrides demo rules.

The agents (issue 17) risk, period by period, only what their month's
trading has won by their last reading plus a 1p stake (`value.risk_budget`),
so no household's month ends more than 1p below the supplier alone, fees
aside.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from lem import simyear
from lem.domain import value as vd

DEMO_RULES = {
    "mechanism": "uniform",
    "import_price": "24.5",
    "peak_import_price": "32",
    "export_price": "15",
    "match_tariff": "20",
    "fee_per_trade_pence": "0",
    "fee_pct": "1",
    "membership_fee": "1.00",
    "membership_fee_cap_pct": "50",
    "social_discount_pct": "20",
    "fund_share_pct": "50",
}


def demo_rules() -> dict:
    try:  # the demo's rules in force (v2, voted) when Django is importable
        from lem.demo import RULES_IN_FORCE as rules

        return dict(rules)
    except Exception:  # noqa: BLE001 - the bench also runs without settings
        return dict(DEMO_RULES)


def run(n_homes: int, rules: dict, *, days: int = 365, seed: int = 7) -> dict:
    sites = simyear.demo_like_sites(n_homes, seed=seed)
    t0 = time.perf_counter()
    year = simyear.simulate_year(sites, start=datetime(2025, 11, 1, tzinfo=UTC), days=days, weather_seed=seed)
    t_sim = time.perf_counter() - t0
    cal = simyear.calendar(year)
    m = len(sites)
    members = vd.Members(
        member=np.ones(m, bool),
        household=np.array([s.household for s in sites]),
        fuel_poor=np.array([s.fuel_poor for s in sites]),
        max_buy=np.full(m, 26.0),
        min_sell=np.full(m, 16.0),
        source=["wind" if s.wind_rated_w else "solar" for s in sites],
    )
    vr = vd.ValueRules(
        **{k: (Decimal(v) if k != "mechanism" and v is not None else v) for k, v in rules.items()},
    )
    t1 = time.perf_counter()
    r = vd.replay(
        import_wh=year.import_wh,
        export_wh=year.export_wh,
        members=members,
        rules=vr,
        calendar=cal,
        battery_spare_wh=year.battery_spare_wh,
    )
    t_replay = time.perf_counter() - t1
    s = r.summary()
    h = s["households"]
    sec = t_sim + t_replay
    return {
        "bench": "market_value",
        "n": n_homes,
        "seconds": round(sec, 2),
        "rate": round(n_homes * days / sec, 1),
        "unit": "home-days/s",
        "simulate_s": round(t_sim, 2),
        "replay_s": round(t_replay, 2),
        "share_better_off": round(h["share_better_off"], 3),
        "better_off": h["better_off"],
        "worse_off": h["worse_off"],
        "households": h["n"],
        "gbp_per_home_yr_median": h["median"] / 100,
        "gbp_per_home_yr_min": h["min"] / 100,
        "gbp_per_home_yr_max": h["max"] / 100,
        "share_better_off_before_fees": round(s["households_before_fees"]["share_better_off"], 3),
        "fuel_poor_better_off": f"{s['fuel_poor']['better_off']}/{s['fuel_poor']['n']}",
        "p_per_kwh_local": s["p_per_kwh_local"],
        "local_share_imports": round(s["local_share_imports"], 3),
        "local_share_exports": round(s["local_share_exports"], 3),
        "matched_kwh": s["matched_kwh"],
        "goal": "share_better_off >= 0.9, p_per_kwh_local >= 2, 1000 homes < 60 s",
        "load_avg_1m": round(os.getloadavg()[0], 2),  # the machine is shared: read the seconds with it
        "rules": {
            k: rules.get(k)
            for k in ("mechanism", "fee_per_trade_pence", "fee_pct", "membership_fee", "membership_fee_cap_pct")
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="60,1000")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rules", default="{}", help="JSON overrides of the demo rules")
    a = ap.parse_args()
    rules = {**demo_rules(), **json.loads(a.rules)}
    for n in (int(x) for x in a.sizes.split(",")):
        print(json.dumps(run(n, rules, days=a.days)), flush=True)


if __name__ == "__main__":
    main()
