"""Celery tasks: ids in, one service call, return. Both services are idempotent (a yield
check is stored once per installation; expiry is a filtered update), so a task delivered
twice changes nothing the second time."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def yield_checks() -> int:
    """Daily: every PV installation three months past commissioning gets its yield check."""
    from . import services
    from .models import Installation

    done = 0
    for pk in services.yield_checks_due():
        if services.yield_check_run(installation=Installation.objects.get(pk=pk)) is not None:
            done += 1
    return done


@shared_task(acks_late=True, time_limit=120)
def expire_offers() -> int:
    from . import services

    return services.offers_expire()
