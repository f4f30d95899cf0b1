"""Compute a plan's scenarios in this process (no worker needed), e.g. after
changing assumptions:  manage.py compute_scenarios --plan 1 [--stale-only]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from planning import selectors, services
from planning.models import Plan, Scenario


class Command(BaseCommand):
    help = "Compute (or recompute) the scenarios of a Local Area Energy Plan."

    def add_arguments(self, parser):
        parser.add_argument("--plan", type=int, required=True)
        parser.add_argument("--stale-only", action="store_true", help="only scenarios whose inputs changed")

    def handle(self, *args, plan: int, stale_only: bool, **options):
        p = Plan.objects.filter(pk=plan).first()
        if p is None:
            raise CommandError(f"No plan {plan}.")
        for s in p.scenarios.all():
            if s.status in (Scenario.Status.QUEUED, Scenario.Status.RUNNING):
                self.stdout.write(f"{s.name}: already being computed, skipped")
                continue
            if stale_only and s.status == Scenario.Status.DONE and not selectors.scenario_is_stale(s):
                continue
            Scenario.objects.filter(pk=s.pk).exclude(
                status__in=[Scenario.Status.QUEUED, Scenario.Status.RUNNING]
            ).update(status=Scenario.Status.QUEUED)
            done = services.scenario_compute(scenario_id=s.pk)
            self.stdout.write(f"{s.name}: {done.get_status_display()}{' - ' + done.error if done.error else ''}")
