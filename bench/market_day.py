"""One simulated market day: ``python -m bench.market_day [--sizes 50,200,1000]``.

For each size, a fresh community of N homes on 4 feeders (40% with PV)
trades every 30 minutes for 24 hours through the real services, on
PostgreSQL: each period the trading agents forecast and place orders,
the market clears at gate closure (network limits included), the meter
readings arrive, settlement runs and posts to the hash-chained ledger. At the
end ``ledger_verify`` must pass. Setup (users, sites, three days of history
for the agents' forecasts) is not timed.

Database: DATABASE_URL if it is PostgreSQL, else
postgres://postgres@127.0.0.1:5432/cem_bench_lem (created and migrated).
Goal (issue 4): 1,000 homes in under 60 s. Reference: the open-source Grid
Singularity exchange (gsy-e) needed ~818 s for one day of 50 houses on this
kind of machine (shared/REFERENCES.md); "vs" is that time over ours.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cem_bench_lem"
GSY_E_50_HOUSES_S = 818.0


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import psycopg

    base, name = db_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_community(n: int, day0: datetime, history_days: int = 8):
    """Community, feeders, N homes with occupants, participants, meters, history."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from assets.models import IntervalReading, Meter
    from community import services as cs
    from community.models import Membership, Site
    from lem import services
    from lem.domain.simulate import homes, period_energy
    from lem.models import Participant

    tag = uuid.uuid4().hex[:6]
    community = cs.community_create(name=f"Bench {n} {tag}", slug=f"bench-{n}-{tag}")
    gsp = cs.network_node_create(
        community=community, kind="gsp", name="GSP", code="G1", import_capacity_kw=n * 10, export_capacity_kw=n * 10
    )
    sub = cs.network_node_create(
        community=community,
        kind="primary",
        name="Substation",
        code="S1",
        parent=gsp,
        import_capacity_kw=n * 3,
        export_capacity_kw=n * 2,
    )
    # feeder limits sized so that some midday export binds
    feeders = [
        cs.network_node_create(
            community=community,
            kind="feeder",
            name=f"Feeder {i + 1}",
            code=f"F{i + 1}",
            parent=sub,
            import_capacity_kw=n,
            export_capacity_kw=max(2, n // 10),
        )
        for i in range(4)
    ]
    hs = homes(n, seed=11)
    # homes with PV sit on feeder 1 (a sunny street): its export limit binds at midday
    feeder_of = [feeders[0] if h.pv_kwp else feeders[1 + i % 3] for i, h in enumerate(hs)]
    User = get_user_model()
    pw = make_password(None)
    users = User.objects.bulk_create([User(username=f"b{tag}-{i}", password=pw) for i in range(n)])
    Membership.objects.bulk_create([Membership(community=community, user=u, role="member") for u in users])
    sites = Site.objects.bulk_create(
        [
            Site(
                community=community,
                name=f"{i} Bench Road",
                address=f"{i} Bench Road",
                postcode="BE1 1NC",
                latitude=52,
                longitude=-1,
                network_node=feeder_of[i],
                annual_consumption_kwh=3000,
            )
            for i in range(n)
        ]
    )
    Site.occupants.through.objects.bulk_create(
        [Site.occupants.through(site_id=s.pk, user_id=u.pk) for s, u in zip(sites, users, strict=True)]
    )
    operator = User.objects.create(username=f"op-{tag}", password=pw)
    Membership.objects.create(community=community, user=operator, role="market_operator")
    market = services.market_create(
        community=community,
        actor=operator,
        rules={
            "mechanism": "uniform",
            "import_price": "24.5",
            "peak_import_price": "32",
            "export_price": "15",
            "fee_per_trade_pence": "0.1",
            "fee_pct": "1",
            "social_discount_pct": "20",
            "fund_share_pct": "50",
        },
        now=day0 - timedelta(days=30),
    )
    Participant.objects.bulk_create(
        [
            Participant(market=market, site=s, user=u, pseudonym=f"T{s.pk}", fuel_poor=(i % 9 == 4))
            for i, (s, u) in enumerate(zip(sites, users, strict=True))
        ]
    )
    meters = Meter.objects.bulk_create([Meter(site=s, kind=Meter.Kind.SITE, serial=f"BM-{tag}-{s.pk}") for s in sites])
    model = {s.pk: h for s, h in zip(sites, hs, strict=True)}
    rows = []
    t = day0 - timedelta(days=history_days)
    while t < day0:
        for s, m in zip(sites, meters, strict=True):
            imp, exp = period_energy(model[s.pk], t)
            rows.append(
                IntervalReading(meter=m, period_start=t, period_minutes=30, import_wh=imp, export_wh=exp, source="csv")
            )
        t += timedelta(minutes=30)
        if len(rows) >= 50_000:  # a week of a town's readings would not fit in memory at once
            IntervalReading.objects.bulk_create(rows, batch_size=5000)
            rows = []
    IntervalReading.objects.bulk_create(rows, batch_size=5000)
    return market, sites, meters, model


def run_day(market, sites, meters, model, day0: datetime) -> dict:
    from assets.models import IntervalReading
    from lem import services
    from lem.domain.simulate import period_energy

    gate = timedelta(minutes=market.gate_closure_minutes)
    stats = {"orders": 0, "trades_wh": 0, "split_periods": 0, "settled": 0}
    t = day0
    for _ in range(48):
        stats["orders"] += services.agent_place_orders(
            market=market, period_start=t, now=t - gate - timedelta(minutes=5)
        )
        run = services.market_clear(market=market, period_start=t, now=t - gate)
        stats["trades_wh"] += run.volume_wh
        stats["split_periods"] += bool(run.binding)
        IntervalReading.objects.bulk_create(
            [
                IntervalReading(
                    meter=m, period_start=t, period_minutes=30, import_wh=e[0], export_wh=e[1], source="telemetry"
                )
                for s, m in zip(sites, meters, strict=True)
                for e in [period_energy(model[s.pk], t)]
            ],
            batch_size=5000,
        )
        st = services.settlement_settle_period(market=market, period_start=t, now=t + timedelta(minutes=40))
        stats["settled"] += st.status == "settled"
        t += timedelta(minutes=30)
    return stats


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,200,1000")
    args = ap.parse_args(argv)
    db = os.environ.get("DATABASE_URL", "")
    if not db.startswith("postgres"):
        db = DEFAULT_DB
    setup_django(db)
    from community.selectors import ledger_verify

    day0 = datetime(2026, 6, 15, tzinfo=UTC)
    for n in [int(x) for x in args.sizes.split(",") if x]:
        t0 = time.perf_counter()
        market, sites, meters, model = build_community(n, day0)
        setup_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        stats = run_day(market, sites, meters, model, day0)
        seconds = time.perf_counter() - t0
        v = ledger_verify(market.community)
        vs = {"setup_seconds": round(setup_s, 1), "ledger_ok": v.ok, "ledger_entries": v.entries, **stats}
        if n == 50:
            vs["gsy-e"] = round(GSY_E_50_HOUSES_S / seconds, 1)
        print(
            json.dumps(
                {
                    "bench": "market_day",
                    "n": n,
                    "seconds": round(seconds, 2),
                    "rate": round(n * 48 / seconds),
                    "unit": "home-periods/s",
                    "vs": vs,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
