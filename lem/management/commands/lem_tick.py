"""Run the market's clock once without Celery: agents, clearing, settlement.

`manage.py lem_tick` (all markets) or `--market ID`; `--month YYYY-MM` settles
that month in one batch (supplier meter data arriving monthly).
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lem import services
from lem.batch import month_range, settlement_settle_range
from lem.models import Market


class Command(BaseCommand):
    help = "Agents place orders, due periods clear, delivered periods settle (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--market", type=int)
        parser.add_argument("--month", help="YYYY-MM: settle the whole month in one batch")

    def handle(self, *args, market=None, month=None, **opts):
        markets = Market.objects.filter(pk=market) if market else Market.objects.all()
        now = timezone.now()
        for m in markets.select_related("community"):
            if month:
                try:
                    y, mo = (int(x) for x in month.split("-"))
                    date(y, mo, 1)
                except ValueError:
                    raise CommandError("--month is YYYY-MM") from None
                start, end = month_range(m, y, mo)
                out = settlement_settle_range(market=m, start=start, end=end, now=now)
                self.stdout.write(f"{m.community.slug}: {out}")
                continue
            a = services.agents_run_due(market=m, now=now)
            c = services.market_clear_due(market=m, now=now)
            s = services.settlement_settle_due(market=m, now=now)
            self.stdout.write(f"{m.community.slug}: {a} agent orders, {c} periods cleared, {s} settlement runs")
