"""Celery tasks: thin, idempotent (the services they call are)."""

from __future__ import annotations

from celery import shared_task

from vpp.services import dispatch


@shared_task(name="vpp.tasks.dispatch_tick", acks_late=True, time_limit=55, soft_time_limit=50)
def dispatch_tick() -> dict:
    """Every minute: start events, send each period's commands, correct shortfalls, settle."""
    return dispatch.dispatch_tick()
