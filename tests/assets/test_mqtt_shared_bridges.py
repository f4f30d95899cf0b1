"""Issue 16: any number of `mqtt_bridge` processes share the device stream
through an MQTT v5 shared subscription ($share/<group>/...), on the real
Mosquitto and PostgreSQL.

Three bridge processes share the messages of 30,000 devices; one is killed
with SIGKILL mid-stream and restarted with the same client id (as systemd's
Restart=always does); every message is stored exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from assets.models import Device, Telemetry
from assets.mqtt.connection import BrokerUrl, connect, make_client
from conftest import make_world, needs_postgres
from tests.assets.mqtt_helpers import MOSQUITTO, free_port, wait_port

pytestmark = [
    pytest.mark.mqtt,
    needs_postgres,
    pytest.mark.skipif(not os.path.exists(MOSQUITTO), reason="needs the mosquitto binary (apt-get install mosquitto)"),
]

ROOT = Path(__file__).resolve().parents[2]
N_DEVICES = int(os.environ.get("SHARED_BRIDGE_DEVICES", "30000"))


@pytest.fixture
def mosquitto(tmp_path):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        # a stopped bridge's share of the stream waits for it in its session
        "max_queued_messages 1000000\n"
        "log_dest stderr\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    yield port
    proc.terminate()
    proc.wait(5)


class BridgeProcess:
    def __init__(self, port: int, client_id: str, group: str, logdir: Path):
        self.port, self.client_id, self.group = port, client_id, group
        self.log = logdir / f"{client_id}.log"
        self.proc: subprocess.Popen | None = None

    def _connects(self) -> int:
        return self.log.read_text().count("connected to") if self.log.exists() else 0

    def start(self) -> BridgeProcess:
        self.connects_before = self._connects()
        db = connection.settings_dict
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "MQTT_URL": f"mqtt://127.0.0.1:{self.port}",
            "LOG_LEVEL": "INFO",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "mqtt_bridge", "--client-id", self.client_id, "--share-group", self.group]
            + ["--readings", "inline"],  # no Celery worker here: leave no tasks in the CI broker
            cwd=ROOT,
            env=env,
            stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_connected(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            if self._connects() > self.connects_before:
                return
            time.sleep(0.2)
        raise AssertionError(f"{self.client_id} did not connect: {self.log.read_text()}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> str:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.log.read_text()


def test_three_bridges_share_30000_devices_one_killed_mid_stream_every_message_stored_once(
    transactional_db, mosquitto, tmp_path
):
    world = make_world()
    slug = world.community.slug
    Device.objects.bulk_create(
        [
            Device(
                community=world.community,
                site=world.site,
                uid=f"m{i:05d}",
                name=f"meter {i}",
                kind="smart_meter",
                rated_power_w=20_000,
            )
            for i in range(N_DEVICES)
        ],
        batch_size=5000,
    )
    group = f"g{uuid.uuid4().hex[:6]}"
    bridges = [BridgeProcess(mosquitto, f"shared-bridge-{i}", group, tmp_path).start() for i in range(3)]
    try:
        for b in bridges:
            b.wait_connected()
        time.sleep(1.0)  # subscriptions

        broker = BrokerUrl("127.0.0.1", mosquitto, None, None, False)
        pub = make_client(broker, client_id=f"shared-pub-{uuid.uuid4().hex[:6]}")
        pub.max_inflight_messages_set(1000)
        acked = threading.Semaphore(0)
        pub.on_publish = lambda c, u, mid, rc, props: acked.release()
        connect(pub, broker)
        pub.loop_start()
        ts = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        killed_at = N_DEVICES // 3
        for i in range(N_DEVICES):
            body = json.dumps({"ts": ts, "power_w": i % 20_000, "import_wh": i}).encode()
            pub.publish(f"cem/{slug}/m{i:05d}/telemetry", body, qos=1)
            if i == killed_at:
                # mid-stream: some of its messages stored, some in flight, some queued
                time.sleep(1.0)
                bridges[1].kill()
        for _ in range(N_DEVICES):
            assert acked.acquire(timeout=60), "the broker stopped acknowledging publishes"
        pub.disconnect()
        pub.loop_stop()
        # systemd restarts the killed bridge with the same client id: its session resumes
        bridges[1].start()

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            n = Telemetry.objects.count()
            if n >= N_DEVICES:
                break
            time.sleep(1.0)
        time.sleep(2.0)  # anything redelivered late would be an extra row or a changed row
        rows = list(Telemetry.objects.values_list("device__uid", "energy_import_wh"))
        assert len(rows) == N_DEVICES
        assert sorted(v for _, v in rows) == list(range(N_DEVICES))
        assert all(uid == f"m{v:05d}" for uid, v in rows)
    finally:
        logs = [b.stop() for b in bridges]
    # the survivors each took part of the stream
    for log in (logs[0], logs[2]):
        assert "'accepted': 0," not in log.split("bridge stopped:")[-1], log[-2000:]
