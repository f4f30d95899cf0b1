"""Celery tasks: ids in, one service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from planning import services


@shared_task(acks_late=True, soft_time_limit=600, time_limit=900)
def scenario_compute(scenario_id: int) -> str:
    # Idempotent: the service claims the scenario by compare-and-set, so a
    # redelivered task finds it no longer queued and does nothing.
    return services.scenario_compute(scenario_id=scenario_id).status
