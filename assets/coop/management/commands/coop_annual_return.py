"""Print a society's FCA annual-return figures as JSON (``--year 2025``)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from assets.coop import selectors, services
from assets.coop.models import Society


class Command(BaseCommand):
    help = "The figures a registered society gives the FCA for a financial year."

    def add_arguments(self, parser):
        parser.add_argument("society_id", type=int)
        parser.add_argument("--year", type=int, default=timezone.localdate().year - 1)

    def handle(self, *args, society_id, year, **options):
        society = Society.objects.filter(pk=society_id).first()
        if society is None:
            raise CommandError(f"No society with id {society_id}.")
        from datetime import timedelta

        start, end = selectors.year_bounds(society, year)
        figures = services.annual_return(society=society, year_start=start, year_end=end - timedelta(days=1))
        self.stdout.write(json.dumps({"society": society.name, **figures.as_dict()}, indent=2))
