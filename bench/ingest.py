"""Bridge ingest speed: ``python -m bench.ingest [--sizes 20000,100000] [--devices 500]``.

Publishes N telemetry messages (QoS 1, from a separate process, spread over
``--devices`` devices) through a real Mosquitto and measures the sustained rate at which the bridge
(`assets.mqtt.bridge.Bridge`, the same code `manage.py mqtt_bridge` runs:
validation, batched upsert on (device, ts), acks after commit) has them
committed in PostgreSQL. The messages are queued in the broker for the
bridge's persistent session first and the clock runs from the bridge's
connect to its last commit, so the figure is the bridge's sustained rate and
not the (slower, single Python) publisher's.

In the same run, ``mosquitto_sub -q 1 -C N`` drains the same N messages from
its own persistent session: its receive rate is the broker's ceiling on this
machine, so ``vs.mosquitto_sub`` says how close the bridge gets to it.

Broker: by default the bench starts its own Mosquitto on a free port with
the settings we recommend for production (MOSQUITTO_CONF below: a deep
per-client queue, so a subscriber that falls behind for a moment is queued
rather than dropped -- Mosquitto's default of 1,000 queued messages drops
QoS 1 messages at these rates). ``--url`` uses an existing broker instead.

Database: DATABASE_URL if it is PostgreSQL, else
postgres://postgres@127.0.0.1:5432/cem_bench_ingest (created and migrated
if missing). Goal (issue 3): >= 5,000 messages/s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cem_bench_ingest"

PUBLISHER = r"""
import sys, time, json, threading
from datetime import datetime, timedelta, timezone
import paho.mqtt.client as mqtt
host, port, slug, n, devices = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{slug}", protocol=mqtt.MQTTv5)
c.max_inflight_messages_set(2000)
c.max_queued_messages_set(0)
done = threading.Event()
acked = [0]
def on_publish(client, userdata, mid, rc, props):
    acked[0] += 1
    if acked[0] >= n:
        done.set()
c.on_publish = on_publish
c.connect(host, port)
c.loop_start()
t0 = datetime.now(timezone.utc) - timedelta(hours=2)
per = -(-n // devices)
start = time.perf_counter()
print(json.dumps({"start": time.time()}), flush=True)
for i in range(n):
    d, k = i % devices, i // devices
    ts = (t0 + timedelta(seconds=k * 7200 / per)).isoformat().replace("+00:00", "Z")
    body = '{"ts":"%s","power_w":%d,"import_wh":%d,"export_wh":0,"soc_pct":%.1f}' % (ts, 500 + d, 1000 + k, 50.0)
    while c.publish(f"cem/{slug}/dev{d}/telemetry", body, qos=1).rc != 0:
        time.sleep(0.001)
done.wait(120)
print(json.dumps({"published": n, "seconds": time.perf_counter() - start}), flush=True)
c.disconnect(); c.loop_stop()
"""


MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 0
"""


def start_mosquitto(workdir: Path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = workdir / "mosquitto.conf"
    conf.write_text(MOSQUITTO_CONF.format(port=port) + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"mqtt://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("could not start mosquitto for the benchmark")


def setup_django(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import psycopg

    base, name = db_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_devices(slug: str, devices: int):
    from decimal import Decimal

    from assets.models import Device
    from community.models import Community, NetworkNode, Site

    c = Community.objects.create(name=f"Bench {slug}", slug=slug)
    node = NetworkNode.objects.create(
        community=c,
        kind="feeder",
        name="F",
        code="F",
        import_capacity_kw=Decimal(1000),
        export_capacity_kw=Decimal(1000),
    )
    site = Site.objects.create(
        community=c,
        name="Bench site",
        address="-",
        postcode="B1 1AA",
        latitude=Decimal(52),
        longitude=Decimal(-1),
        network_node=node,
    )
    Device.objects.bulk_create(
        [
            Device(
                community=c,
                site=site,
                uid=f"dev{i}",
                name=f"dev{i}",
                kind="battery",
                rated_power_w=10_000,
                capacity_wh=10_000,
            )
            for i in range(devices)
        ]
    )
    return c


def run_size(n: int, devices: int, broker, *, batch_size: int) -> dict:
    """Queue N messages in the broker for two persistent sessions (the bridge's
    and mosquitto_sub's), then let each drain its queue in turn and time it:
    the consumer's sustained rate, not the publisher's."""
    from assets.models import Telemetry
    from assets.mqtt.bridge import Bridge

    slug = f"bench{uuid.uuid4().hex[:8]}"
    community = make_devices(slug, devices)
    client_id = f"bench-bridge-{slug}"
    topic = f"cem/{slug}/+/telemetry"
    sub_id = f"bench-sub-{slug}"
    sub_cmd = [
        "mosquitto_sub",
        "-h",
        broker.host,
        "-p",
        str(broker.port),
        "-q",
        "1",
        "-V",
        "mqttv5",
        "-c",
        "-i",
        sub_id,
        "-x",
        "3600",
        "-t",
        topic,
    ]
    have_sub = shutil.which("mosquitto_sub") is not None

    # 1. create both sessions, then go away
    bridge = Bridge(broker, client_id=client_id, communities=[slug], batch_size=batch_size, readings_every_s=3600)
    bridge.start()
    if not bridge.subscribed.wait(10):
        raise SystemExit(f"the bridge could not subscribe at {broker.redacted()}")
    bridge.client.disconnect()
    bridge.client.loop_stop()
    if have_sub:
        subprocess.run(sub_cmd + ["-E"], check=True, timeout=30, stdout=subprocess.DEVNULL)

    # 2. publish N while nobody is connected
    pub = subprocess.run(
        [sys.executable, "-c", PUBLISHER, broker.host, str(broker.port), slug, str(n), str(devices)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    pub_info = json.loads(pub.stdout.strip().splitlines()[-1])

    # 3. the bridge drains its queue into PostgreSQL
    bridge = Bridge(broker, client_id=client_id, communities=[slug], batch_size=batch_size, readings_every_s=3600)
    t0 = time.perf_counter()
    bridge.start()
    deadline = time.monotonic() + 600
    while bridge.stats["accepted"] + bridge.stats["rejected"] < n and time.monotonic() < deadline:
        batch = bridge.drain()
        if batch:
            bridge.process(batch)
    seconds = time.perf_counter() - t0
    bridge.client.disconnect()
    bridge.client.loop_stop()
    stored = Telemetry.objects.filter(device__community=community).count()

    # 4. mosquitto_sub drains the same N from its queue (no database): the ceiling
    raw = None
    if have_sub:
        t1 = time.perf_counter()
        subprocess.run(sub_cmd + ["-C", str(n)], check=True, timeout=600, stdout=subprocess.DEVNULL)
        raw = n / (time.perf_counter() - t1)

    rate = n / seconds
    out = {
        "bench": "ingest",
        "n": n,
        "seconds": round(seconds, 3),
        "rate": round(rate),
        "unit": "messages/s",
        "vs": {},
        "stored": stored,
        "rejected": bridge.stats["rejected"],
        "devices": devices,
        "batches": bridge.stats["batches"],
        "db": "postgresql",
        "publisher_rate": round(n / pub_info["seconds"]),
    }
    if raw:
        out["mosquitto_sub_rate"] = round(raw)
        out["vs"]["mosquitto_sub"] = round(rate / raw, 3)
    # clean up: the bench rows are not demo data
    Telemetry.objects.filter(device__community=community).delete()
    community.devices.all().delete()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--url", default=None, help="use this broker instead of starting a Mosquitto")
    args = ap.parse_args(argv)
    db = os.environ.get("DATABASE_URL", "")
    setup_django(db if db.startswith("postgres") else DEFAULT_DB)
    import tempfile

    from assets.mqtt.connection import BrokerUrl

    proc = None
    url = args.url
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        proc, url = start_mosquitto(Path(tmp.name))
    broker = BrokerUrl.parse(url)
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            print(json.dumps(run_size(n, args.devices, broker, batch_size=args.batch_size)), flush=True)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(5)
        tmp.cleanup()


if __name__ == "__main__":
    main()
