"""Celery tasks: ids in, one service call, nothing else."""

from celery import shared_task

from community.models import Community
from community.services.ledger import ledger_check_record


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=2000)
def verify_ledgers() -> dict[str, bool]:
    """Walk every community's ledger chain and record the result (read-only, safe to repeat)."""
    return {c.slug: ledger_check_record(community=c).ok for c in Community.objects.order_by("pk")}
