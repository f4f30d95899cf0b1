"""The market's value to its members in a real browser (issue 17, issue 15):
the convenor reads the year's report with its charts, a household sees what a
home like its own would have gained and what an order would cost against the
supplier alone, a member reads the modelled effect of a rules change. Every
page is looked at at 1280 px and 390 px (screenshots with SCREENSHOT_DIR)."""

import os
from datetime import timedelta

import pytest

pytestmark = pytest.mark.browser


def _shoot(page, name):
    d = os.environ.get("SCREENSHOT_DIR")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} scrolls sideways at {width} px"
        if d:
            page.screenshot(path=os.path.join(d, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_the_value_pages_as_people_use_them(transactional_db, world, login_page, live_server):
    from django.utils import timezone

    from assets import services as asset_services
    from lem import services
    from lem.services import value as value_services
    from tests.lem.factories import RULES, make_market

    mw = make_market(world)
    asset_services.device_register(
        site=world.site, kind="pv", uid="b-pv", name="Roof PV", rated_power_w=3600, specs={"dc_w": 4000}
    )
    rule = services.rule_propose(
        market=mw.market,
        actor=world.users["member"],
        values={**RULES, "membership_fee": "0.50"},
        effective_from=timezone.now() + timedelta(days=3),
    )
    for r in (None, rule):
        rep = value_services.value_report_request(market=mw.market, days=8, enqueue=False, rule=r)
        value_services.value_report_run(report_id=rep.pk)

    page = login_page("convenor")
    page.goto("/c/test-green/market/value/")
    page.wait_for_selector("text=Who gains, who loses")
    page.wait_for_selector(".js-plotly-plot .main-svg")
    assert "households better off than with the supplier alone" in page.inner_text("body")
    _shoot(page, "lem-value")

    page.context.clear_cookies()
    page = login_page("member")
    page.goto("/c/test-green/market/my/")
    page.wait_for_selector("#value-household")
    assert "against the supplier alone" in page.inner_text("#value-household")
    page.select_option("#order-form select[name=side]", "bid")
    page.fill("#order-form input[name=quantity_wh]", "500")
    page.fill("#order-form input[name=price]", "40")
    page.wait_for_selector("#order-preview-body")
    assert "above the supplier" in page.inner_text("#order-preview")
    _shoot(page, "lem-my-market-preview")

    page.goto(f"/c/test-green/market/value/rules/{rule.number}/")
    page.wait_for_selector("text=£0.50 a month")
    assert "households would be better off than under today" in page.inner_text("body")
    _shoot(page, "lem-value-rule")
