"""Celery tasks: thin, idempotent interfaces over the balancing services."""

from __future__ import annotations

from celery import shared_task

from vpp.balancing import services

COMMON = dict(acks_late=True, soft_time_limit=50, time_limit=58)


@shared_task(name="balancing.tasks.control_all", **COMMON)
def control_all() -> int:
    """The corrective step for every segment: at least every minute (the
    ``balancing_controller`` process also steps on every telemetry batch)."""
    return services.control_all()


@shared_task(name="balancing.tasks.schedules_due", acks_late=True, soft_time_limit=240, time_limit=300)
def schedules_due() -> int:
    """Re-solve every segment's schedule for the current quarter-hour (idempotent)."""
    return services.schedules_due()
