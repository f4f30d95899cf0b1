"""Issue 16: deploy/ followed on this machine. deploy/local_stack.py starts
nginx + gunicorn + two Celery workers + two MQTT bridges + Mosquitto with
the platform's files, in production settings, and fetches pages through
nginx; a message published to the broker is taken by one of the bridges."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from conftest import needs_postgres

ROOT = Path(__file__).resolve().parents[2]
RABBITMQCTL = "/usr/sbin/rabbitmqctl"

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(not shutil.which("nginx") and not os.path.exists("/usr/sbin/nginx"), reason="needs nginx"),
    pytest.mark.skipif(not os.path.exists("/usr/sbin/mosquitto"), reason="needs mosquitto"),
    pytest.mark.skipif(not os.path.exists(RABBITMQCTL), reason="needs RabbitMQ"),
]


def _ctl(*args):
    subprocess.run([RABBITMQCTL, *args], check=True, capture_output=True, timeout=60)


def test_the_deploy_layout_serves_through_nginx(transactional_db):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"  # the migrated test database
    vhost = f"cem-stack-{uuid.uuid4().hex[:8]}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        r = subprocess.run(
            [
                sys.executable,
                "deploy/local_stack.py",
                "--database-url",
                url,
                "--broker-url",
                f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
            ],
            cwd=ROOT,
            # production settings: without the browser fixture's DJANGO_ALLOW_ASYNC_UNSAFE (check --deploy refuses it)
            env={k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        _ctl("delete_vhost", vhost)
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["ok"], (result, r.stderr[-3000:])
    assert result["healthz"] == 200 and result["login_page"] == 200 and result["static"] == 200
    assert result["via_nginx"] and result["bridge_stored"]
    assert result["processes_alive"] == [
        "bridge-1",
        "bridge-2",
        "gunicorn",
        "mosquitto",
        "nginx",
        "worker-a",
        "worker-b",
    ]
