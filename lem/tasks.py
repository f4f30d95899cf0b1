"""Celery tasks: thin, idempotent interfaces over the market's services.

Every task may run twice (acks_late): the services return what is stored.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from lem import services
from lem.models import Market

COMMON = dict(acks_late=True, soft_time_limit=240, time_limit=300)


def _markets(market_id: int | None):
    qs = Market.objects.select_related("community")
    return qs.filter(pk=market_id) if market_id else qs.all()


@shared_task(name="lem.tasks.agents_due", **COMMON)
def agents_due(market_id: int | None = None) -> int:
    """Trading agents place orders for the next open periods."""
    return sum(services.agents_run_due(market=m, now=timezone.now()) for m in _markets(market_id))


@shared_task(name="lem.tasks.clear_due", **COMMON)
def clear_due(market_id: int | None = None) -> int:
    """Gate closure: clear every period whose gate has closed."""
    return sum(services.market_clear_due(market=m, now=timezone.now()) for m in _markets(market_id))


@shared_task(name="lem.tasks.clear_period", **COMMON)
def clear_period(market_id: int, period_start_iso: str) -> int:
    from django.utils.dateparse import parse_datetime

    run = services.market_clear(market=Market.objects.get(pk=market_id), period_start=parse_datetime(period_start_iso))
    return run.pk


@shared_task(name="lem.tasks.settle_due", **COMMON)
def settle_due(market_id: int | None = None) -> int:
    """Settle delivered periods whose readings are in; re-settle on late data."""
    return sum(services.settlement_settle_due(market=m, now=timezone.now()) for m in _markets(market_id))


@shared_task(name="lem.tasks.membership_fees", **COMMON)
def membership_fees(market_id: int | None = None) -> int:
    """Pro rata membership fees: last month's final figure and this month's so far."""
    today = timezone.localtime().date()
    last_month = today.replace(day=1) - timedelta(days=1)
    return sum(
        services.membership_fees_post(market=m, month=month)
        for m in _markets(market_id)
        for month in (last_month, today)
    )


@shared_task(name="lem.tasks.settle_month", **COMMON)
def settle_month(market_id: int, month: str) -> dict:
    """Settle a whole month in one batch (supplier data arriving monthly)."""
    from lem.batch import month_range, settlement_settle_range

    market = Market.objects.select_related("community").get(pk=market_id)
    y, m = (int(x) for x in month.split("-"))
    start, end = month_range(market, y, m)
    return settlement_settle_range(market=market, start=start, end=end, now=timezone.now())


@shared_task(name="lem.tasks.value_report", acks_late=True, soft_time_limit=900, time_limit=960)
def value_report(report_id: int) -> int:
    """Replay a simulated year for the value report (issue 17); progress on the report row."""
    from lem.services.value import value_report_run

    return value_report_run(report_id=report_id).pk
