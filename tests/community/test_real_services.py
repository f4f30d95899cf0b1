"""The parts that only real services can prove: PostgreSQL's row locks keep the
ledger's chain intact under concurrent posting, and a task goes through the
real Celery broker to a worker and back."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from community.models import JournalEntry, LedgerCheck
from community.selectors import ledger_verify
from community.services import ledger_account, ledger_post
from conftest import needs_broker


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks (skipped by vendor)")
@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_never_share_a_sequence_number_or_break_the_chain(world):
    a = ledger_account(community=world.community, code="a", name="A", kind="asset")
    b = ledger_account(community=world.community, code="b", name="B", kind="asset")
    errors = []

    def post(worker: int) -> None:
        try:
            for i in range(15):
                ledger_post(
                    community=world.community,
                    lines=[(a, Decimal("1.00")), (b, Decimal("-1.00"))],
                    memo=f"w{worker} #{i}",
                    source="test",
                    idempotency_key=f"w{worker}:{i}",
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(JournalEntry.objects.values_list("seq", flat=True)) == list(range(1, 61))
    assert ledger_verify(world.community).ok


@needs_broker
@pytest.mark.django_db(transaction=True)
def test_the_nightly_ledger_check_runs_through_the_real_broker(world, settings):
    from celery.contrib.testing.worker import start_worker

    from community.tasks import verify_ledgers
    from config.celery import app

    a = ledger_account(community=world.community, code="a", name="A", kind="asset")
    b = ledger_account(community=world.community, code="b", name="B", kind="asset")
    ledger_post(
        community=world.community,
        lines=[(a, Decimal("2")), (b, Decimal("-2"))],
        memo="x",
        source="t",
        idempotency_key="x",
    )
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        verify_ledgers.delay()
        deadline = time.monotonic() + 60
        while not LedgerCheck.objects.filter(community=world.community).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    check = LedgerCheck.objects.get(community=world.community)
    assert check.ok and check.entries == 1
