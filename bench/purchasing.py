"""Group-buy speed: ``python -m bench.purchasing [--sizes 1000,10000]``.

1. Personal offers for N registrations (goal: 10,000 in < 5 s): pvlib yield
   per roof from the shared SAP-calibrated model (roofs grouped by rounded
   location, pitch and orientation, so 10,000 roofs need a few dozen pvlib
   runs), hour-by-hour self-consumption against the household profile, bill
   savings, tiered price and payback.  Two rows per size: "cold" computes
   every roof profile with pvlib in the run (the first campaign in a town);
   "warm" reuses the process's profile cache (every later call, e.g. the
   household's live estimate).
2. Auction evaluation for 50 installers x 5 packages (goal: < 100 ms), each
   priced on a basket of 2,000 registered sizes.

One JSON line per case: {"bench", "n", "seconds", "rate", "unit", "goal_s"}.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal

import numpy as np

from assets.domain import solar
from assets.purchasing.domain import auction, offers


def towns(n: int, seed: int = 7) -> offers.Homes:
    """n homes spread over a market town (+- 3 km) with realistic roofs."""
    rng = np.random.default_rng(seed)
    return offers.homes(
        lat=52.10 + rng.uniform(-0.03, 0.03, n),
        lon=-1.90 + rng.uniform(-0.045, 0.045, n),
        tilt_deg=rng.choice([22, 30, 35, 40, 45], n),
        azimuth_deg=rng.choice([90, 120, 150, 180, 210, 240, 270], n),
        roof_area_m2=rng.uniform(6, 45, n).round(1),
        shading=rng.choice(["none", "none", "light", "moderate", "heavy"], n),
        fuse_a=rng.choice([60, 80, 100], n),
        annual_use_kwh=rng.lognormal(np.log(2900), 0.35, n).round(),
    )


PV = offers.PackageTerms(
    kind="pv",
    min_size=2.0,
    max_size=8.0,
    tiers=((3.0, Decimal("1250")), (4.5, Decimal("1100")), (8.0, Decimal("1000"))),
    convenor_fee_gbp=Decimal("150"),
    market_price_per_unit_gbp=Decimal("1450"),
)


def bench_offers(n: int) -> list[dict]:
    h = towns(n)
    shape = offers.demand_shape()
    rows = []
    for label in ("cold", "warm"):
        if label == "cold":
            solar._PROFILE_STORE.clear()
            solar._sky.cache_clear()
        t0 = time.perf_counter()
        o = offers.personal_offers(h, PV, demand_shape=shape)
        sec = time.perf_counter() - t0
        rows.append(
            {
                "bench": f"purchasing_offers_{label}",
                "n": n,
                "seconds": round(sec, 3),
                "rate": round(n / sec),
                "unit": "offers/s",
                "goal_s": 5.0 if n == 10_000 else None,
                "eligible": int(o.eligible.sum()),
                "median_payback_years": round(float(np.median(o.payback_years[o.eligible])), 1),
            }
        )
    return rows


def bench_auction(installers: int = 50, packages: int = 5, basket: int = 2000) -> dict:
    rng = np.random.default_rng(11)
    sizes = rng.uniform(2, 8, basket).round(2)
    bids_per_package = []
    for _ in range(packages):
        bids = []
        for i in range(installers):
            base = rng.uniform(900, 1500)
            tiers = (
                (3.0, Decimal(str(round(base + 150, 2)))),
                (4.5, Decimal(str(round(base, 2)))),
                (8.0, Decimal(str(round(base - 80, 2)))),
            )
            bids.append(auction.BidIn(i + 1, tiers, float(rng.uniform(40, 100)), int(rng.integers(2, 40))))
        bids_per_package.append(bids)
    t0 = time.perf_counter()
    for bids in bids_per_package:
        auction.evaluate(
            bids, basket_sizes=sizes, price_weight=70, quality_weight=30, expected_installs=600, install_weeks=16
        )
    sec = time.perf_counter() - t0
    return {
        "bench": "purchasing_auction",
        "n": installers * packages,
        "seconds": round(sec, 4),
        "rate": round(installers * packages / sec),
        "unit": "bids/s",
        "goal_s": 0.1,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    offers.demand_shape()  # the BDEW profile is a one-off load, not part of an offer run
    for n in [int(s) for s in args.sizes.split(",")]:
        for row in bench_offers(n):
            print(json.dumps(row), flush=True)
    print(json.dumps(bench_auction()), flush=True)


if __name__ == "__main__":
    main()
