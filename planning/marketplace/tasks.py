"""Celery tasks: ids in, one service call, return. The services are idempotent
(a closed campaign is left alone; a reminder is claimed by compare-and-set for
the day), so a task delivered twice changes nothing the second time."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def campaign_close_task(campaign_id: int) -> str:
    """Runs at the campaign's deadline: fund the project or refund every pledge."""
    from .models import Campaign
    from .services import campaign_close

    c = Campaign.objects.filter(pk=campaign_id).first()
    if c is None:
        return "gone"
    if timezone.now() < c.deadline:  # an early delivery: the sweep (or a later retry) closes it
        return "not yet"
    return campaign_close(campaign_id=campaign_id).status


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def marketplace_sweep() -> dict:
    """Every 15 minutes: close campaigns past their deadline; remind grantees of reports due (once a day each)."""
    from .services import campaigns_close_due, reminders_send

    return {
        "campaigns_closed": campaigns_close_due(),
        "reminders": reminders_send(today=timezone.localdate()),
    }
