"""The one place the beat schedule is written (django-celery-beat, in UTC).

Each app lists its periodic tasks in ``<app>/schedule.py`` as
``SCHEDULE = [{"name": ..., "task": "lem.tasks.x", "every_seconds": 60}, ...]``
(or ``"crontab": {"minute": "*/30"}``). This command creates or updates them;
operators can then pause or retime them in the admin.
"""

import importlib
import importlib.util

from django.apps import apps
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask


def collect_schedule() -> list[dict]:
    entries: list[dict] = []
    for config in apps.get_app_configs():
        module = f"{config.name}.schedule"
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ModuleNotFoundError:
            continue
        entries.extend(getattr(importlib.import_module(module), "SCHEDULE", []))
    return entries


class Command(BaseCommand):
    help = "Create or update the periodic tasks every app declares in <app>/schedule.py."

    def handle(self, *args, **options):
        for item in collect_schedule():
            defaults = {
                "task": item["task"],
                "enabled": item.get("enabled", True),
                "kwargs": item.get("kwargs", "{}"),
                "description": item.get("description", ""),
            }
            if "every_seconds" in item:
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=item["every_seconds"], period=IntervalSchedule.SECONDS
                )
                defaults.update(interval=interval, crontab=None)
            else:
                crontab, _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **item["crontab"])
                defaults.update(crontab=crontab, interval=None)
            task, created = PeriodicTask.objects.get_or_create(name=item["name"], defaults=defaults)
            if not created:
                # keep an operator's enabled/disabled choice; update the rest
                defaults.pop("enabled")
                for k, v in defaults.items():
                    setattr(task, k, v)
                task.save()
            self.stdout.write(f"{'added' if created else 'kept'}: {item['name']} → {item['task']}")
