"""A household trades on the local market in a real browser (issue 4):
places an offer, sees it in its orders and in the public (pseudonymous) book,
fixes a bad order from the inline message, cancels; the operator clears."""

import os

import pytest

pytestmark = pytest.mark.browser


def test_a_household_places_and_cancels_an_order_and_the_operator_clears(
    transactional_db, world, login_page, browser, live_server
):
    from tests.lem.factories import make_market

    mw = make_market(world)
    page = login_page("member")
    page.goto("/c/test-green/market/my/")
    page.wait_for_selector(f"text=You trade as {mw.seller.pseudonym}")
    # a bad order: the message appears next to the field, nothing is placed
    page.select_option("#order-form select[name=side]", "offer")
    page.fill("#order-form input[name=quantity_wh]", "0")
    page.fill("#order-form input[name=price]", "14.5")
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("text=The quantity must be more than 0 Wh.")
    page.fill("#order-form input[name=quantity_wh]", "750")
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("text=Order placed")
    row = page.locator("#my-orders tbody tr").first
    assert "0.75 kWh" in row.inner_text() and "14.500" in row.inner_text()
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], "lem-my-market.png"), full_page=True)
    # the public book shows the pseudonym, not the household's name
    page.goto("/c/test-green/market/")
    book = page.inner_text("#book")
    assert mw.seller.pseudonym in book and "Member Tester" not in book
    # cancel before gate closure
    page.goto("/c/test-green/market/my/")
    page.click("#my-orders button:has-text('Cancel')")
    page.wait_for_selector("text=Order cancelled")
    assert "cancelled" in page.locator("#my-orders tbody tr").first.inner_text()

    # the market operator runs clearing from the operator page
    ctx = browser.new_context(base_url=live_server.url)
    op = ctx.new_page()
    op.goto("/accounts/login/")
    op.fill("input[name=username]", "market_operator")
    op.fill("input[name=password]", "pw-for-tests-9")
    op.click("button[type=submit]")
    op.goto("/c/test-green/market/operator/")
    op.click("button:has-text('Clear due periods')")
    op.wait_for_selector("text=period(s) whose gate had closed")
    assert mw.seller.pseudonym in op.inner_text("#participants")
    ctx.close()
