"""Issue 16: an optional read replica (DATABASE_REPLICA_URL) for reports and
charts only. Reads opt in with replica_reads(); writes and reads inside a
transaction on the primary (the money paths) never go there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from config.replica import ReplicaRouter, replica_reads
from conftest import needs_postgres

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def with_replica(settings):
    settings.DATABASES = {**settings.DATABASES, "replica": dict(settings.DATABASES["default"])}


def test_without_a_replica_reports_read_the_primary(settings, db):
    settings.DATABASES = {"default": settings.DATABASES["default"]}
    with replica_reads():
        assert ReplicaRouter().db_for_read(None) == "default"


def test_reports_read_the_replica_and_nothing_else_does(with_replica, db):
    router = ReplicaRouter()
    assert router.db_for_read(None) == "default"
    with replica_reads():
        assert router.db_for_write(None) == "default"

    @replica_reads
    def chart():
        return router.db_for_read(None)

    # the test itself runs inside a transaction on the primary, like a money path
    assert chart() == "default"
    assert router.allow_migrate("replica", "assets") is False and router.allow_migrate("default", "assets")


def test_a_money_path_inside_a_transaction_never_reads_the_replica(with_replica, transactional_db):
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(None) == "replica"
        with transaction.atomic():
            assert router.db_for_read(None) == "default"
    assert router.db_for_read(None) == "default"


@needs_postgres
def test_with_database_replica_url_set_reports_read_through_the_replica_connection(db):
    """The real settings path: DATABASE_REPLICA_URL adds the alias and the router."""
    from django.db import connection

    d = connection.settings_dict  # the migrated test database (DATABASE_URL's own may not exist)
    url = f"postgres://{d['USER']}@{d['HOST']}:{d['PORT']}/{d['NAME']}"
    script = (
        "from django.db import transaction\n"
        "from config.replica import replica_reads\n"
        "from django.contrib.auth import get_user_model\n"
        "U = get_user_model()\n"
        "out = [U.objects.all().db]\n"
        "with replica_reads():\n"
        "    out.append(U.objects.all().db)\n"
        "    U.objects.count()\n"
        "    with transaction.atomic():\n"
        "        out.append(U.objects.all().db)\n"
        "print(','.join(out))\n"
    )
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": url, "DATABASE_REPLICA_URL": url}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    r = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().splitlines()[-1] == "default,replica,default"
