"""The clock: tasks and the tick command call the idempotent services."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from lem import selectors, services, tasks
from lem.models import ClearingRun, Order

from .factories import make_market, reading

pytestmark = pytest.mark.django_db


def test_clear_due_clears_closed_periods_once(world):
    mw = make_market(world)
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(minutes=30)
    services.order_place(
        participant=mw.seller,
        actor=mw.seller.user,
        side="offer",
        quantity_wh=500,
        price="12",
        period_start=period,
        now=period - timedelta(hours=1),
    )
    services.order_place(
        participant=mw.buyer,
        actor=mw.buyer.user,
        side="bid",
        quantity_wh=500,
        price="20",
        period_start=period,
        now=period - timedelta(hours=1),
    )
    assert tasks.clear_due.run(mw.market.pk) >= 1
    assert ClearingRun.objects.get(period_start=period).volume_wh == 500
    before = ClearingRun.objects.count()
    tasks.clear_due.run(mw.market.pk)
    assert ClearingRun.objects.count() == before
    reading(mw.buyer, period, 500, 0)
    reading(mw.seller, period, 0, 500)
    assert tasks.settle_due.run(mw.market.pk) >= 1


def test_agents_due_places_orders_for_the_next_open_periods(world):
    mw = make_market(world)
    p = selectors.next_open_period(mw.market, timezone.now())
    assert tasks.agents_due.run(mw.market.pk) == 0  # no week of readings yet: no orders (issue 17)
    for d in range(1, 8):  # a week of readings at the next periods' times of day
        for k in range(3):
            reading(mw.buyer, p + timedelta(minutes=30 * k) - timedelta(days=d), 800, 0)
            reading(mw.seller, p + timedelta(minutes=30 * k) - timedelta(days=d), 0, 1200)
    assert tasks.agents_due.run(mw.market.pk) >= 2
    assert Order.objects.filter(period_start=p, source="agent").count() == 2


def test_the_tick_command_runs_the_clock(world, capsys):
    make_market(world)
    call_command("lem_tick")
    assert "periods cleared" in capsys.readouterr().out
