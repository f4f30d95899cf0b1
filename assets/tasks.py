"""Celery tasks: thin, idempotent interfaces over the assets services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from assets import services

COMMON = dict(acks_late=True, soft_time_limit=240, time_limit=300)


@shared_task(name="assets.tasks.refresh_recent_readings", **COMMON)
def refresh_recent_readings(hours: int = 3) -> int:
    """Half-hourly readings from telemetry counters for the last few hours."""
    return services.readings_refresh_recent(hours=hours)


@shared_task(
    name="assets.tasks.readings_rollup",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    max_retries=6,
    **COMMON,
)
def readings_rollup(periods: dict[str, list[int]]) -> dict:
    """Interval readings for the periods a bridge just received counters for
    (``{"<period start ISO>/<minutes>": [device ids]}``), off the bridge's
    receive path, on the ``ingest`` queue (issue 16). Idempotent: running it
    twice, or for the same periods from two bridges, writes the same rows."""
    r = services.readings_rollup(dirty=services.dirty_decode(periods))
    return {"written": r.written, "failed_devices": r.failed_devices}


@shared_task(name="assets.tasks.commands_housekeeping", **COMMON)
def commands_housekeeping() -> int:
    """Time out unanswered commands; resend those the broker never got."""
    return services.commands_time_out() + services.commands_resend_pending()


@shared_task(name="assets.tasks.telemetry_retention", **COMMON)
def telemetry_retention() -> dict:
    """Drop raw telemetry older than TELEMETRY_RETENTION_DAYS (issue 9 §7)."""
    from assets import storage

    r = storage.telemetry_retention()
    return {"cutoff": r.cutoff.isoformat(), "dropped_partitions": r.dropped_partitions, "deleted_rows": r.deleted_rows}


@shared_task(name="assets.tasks.partitions_ensure", **COMMON)
def partitions_ensure() -> list[str]:
    """Monthly partitions for telemetry and readings, created ahead (issue 16)."""
    from assets import storage

    return storage.partitions_ensure()
