"""Month settlement: ``python -m bench.settlement [--sites 1000] [--days 30]``.

Settles one month of half-hourly meter data for 1,000 sites (1.44 M
readings) on PostgreSQL, end to end: read the readings and the month's
trades, settle every period against the backstop prices with fees and the
social tariff (``lem.batch.settlement_settle_range``, penny-identical to the
per-period service), write one settlement line per member and local day
(31,000, one binary COPY; each run keeps its packed inputs) and post one
balanced, hash-chained ledger entry per local day. Afterwards (timed
separately): one member's month of half-hourly detail settled again on demand
from the runs' inputs (what the statement CSV shows). Setup (sites, readings
written with COPY, ~36k trades from cleared midday periods) is not timed. The
ledger is verified afterwards (timed separately). The machine's 1-minute load
average before and after the timed part is reported with the figure.

Database: DATABASE_URL if it is PostgreSQL, else
postgres://postgres@127.0.0.1:5432/cem_bench_lem. Goal (issue 14 item 10): < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from bench.market_day import DEFAULT_DB, setup_django


def build(n_sites: int, days: int, start: datetime):
    from django.db import connection

    from assets.models import IntervalReading
    from bench.market_day import build_community
    from lem.domain.simulate import homes, period_energy  # noqa: F401
    from lem.models import ClearingRun, Order, Participant, Trade

    market, sites, meters, model = build_community(n_sites, start, history_days=0)
    # readings for the month, written with COPY (setup)
    rng = np.random.default_rng(5)
    periods = [start + timedelta(minutes=30 * i) for i in range(days * 48)]
    hours = np.array([(p.hour + p.minute / 60 + 1) % 24 for p in periods])
    load = np.array([h.annual_kwh for h in homes(n_sites, seed=11)]) / 8760 * 500  # Wh per half hour, mean
    pv = np.array([h.pv_kwp for h in homes(n_sites, seed=11)])
    table = IntervalReading._meta.db_table
    with connection.cursor() as c:
        with c.cursor.copy(
            f"COPY {table} (meter_id, period_start, period_minutes, import_wh, export_wh, source, received_at) FROM STDIN"
        ) as cp:
            now = datetime.now(UTC)
            for i, p in enumerate(periods):
                sun = max(0.0, np.sin(np.pi * (hours[i] - 5.5) / 15.5)) ** 1.5 if 5.5 < hours[i] < 21 else 0.0
                net = load * rng.uniform(0.6, 1.5, n_sites) - pv * 400 * sun * rng.uniform(0.4, 1.0)
                for m, v in zip(meters, net.astype(int).tolist(), strict=True):
                    cp.write_row((m.pk, p, 30, v if v > 0 else 0, -v if v < 0 else 0, "csv", now))
    # trades in 12 midday periods a day: PV homes sell to their neighbours
    parts = list(Participant.objects.filter(market=market).order_by("pk"))
    sellers = [p for p, h in zip(parts, pv, strict=True) if h > 0][:50]
    buyers = [p for p, h in zip(parts, pv, strict=True) if h == 0][:100]
    rule = market.rule_versions.first()
    n_trades = 0
    for day in range(days):
        for slot in range(20, 32, 1):
            p = start + timedelta(days=day, minutes=30 * slot)
            run = ClearingRun.objects.create(
                market=market,
                period_start=p,
                rule=rule,
                mechanism="uniform",
                status="done",
                clearing_price=Decimal("20"),
                started_at=p,
                finished_at=p,
            )
            offers = Order.objects.bulk_create(
                [
                    Order(
                        market=market,
                        participant=s,
                        period_start=p,
                        side="offer",
                        quantity_wh=400,
                        price=Decimal("17"),
                        status="cleared",
                        submitted_at=p - timedelta(hours=1),
                        filled_wh=400,
                    )
                    for s in sellers
                ]
            )
            bids = Order.objects.bulk_create(
                [
                    Order(
                        market=market,
                        participant=b,
                        period_start=p,
                        side="bid",
                        quantity_wh=200,
                        price=Decimal("23"),
                        status="cleared",
                        submitted_at=p - timedelta(hours=1),
                        filled_wh=200,
                    )
                    for b in buyers
                ]
            )
            Trade.objects.bulk_create(
                [
                    Trade(
                        run=run,
                        market=market,
                        period_start=p,
                        bid=bid,
                        offer=offers[k // 2],
                        buyer_id=bid.participant_id,
                        seller_id=offers[k // 2].participant_id,
                        quantity_wh=200,
                        buyer_price=Decimal("20"),
                        seller_price=Decimal("20"),
                        energy_source="solar",
                        co2_g_per_kwh=40,
                    )
                    for k, bid in enumerate(bids)
                ]
            )
            n_trades += len(bids)
    return market, len(periods) * n_sites, n_trades


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=1000)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args(argv)
    db = os.environ.get("DATABASE_URL", "")
    if not db.startswith("postgres"):
        db = DEFAULT_DB
    setup_django(db)
    from community.selectors import ledger_verify
    from lem.batch import settlement_settle_range
    from lem.models import SettlementLine
    from lem.selectors import statement_periods

    start = datetime(2026, 6, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    market, readings, trades = build(args.sites, args.days, start)
    setup_s = time.perf_counter() - t0
    end = start + timedelta(days=args.days)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    c0 = time.process_time()
    out = settlement_settle_range(market=market, start=start, end=end, now=end + timedelta(hours=1))
    seconds = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    load_after = os.getloadavg()[0]
    t0 = time.perf_counter()
    v = ledger_verify(market.community)
    verify_s = time.perf_counter() - t0
    member = market.participants.order_by("pk").first()
    t0 = time.perf_counter()
    detail = statement_periods(member, start, end)
    detail_s = time.perf_counter() - t0
    day_lines = SettlementLine.objects.filter(participant=member)
    assert sum(x.total for x in detail) == sum(x.total for x in day_lines), "detail and day lines disagree"
    print(
        json.dumps(
            {
                "bench": "settlement",
                "n": readings,
                "seconds": round(seconds, 2),
                "rate": round(readings / seconds),
                "unit": "readings/s",
                "vs": {
                    "sites": args.sites,
                    "days": args.days,
                    "trades": trades,
                    **out,
                    "setup_seconds": round(setup_s, 1),
                    "ledger_ok": v.ok,
                    "ledger_lines": v.lines,
                    "verify_seconds": round(verify_s, 1),
                    "lines": SettlementLine.objects.filter(participant__market=market).count(),
                    "one_member_month_detail_seconds": round(detail_s, 2),
                    "one_member_month_periods": len(detail),
                    "python_cpu_seconds": round(cpu_s, 2),
                    "load_average_1m": [round(load_before, 2), round(load_after, 2)],
                    "goal_seconds": 10,
                },
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
