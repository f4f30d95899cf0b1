"""The market pages as people use them."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from lem import selectors, services
from lem.models import Order

from .factories import make_market, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def mw(world):
    return make_market(world)


def _period(mw):
    return selectors.next_open_period(mw.market, timezone.now())


def test_a_household_places_an_order_in_the_browser(mw, client_as):
    c = client_as("member")
    p = _period(mw)
    r = c.post(
        "/c/test-green/market/my/",
        {
            "action": "order",
            "side": "offer",
            "quantity_wh": "700",
            "price": "14.25",
            "period_start": p.isoformat(),
            "energy_source": "solar",
        },
    )
    assert r.status_code == 302
    o = Order.objects.get()
    assert (o.participant, o.quantity_wh, o.source) == (mw.seller, 700, "browser")


def test_a_bad_order_shows_the_message_next_to_the_field_and_writes_nothing(mw, client_as):
    r = client_as("member").post(
        "/c/test-green/market/my/",
        {
            "action": "order",
            "side": "bid",
            "quantity_wh": "0",
            "price": "12",
            "period_start": _period(mw).isoformat(),
        },
    )
    assert r.status_code == 400
    assert "The quantity must be more than 0 Wh." in r.content.decode()
    assert Order.objects.count() == 0


def test_the_public_order_book_shows_pseudonyms_not_names_or_addresses(mw, client_as, world):
    services.order_place(
        participant=mw.seller, actor=mw.seller.user, side="offer", quantity_wh=300, price="12", period_start=_period(mw)
    )
    body = client_as("funder").get("/c/test-green/market/").content.decode()
    assert mw.seller.pseudonym in body
    assert world.site.address not in body and world.users["member"].get_full_name() not in body


def test_the_order_book_page_does_not_query_per_order(mw, client_as, django_assert_max_num_queries):
    c = client_as("funder")
    c.get("/c/test-green/market/")
    for i in range(30):
        services.order_place(
            participant=mw.seller if i % 2 else mw.buyer,
            actor=(mw.seller if i % 2 else mw.buyer).user,
            side="offer" if i % 2 else "bid",
            quantity_wh=100 + i,
            price="12",
            period_start=_period(mw),
        )
    with django_assert_max_num_queries(25):
        r = c.get("/c/test-green/market/")
    assert r.content.decode().count("Trader ") >= 30


def _settled(mw):
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
        quantity_wh=1000,
        price="20",
        period_start=period,
        now=before,
    )
    services.market_clear(market=mw.market, period_start=period, now=period)
    reading(mw.buyer, period, 1500, 0)
    reading(mw.seller, period, 0, 1000)
    services.settlement_settle_period(market=mw.market, period_start=period, now=now)
    return period


def test_the_statement_csv_adds_up_to_the_page_total(mw, client, world):
    period = _settled(mw)
    client.force_login(world.neighbour)
    month = timezone.localtime(period).strftime("%Y-%m")
    page = client.get(f"/c/test-green/market/my/statements/{month}/").content.decode()
    s = selectors.statement(mw.buyer, timezone.localtime(period).date())
    assert f"£{s.total}" in page
    rows = list(
        csv.reader(io.StringIO(client.get(f"/c/test-green/market/my/statements/{month}/?format=csv").content.decode()))
    )
    total_row, t = rows[-1], rows[0].index("total_gbp")
    assert total_row[0] == "TOTAL" and total_row[t] == str(s.total)
    from decimal import Decimal

    # half-hours, then the tolerance band's note, the membership fee and the total
    assert [r[0] for r in rows[-3:]] == ["tolerance_band", "membership_fee", "TOTAL"]
    assert sum(Decimal(r[t]) for r in rows[1:-3]) + s.membership_fee == s.total
    pdf = client.get(f"/c/test-green/market/my/statements/{month}/?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_operator_clears_and_settles_from_the_operator_page(mw, client_as):
    c = client_as("market_operator")
    r = c.post("/c/test-green/market/operator/", {"action": "clear"})
    assert r.status_code == 302
    assert mw.market.clearing_runs.count() >= 1
    page = c.get("/c/test-green/market/operator/").content.decode()
    assert mw.seller.pseudonym in page


def test_my_market_explains_why_an_order_did_not_match(mw, client, world):
    now = timezone.now()
    period = services.floor_period(mw.market, now) - timedelta(hours=1)
    before = period - timedelta(hours=1)
    services.order_place(
        participant=mw.seller,
        actor=mw.seller.user,
        side="offer",
        quantity_wh=1000,
        price="18",
        period_start=period,
        now=before,
    )
    services.order_place(
        participant=mw.buyer,
        actor=mw.buyer.user,
        side="bid",
        quantity_wh=500,
        price="15",
        period_start=period,
        now=before,
    )
    services.market_clear(market=mw.market, period_start=period, now=period)
    client.force_login(world.neighbour)
    body = client.get("/c/test-green/market/my/").content.decode()
    assert "No trades: the highest bid (15.000 p/kWh) is below the lowest offer (18.000 p/kWh)." in body


def test_the_operator_page_polls_the_months_settlement_progress(mw, client_as):
    c = client_as("market_operator")
    r = c.get("/c/test-green/market/operator/?part=progress", HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200 and 'id="progress"' in body and "<html" not in body
    assert "delivered periods settled" in body


def test_the_month_batch_task_settles_what_is_delivered(mw):
    from lem import tasks

    month = timezone.localtime().strftime("%Y-%m")
    out = tasks.settle_month.run(mw.market.pk, month)
    assert set(out) == {"settled", "pending", "skipped"}
