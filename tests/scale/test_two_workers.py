"""Issue 16: Celery queues by kind on RabbitMQ, and clearing and settlement
stay correct when the same task runs on two workers at once.

Two real `celery worker` processes (-Q market,settlement, one task at a time
each) on a RabbitMQ virtual host of this test's own and the test database
on PostgreSQL. The same clearing and settlement tasks are sent twice, back
to back: RabbitMQ gives one copy to each worker, so both run together.
Nothing may be done twice: one clearing run, one set of trades, one
settlement per period, each ledger entry once, the ledger verifies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from community.models import JournalEntry
from community.selectors import ledger_verify
from conftest import make_world, needs_postgres
from lem import services
from lem.models import ClearingRun, SettlementRun, Trade
from tests.lem.factories import make_market, reading

ROOT = Path(__file__).resolve().parents[2]
RABBITMQCTL = "/usr/sbin/rabbitmqctl"

pytestmark = [
    needs_postgres,
    pytest.mark.skipif(not os.path.exists(RABBITMQCTL), reason="needs RabbitMQ on this machine (rabbitmqctl)"),
]


def _ctl(*args) -> str:
    return subprocess.run([RABBITMQCTL, *args], check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture
def rabbit():
    """amqp://guest:guest@127.0.0.1:5672/<a vhost of our own>: no other run's workers can take our tasks."""
    vhost = f"cem-test-{uuid.uuid4().hex[:8]}"
    _ctl("add_vhost", vhost)
    _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield vhost, f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    _ctl("delete_vhost", vhost)


def queue_depths(vhost: str) -> dict[str, int]:
    out = _ctl("list_queues", "-p", vhost, "name", "messages", "--no-table-headers", "-q")
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


class Worker:
    def __init__(self, name: str, broker_url: str, logdir: Path, queues: str):
        self.name, self.log = name, logdir / f"{name}.log"
        db = connection.settings_dict
        env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queues, "--pool", "solo"]
        cmd += ["-n", f"{name}@%h", "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text()

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.text()
            if "ready." in self.text():
                return
            time.sleep(0.3)
        raise AssertionError(f"worker {self.name} not ready: {self.text()[-3000:]}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_drained(vhost, workers, names, timeout=120):
    """Both copies of each task name finished (the workers log it) and the queues are empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = "".join(w.text() for w in workers)
        done = all(logs.count(f"Task {n}[") >= 2 * 2 for n in names)  # "received" + "succeeded" per copy
        if done and not any(queue_depths(vhost).values()):
            return
        time.sleep(0.5)
    raise AssertionError("tasks did not finish:\n" + "\n".join(w.text()[-3000:] for w in workers))


def test_the_same_clearing_and_settlement_on_two_workers_at_once_is_done_once(
    transactional_db, rabbit, tmp_path, monkeypatch
):
    vhost, url = rabbit
    # Celery's CELERY_BROKER_URL environment variable wins over broker=...: point it at the test's vhost
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    world = make_world()
    mw = make_market(world)
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(hours=2)
    for who, side, price in ((mw.seller, "offer", "12"), (mw.buyer, "bid", "20")):
        services.order_place(
            participant=who,
            actor=who.user,
            side=side,
            quantity_wh=800,
            price=price,
            period_start=period,
            now=period - timedelta(hours=1),
        )
    reading(mw.buyer, period, 900, 0)
    reading(mw.seller, period, 0, 700)
    entries_before = JournalEntry.objects.count()

    sender = Celery("cem-test-sender", broker=url)
    sender.conf.update(
        task_routes=settings.CELERY_TASK_ROUTES,
        task_queues=settings.CELERY_TASK_QUEUES,
        task_default_queue=settings.CELERY_TASK_DEFAULT_QUEUE,
    )
    workers = [Worker(f"w{i}", url, tmp_path, "market,settlement") for i in (1, 2)]
    try:
        for w in workers:
            w.wait_ready()
        args = [mw.market.pk, period.isoformat()]
        for _ in range(2):
            sender.send_task("lem.tasks.clear_period", args=args)
        wait_drained(vhost, workers, ["lem.tasks.clear_period"])
        # routed by kind: the clearing went through the "market" queue, to both workers
        assert all("lem.tasks.clear_period[" in w.text() for w in workers), "each worker should get one copy"
        for _ in range(2):
            sender.send_task("lem.tasks.settle_due", args=[mw.market.pk])
        for _ in range(2):
            sender.send_task("lem.tasks.settle_month", args=[mw.market.pk, f"{period:%Y-%m}"])
        wait_drained(vhost, workers, ["lem.tasks.settle_due", "lem.tasks.settle_month"])
        assert all("lem.tasks.settle_" in w.text() for w in workers)
        logs = "".join(w.text() for w in workers)
    finally:
        for w in workers:
            w.stop()

    assert ClearingRun.objects.filter(market=mw.market, period_start=period).count() == 1
    assert Trade.objects.filter(market=mw.market, period_start=period).count() == 1
    assert Trade.objects.get(market=mw.market, period_start=period).quantity_wh == 800
    run = SettlementRun.objects.get(market=mw.market, period_start=period)
    assert run.status == SettlementRun.Status.SETTLED and run.posted_revision == run.revision
    posted = JournalEntry.objects.count() - entries_before
    assert posted >= 1
    # once more, in this process: settled already, nothing new is posted
    services.settlement_settle_due(market=mw.market, now=timezone.now())
    assert JournalEntry.objects.count() - entries_before == posted
    keys = list(JournalEntry.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))
    assert ledger_verify(world.community).ok
    call_command("verify_ledger")
    # The money is right; whether every task copy also finished cleanly:
    failures = [line for line in logs.splitlines() if "raised unexpected" in line]
    assert not failures, failures


def test_an_advisory_lock_is_exclusive_across_connections_and_released_at_commit(transactional_db):
    """The helper for services that need one (community/locks.py)."""
    import threading

    from django.db import close_old_connections, transaction

    from community.locks import advisory_lock, advisory_lock_held

    key = f"test:{uuid.uuid4().hex}"
    inside, release, got = threading.Event(), threading.Event(), {}

    def holder():
        with transaction.atomic():
            advisory_lock(key)
            inside.set()
            release.wait(10)
        close_old_connections()

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(10)
    with transaction.atomic():
        got["while_held"] = advisory_lock(key, wait=False)
    assert advisory_lock_held(key)
    release.set()
    t.join(10)
    with transaction.atomic():
        got["after"] = advisory_lock(key, wait=False)
    assert got == {"while_held": False, "after": True}
    with pytest.raises(RuntimeError, match="inside transaction.atomic"):
        advisory_lock(key)
