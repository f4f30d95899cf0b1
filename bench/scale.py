"""A town-sized community on this machine: ``python -m bench.scale [--homes 1000] [--bridges 1,2,3]``.

A simulated community of N homes with three devices each (meter, and PV,
battery, EV charger or heat pump) sends 1-minute telemetry through a real
Mosquitto to ``--bridges`` real ``mqtt_bridge`` processes sharing one MQTT v5
subscription group, into PostgreSQL (telemetry and readings partitioned by
month), with one Celery worker on the ``ingest`` queue (a RabbitMQ vhost of
the run's own) rebuilding interval readings as the bridges ask. The simulated
day runs ``--speed`` times faster than real time for ``--minutes`` simulated
minutes, so the offered load is 3N/60 x speed msg/s; the default speed,
10,000 / N, offers the issue's 500 msg/s at any size. Use ``--minutes 35``
or more to see readings written (a half-hour needs both its boundaries). Then, on the same community: trading agents and clearing
for ``--periods`` half-hour periods through the real services, and the
settlement of a whole day of half-hourly readings (``lem.batch``).

One JSON line per (homes, bridges) ingest run, one for the market and one
for the database size:

- ``ingest``: sustained msg/s stored against offered, ingest lag p50/p95 (s,
  publish -> row written; goal p95 < 5 s), every message stored once;
- ``market``: agents + clearing seconds per period (goal < 60 s at 10,000
  homes), settlement of the day (goal < 60 s);
- ``db_size``: bytes per telemetry row and per reading, and per home-year
  (telemetry at 1 minute, kept TELEMETRY_RETENTION_DAYS, and readings kept).

Database: DATABASE_URL if PostgreSQL, else
postgres://postgres@127.0.0.1:5432/cem_bench_scale (created and migrated).
CI size: ``--homes 1000 --minutes 5`` (a few minutes); 10,000 by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cem_bench_scale"
KINDS = ("pv", "battery", "ev_charger", "heat_pump")

# Publishes simulated minute k of the day at real time k*60/speed; prints
# {k: real publish time} so the bench can compute each row's lag.
PUBLISHER = r"""
import sys, time, json, threading
from datetime import datetime, timedelta, timezone
import paho.mqtt.client as mqtt
host, port, slug, uids, sim0, minutes, speed = sys.argv[1], int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read().split(","), sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
sim0 = datetime.fromisoformat(sim0)
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"scale-pub-{slug}", protocol=mqtt.MQTTv5)
c.max_inflight_messages_set(20000)
c.max_queued_messages_set(0)
acked = [0]
c.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
c.connect(host, port)
c.loop_start()
sent = {}  # minute -> the real time each chunk of its messages was handed to the client
start = time.time()
step = 60.0 / speed
per = max(1, len(uids) // 20)
n = 0
for k in range(minutes):
    due = start + k * step
    while time.time() < due:
        time.sleep(min(0.01, due - time.time()))
    ts = (sim0 + timedelta(minutes=k)).isoformat().replace("+00:00", "Z")
    sent[k] = []
    # spread the minute's messages over the step, as real devices would be
    for j in range(0, len(uids), per):
        sent[k].append(time.time())
        for i, uid in enumerate(uids[j:j + per], start=j):
            body = '{"ts":"%s","power_w":%d,"import_wh":%d,"export_wh":0}' % (ts, (i * 37 + k * 11) % 3000, 1000 * i + 5 * k)
            c.publish(f"cem/{slug}/{uid}/telemetry", body, qos=1)
            n += 1
        t_next = due + step * (j + per) / len(uids)
        while time.time() < t_next:
            time.sleep(0.002)
behind = time.time() - (start + minutes * step)
deadline = time.time() + 120
while acked[0] < n and time.time() < deadline:  # every message accepted by the broker before we go
    time.sleep(0.1)
c.disconnect()
c.loop_stop()
print(json.dumps({"sent": sent, "per": per, "seconds": time.time() - start, "behind_s": behind, "acked": acked[0]}))
"""

MOSQUITTO_CONF = """listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 2000000
max_queued_bytes 0
log_dest none
"""


def setup(db_url: str) -> None:
    from bench.market_day import setup_django

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DEBUG", "true")
    setup_django(db_url)


def start_mosquitto(workdir: Path):
    from tests.assets.mqtt_helpers import free_port, wait_port

    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port) + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def add_devices(sites, meters) -> list[str]:
    """Three devices a home: the smart meter (feeding the site meter's readings) and one more pair."""
    from assets.models import Device, Meter

    community = sites[0].community
    rows = []
    for i, s in enumerate(sites):
        rows.append(
            Device(
                community=community, site=s, uid=f"h{i}-meter", name="meter", kind="smart_meter", rated_power_w=20_000
            )
        )
        for j in (1, 2):
            kind = KINDS[(i + j) % len(KINDS)]
            rows.append(
                Device(
                    community=community,
                    site=s,
                    uid=f"h{i}-{kind}",
                    name=kind,
                    kind=kind,
                    rated_power_w=20_000,
                    capacity_wh=10_000 if kind == "battery" else None,
                )
            )
    Device.objects.bulk_create(rows, batch_size=5000)
    by_uid = {d.uid: d.pk for d in Device.objects.filter(community=community)}
    for i, m in enumerate(meters):
        m.device_id = by_uid[f"h{i}-meter"]
    Meter.objects.bulk_update(meters, ["device"], batch_size=5000)
    return [d.uid for d in rows]


RABBITMQCTL = "/usr/sbin/rabbitmqctl"


def rabbit_vhost() -> tuple[str | None, str]:
    """A RabbitMQ vhost of our own (no other run's workers take our tasks), or,
    without rabbitmqctl, Redis db 15."""
    if not Path(RABBITMQCTL).exists():
        return None, "redis://127.0.0.1:6379/15"
    vhost = f"cem-bench-scale-{uuid.uuid4().hex[:8]}"
    for args in (["add_vhost", vhost], ["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        subprocess.run([RABBITMQCTL, *args], check=True, capture_output=True, timeout=60)
    return vhost, f"amqp://guest:guest@127.0.0.1:5672/{vhost}"


def drop_vhost(vhost: str | None) -> None:
    if vhost:
        subprocess.run([RABBITMQCTL, "delete_vhost", vhost], capture_output=True, timeout=60)


def run_ingest(
    community, uids, *, bridges: int, minutes: int, speed: float, sim0: datetime, workdir: Path, db_url, broker_url
):
    from django.db import connection

    from assets.models import IntervalReading, Telemetry

    mosq, port = start_mosquitto(workdir)
    group = f"scale{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "INFO",
    }
    # the readings roll-up runs on the ingest queue: one worker for it, as in the Procfile
    worker_log = workdir / f"worker-ingest-{bridges}.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "ingest", "--pool", "solo"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"ingest-{group}@%h"],
        cwd=ROOT,
        env=env,
        stdout=open(worker_log, "w"),
        stderr=subprocess.STDOUT,
    )
    readings_before = IntervalReading.objects.filter(meter__site__community=community, source="telemetry").count()
    procs = []
    profile = os.environ.get("BENCH_SCALE_PROFILE")  # a directory: each bridge runs under cProfile
    for b in range(bridges):
        log = workdir / f"bridge-{bridges}-{b}.log"
        procs.append(
            subprocess.Popen(
                [sys.executable]
                + (["-m", "cProfile", "-o", f"{profile}/bridge-{bridges}-{b}.prof"] if profile else [])
                + ["manage.py", "mqtt_bridge", "--client-id", f"{group}-{b}", "--share-group", group],
                cwd=ROOT,
                env=env,
                stdout=open(log, "w"),
                stderr=subprocess.STDOUT,
            )
        )
    for b in range(bridges):
        log = workdir / f"bridge-{bridges}-{b}.log"
        deadline = time.monotonic() + 120
        while "connected to" not in log.read_text() and time.monotonic() < deadline:
            if procs[b].poll() is not None:
                break
            time.sleep(0.2)
        if "connected to" not in log.read_text():  # a bridge that never started: say why, not a lag of nothing
            for p in procs + [worker]:
                p.kill()
            raise SystemExit(
                f"bridge {b} of {bridges} did not connect; its log ({log}) ends:\n{log.read_text()[-1500:]}"
            )
    time.sleep(1.0)
    before = Telemetry.objects.filter(device__community=community).count()
    n = len(uids) * minutes
    uid_file = workdir / "uids.txt"  # 30,000 device ids are too long for one command-line argument
    uid_file.write_text(",".join(uids))
    offered = len(uids) / 60 * speed
    pub = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, "127.0.0.1", str(port), community.slug, str(uid_file), sim0.isoformat()]
        + [str(minutes), str(speed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = pub.communicate(timeout=minutes * 60 / speed + 600)
    if pub.returncode != 0:
        raise SystemExit(err)
    pub_info = json.loads(out.strip().splitlines()[-1])
    sent = {int(k): v for k, v in pub_info["sent"].items()}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        stored = Telemetry.objects.filter(device__community=community).count() - before
        if stored >= n:
            break
        time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    # let the ingest worker finish the roll-ups the bridges queued (warm shutdown finishes the current task)
    time.sleep(5)
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(120)
    except subprocess.TimeoutExpired:
        worker.kill()
    readings = (
        IntervalReading.objects.filter(meter__site__community=community, source="telemetry").count() - readings_before
    )
    mosq.terminate()
    mosq.wait(10)
    # lag: row written (received_at, set as the bridge stores it) minus publish time of its minute
    with connection.cursor() as cur:
        cur.execute(
            "SELECT extract(epoch from t.ts), extract(epoch from t.received_at), d.uid FROM assets_telemetry t "
            "JOIN assets_device d ON d.id = t.device_id WHERE d.community_id = %s AND t.ts >= %s AND t.ts < %s",
            [community.pk, sim0, sim0 + timedelta(minutes=minutes)],
        )
        fetched = cur.fetchall()
    rows = np.array([(a, b) for a, b, _ in fetched], dtype=float)
    index = {uid: i for i, uid in enumerate(uids)}
    # each message's lag from the moment its chunk was handed to the publisher's client to its row
    per = pub_info["per"]
    k = np.round((rows[:, 0] - sim0.timestamp()) / 60).astype(int)
    chunk = np.array([index[u] // per for _, _, u in fetched])
    lag = rows[:, 1] - np.array([sent[a][b] for a, b in zip(k, chunk, strict=True)])
    seconds = float(rows[:, 1].max()) - min(min(v) for v in sent.values())  # first publish -> last row written
    return {
        "bench": "scale",
        "n": len(uids) // 3,
        "seconds": round(seconds, 1),
        "rate": round(len(rows) / seconds),
        "unit": "messages/s",
        "vs": {
            "part": "ingest",
            "bridges": bridges,
            "devices": len(uids),
            "offered_rate": round(offered),
            "sustained_vs_offered": round(len(rows) / seconds / offered, 3),
            "messages": n,
            "stored_once": int(len(rows)) == n,
            "lag_p50_s": round(float(np.percentile(lag, 50)), 2),
            "lag_p95_s": round(float(np.percentile(lag, 95)), 2),
            "lag_max_s": round(float(lag.max()), 2),
            "goal_lag_p95_s": 5,
            "publisher_seconds": round(pub_info["seconds"], 1),
            "publisher_behind_s": round(pub_info["behind_s"], 1),
            "publisher_unacked": n - pub_info["acked"],
            "readings_written": readings,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
    }


def run_market(market, sites, meters, model, day0: datetime, periods: int) -> dict:
    from django.db import connection

    from assets.models import IntervalReading
    from lem import services
    from lem.batch import settlement_settle_range
    from lem.domain.simulate import period_energy

    gate = timedelta(minutes=market.gate_closure_minutes)
    per_period = []
    for p in range(periods):
        t = day0 + timedelta(hours=10, minutes=30 * p)  # around midday: PV sells, trades happen
        t0 = time.perf_counter()
        orders = services.agent_place_orders(market=market, period_start=t, now=t - gate - timedelta(minutes=5))
        run = services.market_clear(market=market, period_start=t, now=t - gate)
        per_period.append((time.perf_counter() - t0, orders, run.volume_wh))
    # a day of readings, then the day's settlement in one batch
    table = IntervalReading._meta.db_table
    with (
        connection.cursor() as c,
        c.cursor.copy(
            f"COPY {table} (meter_id, period_start, period_minutes, import_wh, export_wh, source, received_at) FROM STDIN"
        ) as cp,
    ):
        now = datetime.now(UTC)
        for i in range(48):
            t = day0 + timedelta(minutes=30 * i)
            for s, m in zip(sites, meters, strict=True):
                e = period_energy(model[s.pk], t)
                cp.write_row((m.pk, t, 30, e[0], e[1], "csv", now))
    t0 = time.perf_counter()
    try:
        out = settlement_settle_range(
            market=market, start=day0, end=day0 + timedelta(days=1), now=day0 + timedelta(days=1, hours=1)
        )
    except Exception as exc:  # noqa: BLE001 - reported in the JSON line, the other figures still count
        out = {"error": f"{type(exc).__name__}: {exc}"}
    settle_s = time.perf_counter() - t0
    secs = [x[0] for x in per_period]
    return {
        "bench": "scale",
        "n": len(sites),
        "seconds": round(float(np.mean(secs)), 2),
        "rate": round(len(sites) / float(np.mean(secs))),
        "unit": "homes/s (agents + clearing, per period)",
        "vs": {
            "part": "market",
            "periods": periods,
            "agents_clearing_s_per_period_mean": round(float(np.mean(secs)), 2),
            "agents_clearing_s_per_period_max": round(float(np.max(secs)), 2),
            "orders_per_period": int(np.mean([x[1] for x in per_period])),
            "goal_s_per_period": 60,
            "settlement_day_s": round(settle_s, 2),
            "settlement_day_readings": 48 * len(sites),
            "goal_settlement_day_s": 60,
            "load_avg_1m": round(os.getloadavg()[0], 2),
            **{f"settlement_{k}": v for k, v in out.items() if isinstance(v, (int, float, str))},
        },
    }


def db_size(community) -> dict:
    from django.conf import settings
    from django.db import connection

    def bytes_per_row(table):
        with connection.cursor() as cur:
            cur.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0), coalesce(sum(c.reltuples), 0) FROM pg_class c "
                "WHERE c.relkind = 'r' AND (c.relname = %s OR c.relname LIKE %s)",
                [table, table + "\\_%"],
            )
            size, _ = cur.fetchone()
            cur.execute(f'SELECT count(*) FROM "{table}"')
            rows = cur.fetchone()[0]
        return float(size) / max(rows, 1), rows

    with connection.cursor() as cur:
        cur.execute("ANALYZE assets_telemetry; ANALYZE assets_intervalreading")
    tele_b, tele_rows = bytes_per_row("assets_telemetry")
    read_b, read_rows = bytes_per_row("assets_intervalreading")
    days = settings.TELEMETRY_RETENTION_DAYS
    tele_year = 3 * 525_600 * tele_b  # three devices at one message a minute
    return {
        "bench": "scale",
        "n": community.sites.count(),
        "seconds": 0,
        "rate": round((tele_year + 17_520 * read_b) / 1e6, 1),
        "unit": "MB per home-year (telemetry + readings, before retention)",
        "vs": {
            "part": "db_size",
            "telemetry_bytes_per_row": round(tele_b),
            "reading_bytes_per_row": round(read_b),
            "telemetry_rows": tele_rows,
            "reading_rows": read_rows,
            "telemetry_mb_per_home_year": round(tele_year / 1e6, 1),
            "telemetry_mb_per_home_kept": round(tele_year * days / 365 / 1e6, 1),
            "retention_days": days,
            "readings_mb_per_home_year": round(17_520 * read_b / 1e6, 2),
        },
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--homes", type=int, default=1000)
    ap.add_argument("--bridges", default="1,2,3")
    ap.add_argument("--minutes", type=int, default=5, help="simulated minutes of telemetry per run")
    ap.add_argument(
        "--speed",
        type=float,
        default=None,
        help="simulated minutes per real minute (default 10,000 / homes: the issue's 500 msg/s at any size)",
    )
    ap.add_argument("--periods", type=int, default=4, help="half-hour periods of agents + clearing timed")
    args = ap.parse_args(argv)
    speed = args.speed or 10_000 / args.homes
    db = os.environ.get("DATABASE_URL", "")
    if not db.startswith("postgres"):
        db = DEFAULT_DB
    setup(db)
    from assets import storage
    from bench.market_day import build_community

    day0 = (datetime.now(UTC) - timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    storage.partitions_ensure(now=day0)
    # a week of history: the agents order only with one
    market, sites, meters, model = build_community(args.homes, day0, history_days=8)
    uids = add_devices(sites, meters)
    workdir = Path(tempfile.mkdtemp(prefix="cem-scale-"))
    vhost, broker_url = rabbit_vhost()
    try:
        for i, b in enumerate(int(x) for x in args.bridges.split(",") if x):
            sim0 = day0 + timedelta(days=1, hours=2 * i)  # a fresh window per run: nothing is an upsert
            line = run_ingest(
                market.community,
                uids,
                bridges=b,
                minutes=args.minutes,
                speed=speed,
                sim0=sim0,
                workdir=workdir,
                db_url=db,
                broker_url=broker_url,
            )
            print(json.dumps(line), flush=True)
    finally:
        drop_vhost(vhost)
    print(json.dumps(run_market(market, sites, meters, model, day0, args.periods)), flush=True)
    print(json.dumps(db_size(market.community)), flush=True)


if __name__ == "__main__":
    main()
