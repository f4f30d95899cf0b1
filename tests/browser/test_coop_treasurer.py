"""The co-op treasurer closes an oversubscribed share offer and runs the year's distribution (issue 6)."""

import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

pytestmark = pytest.mark.browser


def _setup(world):
    from assets.coop import services
    from assets.coop.models import CoopAsset

    today = timezone.localdate()
    society = services.society_create(community=world.community, name="Test Green Solar")
    asset = CoopAsset.objects.create(
        society=society,
        name="School roof array",
        capacity_kw=Decimal(30),
        commissioned_on=date(today.year - 1, 1, 1),
        capex=Decimal(3000),
    )
    services.account_entry_add(
        asset=asset, month=date(today.year, 1, 1), kind="flex", amount=Decimal(900), description="Flexibility payments"
    )
    offer = services.offer_create(
        society=society,
        title="School solar share offer",
        code="SOL",
        opens_on=today - timedelta(days=10),
        closes_on=today + timedelta(days=5),
        min_raise=Decimal(1000),
        target_raise=Decimal(2500),
        max_raise=Decimal(3000),
        min_application=Decimal(100),
        max_application=Decimal(2000),
    )
    for i, (name, amount) in enumerate((("Ann Able", 2000), ("Bob Baker", 1500), ("Cat Cole", 100))):
        app = services.application_submit(
            offer=offer,
            amount=Decimal(amount),
            today=today,
            full_name=name,
            email=f"p{i}@example.org",
            address=f"{i} Test Street",
            postcode="TE1 1ST",
            sort_code="12-34-56",
            account_number=f"1234567{i}",
        )
        services.payment_record(application=app, amount=Decimal(amount), received_on=today)
    return society, offer


def _shot(page, name):
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["SCREENSHOT_DIR"], name), full_page=True)


def test_the_treasurer_closes_a_share_offer_and_runs_a_distribution(transactional_db, world, login_page):
    from assets.coop.models import Distribution, Member

    society, offer = _setup(world)
    page = login_page("treasurer")
    page.click("nav.sections >> text=Co-op")
    page.click(f"text={society.name}")
    page.click(f"text={offer.title}")
    page.wait_for_selector("text=Raised against target")
    page.wait_for_selector(".chart .main-svg")
    page.click("text=Close the offer…")
    # the preview shows the scale-back before anything is written
    page.wait_for_selector("text=Oversubscribed")
    assert page.inner_text("#allot-total") == "£3,000.00"
    _shot(page, "coop_offer_close.png")
    # five days before the advertised closing date: the page warns, and closing early is ticked deliberately
    assert "advertised as open until" in page.inner_text("#early-warning")
    page.check("input[name=close_early]")
    page.click("button:has-text('Close early and allot shares')")
    page.wait_for_selector("text=scaled back to the maximum raise of £3,000")
    assert Member.objects.filter(society=society).count() == 3

    page.click(f"text={society.name}")
    page.click("text=Run a distribution")
    page.fill("input[name=year]", str(timezone.localdate().year))
    page.fill("input[name=interest_rate]", "5")
    page.fill("input[name=fund_contribution]", "900")
    page.click("button:has-text('Preview')")
    # too much: the surplus cannot pay for it, and the page says so
    page.wait_for_selector("text=larger than the surplus")
    page.fill("input[name=fund_contribution]", "100")
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#preview")
    assert "interest to 3 members" in page.inner_text("#preview h2")
    assert Distribution.objects.count() == 0
    _shot(page, "coop_distribution_preview.png")
    page.click("#commit-distribution")
    page.wait_for_selector("text=Distribution committed")
    dist = Distribution.objects.get()
    assert page.inner_text("#interest-total") == f"£{dist.interest_total:,}"
    with page.expect_download() as dl:
        page.click("text=Payment file (CSV)")
    text = open(dl.value.path()).read()
    assert text.startswith("name,sort_code,account_number,amount,reference")
    assert "Ann Able,12-34-56,12345670," in text
    _shot(page, "coop_distribution.png")
