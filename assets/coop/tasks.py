"""Celery tasks: ids in, one service call, return. Both services are idempotent
(a distribution is unique per society and year; a paid withdrawal is claimed by
compare-and-set), so a task delivered twice changes nothing the second time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from celery import shared_task
from django.contrib.auth import get_user_model


def _user(user_id):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def distribution_commit(
    society_id: int,
    start: str,
    end: str,
    interest_rate: str,
    fund_contribution: str = "0",
    dividend_total: str = "0",
    user_id: int | None = None,
) -> int:
    """Commit a distribution for a large register off the web request (returns its id)."""
    from community.errors import DomainError

    from . import services
    from .models import Distribution, Society

    society = Society.objects.get(pk=society_id)
    existing = Distribution.objects.filter(society=society, period_start=date.fromisoformat(start)).first()
    if existing is not None:
        return existing.pk
    try:
        dist = services.distribution_commit(
            society=society,
            start=date.fromisoformat(start),
            end=date.fromisoformat(end),
            interest_rate=Decimal(interest_rate),
            fund_contribution=Decimal(fund_contribution),
            dividend_total=Decimal(dividend_total),
            today=date.today(),
            actor=_user(user_id),
        )
    except DomainError:
        existing = Distribution.objects.filter(society=society, period_start=date.fromisoformat(start)).first()
        if existing is None:
            raise
        return existing.pk
    return dist.pk


@shared_task(acks_late=True, time_limit=300)
def withdrawals_pay(society_id: int, budget: str, user_id: int | None = None) -> int:
    """Pay due withdrawals within the board's budget; returns pennies paid."""
    from django.utils import timezone

    from . import services
    from .models import Society

    result = services.withdrawals_pay(
        society=Society.objects.get(pk=society_id),
        today=timezone.localdate(),
        budget=Decimal(budget),
        actor=_user(user_id),
    )
    return result.paid_total


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def revenue_post_last_month(today: str | None = None) -> int:
    """Post every society's revenue for last month to the ledger (monthly beat;
    idempotent per society and month). Returns the entries posted or found."""
    from django.utils import timezone

    from community.errors import DomainError

    from . import services
    from .models import Society

    day = date.fromisoformat(today) if today else timezone.localdate()
    last = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    done = 0
    for society in Society.objects.filter(assets__isnull=False).distinct():
        try:
            services.revenue_post(society=society, month=last, today=day)
            done += 1
        except DomainError:
            continue  # nothing earned that month
    return done
