"""The value report's pages (issue 17) and the order preview (issue 15), as a
household, the convenor and the operator use them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assets import services as asset_services
from lem import services
from lem.domain.agent import order_preview
from lem.models import ValueReport
from lem.services import value as value_services

from .factories import RULES, make_market

DAYS = 8  # a short replay keeps the tests quick; the bench runs the year


@pytest.fixture
def mw(world):
    mw = make_market(world)
    asset_services.device_register(
        site=world.site, kind="pv", uid="t-pv", name="Roof PV", rated_power_w=3600, specs={"dc_w": 4000}
    )
    return mw


def _run(mw, **kw):
    report = value_services.value_report_request(market=mw.market, days=DAYS, enqueue=False, **kw)
    return value_services.value_report_run(report_id=report.pk)


def test_a_replayed_year_gives_every_member_a_figure_against_the_supplier(mw, world):
    report = _run(mw, actor=world.users["convenor"])
    assert report.status == ValueReport.Status.DONE and report.progress_pct == 100
    rows = {r["site"]: r for r in report.result["sites"]}
    assert {world.site.pk, world.neighbour_site.pk} <= set(rows)
    me = rows[world.site.pk]
    # the figures add up: after fees = supplier alone - statement total
    assert me["saving_after"] == me["supplier_only"] - me["bill_after_fees"]
    assert me["pv_kwp"] == 4.0 and me["export_wh"] > 0
    assert report.result["summary"]["households"]["n"] == 2


def test_asking_again_with_nothing_changed_returns_the_stored_report(mw, world):
    first = _run(mw)
    again = value_services.value_report_request(market=mw.market, days=DAYS, enqueue=False)
    assert again.pk == first.pk
    # running a claimed report twice computes nothing the second time
    assert value_services.value_report_run(report_id=first.pk).finished_at == first.finished_at


def test_a_bad_replay_length_is_refused_by_name(mw):
    from community.errors import DomainError

    with pytest.raises(DomainError) as e:
        value_services.value_report_request(market=mw.market, days=3, enqueue=False)
    assert e.value.field == "days"


def test_the_convenor_sees_the_spread_and_the_operator_can_start_a_replay(mw, world, client_as):
    _run(mw)
    page = client_as("convenor").get("/c/test-green/market/value/").content.decode()
    assert "households better off than with the supplier alone" in page
    assert "Who gains, who loses" in page and "Plotly" in page
    r = client_as("market_operator").post("/c/test-green/market/value/")
    assert r.status_code == 302


def test_a_household_sees_what_joining_would_have_been_worth_before_it_joins(mw, world, client):
    _run(mw)
    # the neighbour leaves; its home is still there: the estimate is for a home like it
    mw.buyer.delete() if not mw.buyer.orders.exists() else None
    client.force_login(world.neighbour)
    page = client.get("/c/test-green/market/value/mine/").content.decode()
    assert "What joining would have been worth" in page
    assert "3 Test Street" in page


def test_a_member_sees_its_running_figure(mw, world, client_as):
    _run(mw)
    page = client_as("member").get("/c/test-green/market/value/mine/").content.decode()
    assert "against the supplier alone" in page


def test_a_proposed_rules_change_shows_its_effect_on_every_household(mw, world, client_as):
    rule = services.rule_propose(
        market=mw.market,
        actor=world.users["member"],
        values={**RULES, "membership_fee": "0.50"},
        effective_from=timezone.now() + timedelta(days=3),
    )
    report = _run(mw, rule=rule)
    assert "proposal" in report.result
    page = client_as("member").get(f"/c/test-green/market/value/rules/{rule.number}/").content.decode()
    assert "£2.50 a month" in page and "£0.50 a month" in page
    assert "households would be better off than under today" in page


def test_the_order_preview_warns_when_an_order_could_cost_more_than_the_supplier():
    p = order_preview(
        side="bid",
        quantity_wh=500,
        price=Decimal("22"),
        import_price=Decimal("24.5"),
        export_price=Decimal("15"),
        history_net_wh=[124, 130, 90, 200, 150],
    )
    assert p.typical_wh == 130
    assert p.best_pence == pytest.approx(1.25) and p.worst_pence == pytest.approx(-3.5)
    assert any("usually imports about 0.13 kWh" in w for w in p.warnings)
    over = order_preview(
        side="bid", quantity_wh=100, price=Decimal("30"), import_price=Decimal("24.5"), export_price=Decimal("15")
    )
    assert any("above the supplier" in w for w in over.warnings)


def test_the_order_form_preview_is_in_words(mw, client_as):
    page = client_as("member").get("/c/test-green/market/my/order-preview/?side=offer&quantity_wh=2000&price=9")
    text = page.content.decode()
    assert page.status_code == 200
    assert "2.00 kWh" in text and "at or below the supplier&#x27;s export price" in text
