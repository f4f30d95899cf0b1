"""Command round trip: ``python -m bench.commands [--devices 1000]``.

Commands ``--devices`` simulated devices at once through the platform's own
path and reports p50/p95 from publish to ack:

    assets.services.command_publish_many (rows in PostgreSQL, published on commit, QoS 1)
      -> Mosquitto -> simulated device (assets.mqtt.devicepool, one MQTT client
      each, answering from the simulator's battery model)
      -> ack -> the bridge (batched, manual ack) -> DeviceCommand.acked_at

Latency = acked_at - sent_at as stored, so it includes the bridge's batching.
``vs.raw``: the same devices answering a bare paho publisher that times the
ack on receipt (no database on either side) -- the floor for this machine.
Goal (issue 3): p95 < 1 s on loopback.

Broker and database as in bench/ingest.py (own Mosquitto on a free port
unless --url; PostgreSQL DATABASE_URL or cem_bench_commands).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.ingest import start_mosquitto

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cem_bench_commands"


DEVICES = r"""
import sys
from assets.domain.devices import Battery
from assets.mqtt.connection import BrokerUrl
from assets.mqtt.devicepool import DevicePool
import threading
url, slug, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
batteries = {f"dev{i}": Battery(capacity_wh=10_000, soc_pct=60) for i in range(n)}
def handler(uid, cmd, now):
    r = batteries[uid].handle(cmd, now)
    return r.status, r.detail
pool = DevicePool(BrokerUrl.parse(url), handler=handler, client_prefix=slug)
for i in range(n):
    pool.add(community=slug, uid=f"dev{i}", username=None, password=None)
print("connected", pool.connect_all(timeout=60), flush=True)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
while not stop.is_set():
    pool.poll(0.005)
pool.disconnect_all(publish_offline=False)
"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--url", default=None)
    args = ap.parse_args(argv)
    n = args.devices

    from bench.ingest import setup_django

    db = os.environ.get("DATABASE_URL", "")
    setup_django(db if db.startswith("postgres") else DEFAULT_DB)
    from django.conf import settings
    from django.db import close_old_connections

    from assets import services
    from assets.domain import payloads
    from assets.models import DeviceCommand
    from assets.mqtt import publisher
    from assets.mqtt.bridge import Bridge
    from assets.mqtt.connection import BrokerUrl, connect, make_client
    from bench.ingest import make_devices

    tmp = tempfile.TemporaryDirectory()
    proc = None
    url = args.url
    if url is None:
        proc, url = start_mosquitto(Path(tmp.name))
    broker = BrokerUrl.parse(url)
    settings.MQTT_URL = url
    settings.MQTT_IS_EMBEDDED = False
    slug = f"cmd{uuid.uuid4().hex[:8]}"
    community = make_devices(slug, n)
    # issue 10: commands to a household's device need its consent; these bench batteries are the community's
    community.devices.update(ownership="community", owner_name="Bench co-op")
    devices = list(community.devices.order_by("pk"))

    # the devices live in their own process, as real devices would
    import subprocess
    import sys

    pool = subprocess.Popen(
        [sys.executable, "-c", DEVICES, url, slug, str(n)],
        stdout=subprocess.PIPE,
        stdin=subprocess.PIPE,
        text=True,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    connected = int(pool.stdout.readline().split()[1])
    stop = threading.Event()

    bridge = Bridge(
        broker,
        client_id=f"bench-bridge-{slug}",
        communities=[slug],
        max_wait_s=0.05,
        readings_every_s=3600,
        housekeeping_every_s=3600,
    )
    bridge.start()
    bridge.subscribed.wait(10)

    def run_bridge():
        while not stop.is_set():
            batch = bridge.drain()
            if batch:
                bridge.process(batch)
        close_old_connections()

    bridge_thread = threading.Thread(target=run_bridge, daemon=True)
    bridge_thread.start()
    time.sleep(2)  # retained "online" statuses settle

    # --- through the platform ---------------------------------------------------
    t0 = time.perf_counter()
    services.command_publish_many(
        commands=[(d, "set_power", {"power_w": 2000 if i % 2 else -2000}) for i, d in enumerate(devices)],
        source="bench",
    )
    send_s = time.perf_counter() - t0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not DeviceCommand.objects.filter(device__community=community, acked_at=None).exists():
            break
        time.sleep(0.2)
    rows = list(DeviceCommand.objects.filter(device__community=community).values_list("sent_at", "acked_at", "status"))
    lat = [(a - s).total_seconds() for s, a, _ in rows if s and a]
    statuses = {}
    for *_, st in rows:
        statuses[st] = statuses.get(st, 0) + 1

    # --- raw: a bare publisher timing acks on receipt -------------------------------
    raw_lat = []
    sent = {}
    done = threading.Event()

    def on_ack(c, u, msg):
        a = payloads.parse_ack(msg.payload, now=datetime.now(UTC))
        if a.command_id in sent:
            raw_lat.append(time.perf_counter() - sent.pop(a.command_id))
            if len(raw_lat) == n:
                done.set()

    plat = make_client(broker, client_id=f"bench-raw-{slug}")
    plat.max_inflight_messages_set(2000)
    plat.on_message = on_ack
    connect(plat, broker)
    plat.loop_start()
    plat.subscribe(f"cem/{slug}/+/ack", qos=1)
    time.sleep(1)
    vu = datetime.now(UTC) + timedelta(minutes=5)
    for d in devices:
        cid = uuid.uuid4().hex
        sent[cid] = time.perf_counter()
        plat.publish(
            f"cem/{slug}/{d.uid}/cmd",
            payloads.build_command(command_id=cid, action="auto", params={}, valid_until=vu),
            qos=1,
        )
    done.wait(60)

    stop.set()
    plat.disconnect()
    plat.loop_stop()
    bridge_thread.join(5)
    bridge.client.disconnect()
    bridge.client.loop_stop()
    publisher.close()
    pool.stdin.close()
    pool.wait(30)
    if proc is not None:
        proc.terminate()
        proc.wait(5)

    p50, p95 = (pct(lat, 0.5), pct(lat, 0.95)) if lat else (None, None)
    out = {
        "bench": "commands",
        "n": n,
        "seconds": round(p95, 3) if p95 is not None else None,
        "rate": round(len(lat) / max(send_s, 1e-9)),
        "unit": "commands/s sent",
        "p50_s": round(p50, 3) if p50 is not None else None,
        "p95_s": round(p95, 3) if p95 is not None else None,
        "acked": len(lat),
        "min_s": round(min(lat), 3) if lat else None,
        "max_s": round(max(lat), 3) if lat else None,
        "statuses": statuses,
        "devices_connected": connected,
        "send_seconds": round(send_s, 2),
        "vs": {},
    }
    if raw_lat:
        out["raw_p50_s"] = round(pct(raw_lat, 0.5), 3)
        out["raw_p95_s"] = round(pct(raw_lat, 0.95), 3)
        if p95:
            out["vs"]["raw_p95"] = round(out["raw_p95_s"] / p95, 3)
    print(json.dumps(out), flush=True)
    DeviceCommand.objects.filter(device__community=community).delete()
    community.devices.all().delete()


if __name__ == "__main__":
    main()
