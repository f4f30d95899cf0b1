"""Load the demo community, then let every other app add its part.

An app adds demo data by defining ``<app>.demo.seed(community, stdout)``; apps
run in INSTALLED_APPS order (assets before coop, lem and planning), and every
seed must be idempotent.
"""

import importlib
import importlib.util
import time

from django.apps import apps
from django.core.management.base import BaseCommand

from community.demo import DEMO_LOGINS, DEMO_PASSWORD, seed_community


class Command(BaseCommand):
    help = "Create (or top up) the Bramley Green demo community. Safe to run repeatedly."

    def add_arguments(self, parser):
        parser.add_argument("--only-community", action="store_true", help="Skip the other apps' demo data.")

    def handle(self, *args, **options):
        started = time.monotonic()
        community = seed_community()
        self.stdout.write(f"Community: {community.name} ({community.sites.count()} sites)")
        seeds = []
        if not options["only_community"]:
            for config in apps.get_app_configs():
                if config.name == "community":
                    continue
                module = f"{config.name}.demo"
                if importlib.util.find_spec(config.name) is None or importlib.util.find_spec(module) is None:
                    continue
                seed = getattr(importlib.import_module(module), "seed", None)
                if seed is not None:
                    seeds.append((config.verbose_name, seed))
        for i, (name, seed) in enumerate(seeds, start=1):
            t0 = time.monotonic()
            self.stdout.write(f"[{i}/{len(seeds)}] {name} …")
            self.stdout.flush()
            seed(community=community, stdout=self.stdout)
            self.stdout.write(f"      done in {time.monotonic() - t0:.1f} s")
        self.stdout.write(f"Demo ready in {time.monotonic() - started:.0f} s.")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {DEMO_PASSWORD}):"))
        for username, roles in DEMO_LOGINS:
            self.stdout.write(f"  {username:<28} {roles}")
