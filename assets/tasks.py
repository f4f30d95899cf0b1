"""Celery tasks: thin, idempotent interfaces over the assets services."""

from __future__ import annotations

from celery import shared_task

from assets import services

COMMON = dict(acks_late=True, soft_time_limit=240, time_limit=300)


@shared_task(name="assets.tasks.refresh_recent_readings", **COMMON)
def refresh_recent_readings(hours: int = 3) -> int:
    """Half-hourly readings from telemetry counters for the last few hours."""
    return services.readings_refresh_recent(hours=hours)


@shared_task(name="assets.tasks.commands_housekeeping", **COMMON)
def commands_housekeeping() -> int:
    """Time out unanswered commands; resend those the broker never got."""
    return services.commands_time_out() + services.commands_resend_pending()
