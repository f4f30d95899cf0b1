"""VPP dispatch speed: ``python -m bench.dispatch [--no-loop] [--loop-devices 1000]``.

1. The plan (``vpp.domain.dispatch.solve``, one LP on HiGHS): 5,000 devices x
   8 half-hours (an evening event; goal < 1 s) and 1,000 devices x 48
   half-hours (day-ahead; goal < 2 s), 20 feeders whose limits bind, energy
   caps on the batteries, fair-rotation weights. ``rate`` is devices planned
   per second; ``vs.emhass`` is that rate over EMHASS's 2-10 homes/s (one
   home's MPC step takes it 0.1-0.5 s: REFERENCES.md), i.e. how many times
   more homes per second, best case for EMHASS (0.1 s) and worst (0.5 s).
2. The closed loop (``vpp.services.dispatch.event_correct``) for 1,000
   enrolled batteries on PostgreSQL + Mosquitto: each step, fresh telemetry
   for every device lands in the database and 3 % of the devices drop
   offline; timed from the telemetry insert to the replacement commands
   published to the broker (after commit). 20 steps; p50/p95 reported; goal
   p95 < 2 s.

One JSON line per size: {"bench", "n", "seconds", "rate", "unit", "vs"}.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from vpp.domain.dispatch import Problem, Unit, rotation_weights, solve

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cem_bench_vpp"


def problem(n: int, t: int, seed: int = 1) -> Problem:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(4, size=n, p=[0.35, 0.25, 0.25, 0.15])  # battery, ev, heat pump, turn-down home
    rated = np.select([kinds == 0, kinds == 1, kinds == 2], [5000, 7400, 3000], 300)
    recent = rng.exponential(2000, size=n)
    weights = rotation_weights(recent.tolist())
    units = []
    for i in range(n):
        avail = (rated[i] * rng.uniform(0.2, 1.0, size=t)).astype(int)
        units.append(
            Unit(
                key=i,
                node=i % 20,
                max_w=avail.tolist(),
                discomfort_p_per_kwh=float([2, 4, 8, 12][kinds[i]]),
                weight=weights[i],
                energy_wh=int(rng.uniform(3000, 9000)) if kinds[i] == 0 else None,
            )
        )
    total = sum(np.asarray(u.max_w) for u in units)
    target = (0.6 * total).astype(int).tolist()
    per_node = int(0.6 * total.mean() / 20 * 1.2)
    return Problem(period_minutes=30, target_w=target, units=units, node_limit_w={k: [per_node] * t for k in range(20)})


def bench_plan(n: int, t: int, goal: float, repeats: int = 3) -> dict:
    p = problem(n, t)
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        plan = solve(p)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    rate = n / best
    return {
        "bench": "dispatch_plan",
        "n": n,
        "periods": t,
        "seconds": round(best, 3),
        "rate": round(rate, 1),
        "unit": "devices/s",
        "goal_s": goal,
        "met": plan.met,
        "vs": {"emhass_0.1s": round(rate / 10, 1), "emhass_0.5s": round(rate / 2, 1)},
    }


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_loop(devices: int, steps: int, url: str | None) -> dict:
    from bench.ingest import setup_django, start_mosquitto

    db = os.environ.get("DATABASE_URL", "")
    setup_django(db if db.startswith("postgres") else DEFAULT_DB)
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from assets.models import Device, Meter, Telemetry
    from assets.mqtt import publisher
    from community.models import Community, ConsentRecord, Membership, NetworkNode, Site
    from vpp.models import Bid, Enrolment, Event, Requirement
    from vpp.services import dispatch

    tmp = tempfile.TemporaryDirectory()
    proc = None
    if url is None:
        proc, url = start_mosquitto(Path(tmp.name))
    settings.MQTT_URL = url
    settings.MQTT_IS_EMBEDDED = False
    slug = f"vpp{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    User = get_user_model()
    c = Community.objects.create(name=f"Bench {slug}", slug=slug)
    node = NetworkNode.objects.create(
        community=c,
        kind="feeder",
        name="F",
        code="F",
        import_capacity_kw=Decimal(99999),
        export_capacity_kw=Decimal(99999),
    )
    users = User.objects.bulk_create([User(username=f"{slug}-{i}") for i in range(devices)])
    Membership.objects.bulk_create([Membership(community=c, user=u, role="member") for u in users])
    sites = Site.objects.bulk_create(
        [
            Site(
                community=c,
                name=f"home {i}",
                address="-",
                postcode="B1 1AA",
                latitude=52,
                longitude=-1,
                network_node=node,
            )
            for i in range(devices)
        ]
    )
    Site.occupants.through.objects.bulk_create(
        [Site.occupants.through(site_id=s.pk, user_id=u.pk) for s, u in zip(sites, users, strict=True)]
    )
    Meter.objects.bulk_create([Meter(site=s, serial=f"{slug}-{i}") for i, s in enumerate(sites)])
    devs = Device.objects.bulk_create(
        [
            Device(
                community=c,
                site=s,
                uid=f"bat{i}",
                name=f"bat{i}",
                kind="battery",
                rated_power_w=5000,
                capacity_wh=10_000,
                online=True,
            )
            for i, s in enumerate(sites)
        ]
    )
    consents = ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                community=c,
                user=u,
                purpose="vpp",
                scope=f"device:{d.pk}",
                text="bench",
                granted_at=now - timedelta(days=1),
                expires_at=now + timedelta(days=365),
            )
            for u, d in zip(users, devs, strict=True)
        ]
    )
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                community=c, site=s, user=u, kind="device", device=d, consent=cr, enrolled_at=now - timedelta(days=1)
            )
            for s, u, d, cr in zip(sites, users, devs, consents, strict=True)
        ]
    )
    Telemetry.objects.bulk_create(
        [Telemetry(device=d, ts=now - timedelta(seconds=20), power_w=0, soc_pct=80) for d in devs]
    )
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=now.minute % 30)
    buyer = users[0]
    req = Requirement.objects.create(
        community=c,
        buyer=buyer,
        buyer_name="Bench DSO",
        reference=slug,
        node=node,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        kw_wanted=Decimal(devices * 2),
        utilisation_gbp_per_mwh=Decimal(306),
        status="awarded",
    )
    bid = Bid.objects.create(
        requirement=req,
        volume_kw=Decimal(devices * 2),
        utilisation_gbp_per_mwh=Decimal(306),
        status="accepted",
        created_at=now,
    )
    ev = Event.objects.create(
        community=c,
        requirement=req,
        bid=bid,
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        target_w=devices * 2000,
        created_at=now,
    )
    now = start + timedelta(seconds=20)  # the event's first minute (all services take ``now``)
    t0 = time.perf_counter()
    sent = dispatch.event_dispatch_period(event=ev, now=now)
    first = time.perf_counter() - t0
    ev.refresh_from_db()
    rng = np.random.default_rng(7)
    times, solve_times = [], []
    ids = [d.pk for d in devs]
    for step in range(steps):
        t = now + timedelta(seconds=60 * (step + 1))
        if t >= start + timedelta(minutes=30):
            break
        off = rng.choice(ids, size=max(1, devices * 3 // 100), replace=False).tolist()
        t0 = time.perf_counter()
        with transaction.atomic():
            Telemetry.objects.bulk_create(
                [Telemetry(device_id=i, ts=t - timedelta(seconds=2), power_w=-2000, soc_pct=70) for i in ids],
                ignore_conflicts=True,
            )
            Device.objects.filter(pk__in=off).update(online=False)
        t1 = time.perf_counter()
        run = dispatch.event_correct(event=ev, now=t)
        times.append(time.perf_counter() - t0)
        solve_times.append(time.perf_counter() - t1)
        assert run is not None
    publisher.close()
    if proc is not None:
        proc.terminate()
        proc.wait(5)
    p50, p95 = pct(times, 0.5), pct(times, 0.95)
    return {
        "bench": "dispatch_closed_loop",
        "n": devices,
        "seconds": round(p95, 3),
        "rate": round(devices / p95, 1),
        "unit": "devices/s",
        "p50_s": round(p50, 3),
        "correction_only_p95_s": round(pct(solve_times, 0.95), 3),
        "steps": len(times),
        "first_dispatch_s": round(first, 3),
        "first_dispatch_commands": len(sent),
        "goal_s": 2.0,
        "db": "postgresql",
        "broker": "mosquitto",
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-loop", action="store_true", help="only the pure planning benchmarks")
    ap.add_argument("--loop-devices", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--url", default=None, help="an MQTT broker (default: a private Mosquitto on a free port)")
    args = ap.parse_args(argv)
    print(json.dumps(bench_plan(5000, 8, 1.0)), flush=True)
    print(json.dumps(bench_plan(1000, 48, 2.0)), flush=True)
    if not args.no_loop:
        print(json.dumps(bench_loop(args.loop_devices, args.steps, args.url)), flush=True)


if __name__ == "__main__":
    main()
