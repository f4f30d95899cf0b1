"""The busiest pages ask the database the same number of questions for 5 homes as for 50
(issue 15: page speed). Counts only, never timings; the cache is emptied before each
measured request, so the uncached path is the one counted."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assets.models import IntervalReading, Meter
from assets.selectors import local_day_bounds, today_local
from community import services
from tests.assets.factories import device

pytestmark = pytest.mark.django_db

_n = itertools.count(100)


def add_homes(world, n: int) -> None:
    """``n`` more homes, each with a smart meter, a PV meter and today's readings so far."""
    start, _ = local_day_bounds(today_local())
    periods = [
        start + timedelta(minutes=30 * k) for k in range(48) if start + timedelta(minutes=30 * k) < timezone.now()
    ]
    readings = []
    for _ in range(n):
        k = next(_n)
        site = services.site_create(
            community=world.community,
            name=f"{k} Query Road",
            address=f"{k} Query Road",
            postcode="TE1 9QQ",
            latitude="52.1",
            longitude=f"-1.{k:04d}",
            network_node=world.feeder,
            meter_point_id=f"20000000{k:05d}",
            occupants=[world.users["member"]],
        )
        meter = device(site, meter="site").meters.get()
        pv = device(site, "pv", meter="generation").meters.get()
        readings += [IntervalReading(meter=meter, period_start=p, import_wh=300, export_wh=50) for p in periods]
        readings += [IntervalReading(meter=pv, period_start=p, import_wh=0, export_wh=120) for p in periods]
    IntervalReading.objects.bulk_create(readings)


def queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["member", "asset_operator"])
@pytest.mark.parametrize("page", ["/c/test-green/", "/c/test-green/energy/"])
def test_the_page_asks_as_many_questions_for_50_homes_as_for_5(world, client_as, role, page):
    c = client_as(role)
    add_homes(world, 5)
    few = queries(c, page)
    add_homes(world, 45)
    assert Meter.objects.filter(site__community=world.community).count() >= 100
    assert queries(c, page) == few


def test_the_energy_panel_is_computed_once_a_period_not_once_a_visit(world, client_as):
    add_homes(world, 5)
    c = client_as("member")
    first = queries(c, "/c/test-green/energy/")
    with CaptureQueriesContext(connection) as ctx:
        assert c.get("/c/test-green/energy/").status_code == 200
    readings = [q for q in ctx.captured_queries if "assets_intervalreading" in q["sql"]]
    assert readings == [] and len(ctx.captured_queries) < first


def test_my_market_asks_as_many_questions_for_20_cleared_periods_as_for_4(world, client_as):
    from lem import services as lem
    from tests.lem.factories import make_market, place

    mw = make_market(world)
    now = timezone.now()
    first = lem.floor_period(mw.market, now) - timedelta(hours=12)

    def trade(k: int) -> None:
        period = first + timedelta(minutes=30 * k)
        place(mw, mw.seller, "offer", 1000, "12", period=period, now=period - timedelta(hours=2))
        place(mw, mw.buyer, "bid", 1500, "25", period=period, now=period - timedelta(hours=2))
        lem.market_clear(market=mw.market, period_start=period, now=period)

    c = client_as("member")
    for k in range(4):
        trade(k)
    few = queries(c, "/c/test-green/market/my/")
    for k in range(4, 20):
        trade(k)
    page = c.get("/c/test-green/market/my/")
    assert page.content.decode().count("Fully matched") + page.content.decode().count("Matched ") >= 20
    assert queries(c, "/c/test-green/market/my/") == few
