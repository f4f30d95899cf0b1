"""The market API as a client uses it: orders, results, trades, settlements, statements."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from lem import selectors, services
from lem.batch import day_start
from lem.models import Order

from .factories import make_market, reading

pytestmark = pytest.mark.django_db

API = "/api/v1/communities/test-green/market"


def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def mw(world):
    return make_market(world)


def _period(mw):
    return selectors.next_open_period(mw.market, timezone.now())


def test_a_household_places_changes_and_cancels_an_order(mw):
    c = client_for(mw.seller.user)
    r = c.post(
        f"{API}/orders/",
        {"side": "offer", "quantity_wh": 400, "price": "13.5", "period_start": _period(mw).isoformat()},
        format="json",
    )
    assert r.status_code == 201, r.content
    oid = r.json()["id"]
    assert r.json()["source"] == "api"
    r = c.patch(f"{API}/orders/{oid}/", {"quantity_wh": 500, "price": "14"}, format="json")
    assert r.status_code == 200 and r.json()["quantity_wh"] == 500
    r = c.delete(f"{API}/orders/{oid}/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert [o["id"] for o in c.get(f"{API}/orders/").json()["results"]] == [oid]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"quantity_wh": 0}, "more than 0 Wh"),
        ({"quantity_wh": -10}, "more than 0 Wh"),
        ({"price": "250"}, "between 0 and 100 p/kWh"),
        ({"period_start": "2020-01-01T10:00:00Z"}, "already started"),
        ({"side": "maybe"}, "bid (buy) or an offer"),
    ],
)
def test_bad_orders_get_a_400_with_a_clear_message_and_nothing_is_written(mw, body, message):
    data = {"side": "bid", "quantity_wh": 100, "price": "20", "period_start": _period(mw).isoformat(), **body}
    r = client_for(mw.buyer.user).post(f"{API}/orders/", data, format="json")
    assert r.status_code == 400
    assert message in r.json()["detail"]
    assert Order.objects.count() == 0


def test_an_order_after_gate_closure_is_refused(mw):
    mw.market.gate_closure_minutes = 60  # the next period is < 30 min away: its gate has closed
    mw.market.save()
    soon = services.floor_period(mw.market, timezone.now()) + timedelta(minutes=30)
    r = client_for(mw.buyer.user).post(
        f"{API}/orders/",
        {"side": "bid", "quantity_wh": 100, "price": "20", "period_start": soon.isoformat()},
        format="json",
    )
    assert r.status_code == 400 and "Gate closure" in r.json()["detail"]


def test_someone_without_a_site_in_the_market_cannot_order(mw, world):
    r = client_for(world.users["funder"]).post(
        f"{API}/orders/",
        {"side": "bid", "quantity_wh": 100, "price": "20", "period_start": _period(mw).isoformat()},
        format="json",
    )
    assert r.status_code == 400 and "do not trade in this market" in r.json()["detail"]
    assert Order.objects.count() == 0


def test_a_community_without_a_market_answers_404_and_refuses_orders_with_400(world):
    r = client_for(world.users["member"]).get(f"{API}/results/")
    assert r.status_code == 404
    r = client_for(world.users["member"]).post(
        f"{API}/orders/",
        {"side": "bid", "quantity_wh": 100, "price": "20", "period_start": "2030-01-01T10:00:00Z"},
        format="json",
    )
    assert r.status_code == 400 and "no local energy market" in r.json()["detail"]


def test_nobody_sees_anothers_order(mw, world):
    o = services.order_place(
        participant=mw.seller, actor=mw.seller.user, side="offer", quantity_wh=100, price="12", period_start=_period(mw)
    )
    assert client_for(world.neighbour).get(f"{API}/orders/{o.pk}/").status_code == 404
    assert client_for(world.neighbour).get(f"{API}/orders/").json()["count"] == 0


def _trade(mw):
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(hours=2)
    before = period - timedelta(hours=1)
    services.order_place(
        participant=mw.seller,
        actor=mw.seller.user,
        side="offer",
        quantity_wh=1000,
        price="12",
        period_start=period,
        now=before,
    )
    services.order_place(
        participant=mw.buyer,
        actor=mw.buyer.user,
        side="bid",
        quantity_wh=800,
        price="25",
        period_start=period,
        now=before,
    )
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, 800, 0)
    reading(mw.seller, period, 0, 1000)
    services.settlement_settle_period(market=mw.market, period_start=period, now=now)
    return period


def test_results_are_public_trades_and_settlements_are_private(mw, world):
    period = _trade(mw)
    results = client_for(world.users["funder"]).get(f"{API}/results/").json()["results"]
    assert results[0]["volume_wh"] == 800 and results[0]["clearing_price"] == "12.000"
    mine = client_for(mw.buyer.user).get(f"{API}/trades/").json()["results"]
    assert len(mine) == 1 and mine[0]["seller"] == mw.seller.pseudonym
    assert client_for(world.users["funder"]).get(f"{API}/trades/").json()["count"] == 0
    assert client_for(world.users["market_operator"]).get(f"{API}/trades/").json()["count"] == 1
    s = client_for(mw.buyer.user).get(f"{API}/settlements/").json()["results"]
    day = day_start(mw.market, period)
    assert s[0]["period_start"].startswith(day.strftime("%Y-%m-%dT%H:%M")) and s[0]["periods"] == 1
    assert s[0]["local_cost"] == "0.10"
    month = timezone.localtime(period).strftime("%Y-%m")
    st = client_for(mw.buyer.user).get(f"{API}/statements/{month}/").json()
    assert st["bought_local_wh"] == 800 and st["total"] == "0.10"
    assert client_for(world.users["funder"]).get(f"{API}/statements/{month}/").status_code == 404


def test_the_schema_lists_the_market_endpoints(client, world):
    client.force_login(world.users["member"])
    body = client.get("/api/schema/").content.decode()
    for path in (
        "/market/orders/",
        "/market/results/",
        "/market/trades/",
        "/market/settlements/",
        "/market/statements/",
    ):
        assert path in body


def test_one_request_can_place_an_order_for_several_periods_all_or_nothing(mw):
    c = client_for(mw.seller.user)
    p = _period(mw)
    r = c.post(
        f"{API}/orders/",
        {"side": "offer", "quantity_wh": 300, "price": "13", "period_start": p.isoformat(), "periods": 4},
        format="json",
    )
    assert r.status_code == 201
    assert [o["period_start"][11:16] for o in r.json()["orders"]] == [
        (p + timedelta(minutes=30 * i)).strftime("%H:%M") for i in range(4)
    ]
    r = c.post(
        f"{API}/orders/",
        {"side": "offer", "quantity_wh": 300, "price": "13", "period_start": p.isoformat(), "periods": 49},
        format="json",
    )
    assert r.status_code == 400 and "1 to 48" in r.json()["detail"]
    assert Order.objects.count() == 4
