"""Issue 16: Celery routes by kind. Every task of every app lands on a
queue the Procfile (and deploy/) runs a worker for; the kinds are where
the issue says."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def platform_tasks() -> dict[str, str]:
    app.loader.import_default_modules()
    app.autodiscover_tasks(force=True)
    out = {}
    for name in app.tasks:
        if name.startswith("celery."):
            continue
        route = app.amqp.router.route({}, name)
        out[name] = route["queue"].name
    return out


def test_tasks_are_routed_by_kind():
    q = platform_tasks()
    assert q["vpp.tasks.dispatch_tick"] == "dispatch"
    assert q["balancing.tasks.control_all"] == "dispatch"
    assert q["assets.tasks.commands_housekeeping"] == "dispatch"
    assert q["lem.tasks.clear_due"] == q["lem.tasks.clear_period"] == q["lem.tasks.agents_due"] == "market"
    assert q["lem.tasks.settle_due"] == q["lem.tasks.settle_month"] == "settlement"
    assert q["community.tasks.verify_ledgers"] == "settlement"
    assert q["assets.tasks.refresh_recent_readings"] == q["assets.tasks.telemetry_retention"] == "ingest"
    assert q["planning.tasks.scenario_compute"] == "default"


def test_every_queue_a_task_can_land_on_has_a_worker_in_the_procfile():
    procfile = (ROOT / "Procfile").read_text()
    served = set()
    for line in procfile.splitlines():
        if "celery" in line and " worker" in line and " -Q " in line:
            served |= set(line.split(" -Q ", 1)[1].split()[0].split(","))
    assert set(platform_tasks().values()) <= served
    assert served == set(settings.CELERY_QUEUE_NAMES)
    assert procfile.count("celery -A config beat") == 1  # exactly one beat


def test_a_worker_without_q_serves_every_queue():
    assert {q.name for q in app.amqp.queues.values()} >= set(settings.CELERY_QUEUE_NAMES)
