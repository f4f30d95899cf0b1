"""The flexibility VPP as its people see it (issue 10): a household opts out of an event
with one tap and sees what it earned; the operator and the buyer follow an event.
Screenshots at 1280 px and 390 px when SCREENSHOT_DIR is set."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from assets.models import IntervalReading
from tests.vpp.factories import accepted_event, enrol_battery, flat_history, site_meter
from vpp import services

pytestmark = pytest.mark.browser


def shot(page, name):
    d = os.environ.get("SCREENSHOT_DIR")
    if not d:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(400)
        page.screenshot(path=os.path.join(d, f"vpp-{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _settled_event(world, monkeypatch):
    """Yesterday's evening event for the member's battery, dispatched, metered and settled."""
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda *a, **k: True)
    now = timezone.now()
    start = (now - timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    e = enrol_battery(world, at=now - timedelta(days=30), telemetry_at=start)
    flat_history(world.site, start=start, days=20, wh=700)
    ev = accepted_event(world, start=start, now=start - timedelta(hours=3), volume="1.5", reference="PEAK-Y")
    for p in (start, start + timedelta(minutes=30)):
        services.event_dispatch_period(event=ev, now=p + timedelta(seconds=5))
    IntervalReading.objects.filter(
        meter=site_meter(world.site), period_start__gte=start, period_start__lt=start + timedelta(hours=1)
    ).update(import_wh=150)
    ev.status = "completed"
    ev.save(update_fields=["status"])
    services.event_settle(event=ev, now=start + timedelta(hours=2))
    return e, ev


def test_a_household_opts_out_with_one_tap_and_sees_its_earnings(transactional_db, world, login_page, monkeypatch):
    e, past = _settled_event(world, monkeypatch)
    now = timezone.now()
    upcoming = accepted_event(
        world,
        start=now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=4),
        now=now,
        volume="1.0",
        reference="PEAK-T",
    )
    page = login_page("member")
    page.goto(f"/c/{world.community.slug}/flex/")
    page.wait_for_selector("#past .chart .main-svg")
    assert "expires" in page.inner_text("#enrolments")
    assert "£" in page.inner_text("#past") and "earned" in page.inner_text("#past")
    assert "chosen by the plan" in page.inner_text("#why")
    shot(page, "household")
    page.click("#upcoming button:has-text('Opt out')")
    page.wait_for_selector("#upcoming >> text=opted out")
    assert upcoming.opt_outs.filter(enrolment=e).exists()


def test_the_operator_and_the_buyer_follow_an_event(transactional_db, world, login_page, monkeypatch):
    _, past = _settled_event(world, monkeypatch)
    page = login_page("asset_operator")
    page.goto(f"/c/{world.community.slug}/flex/operator/")
    page.wait_for_selector(".chart .main-svg")
    assert "PEAK-Y" in page.inner_text("#payouts")
    shot(page, "operator")
    page.click("#events >> text=PEAK-Y")
    page.wait_for_selector("#tracking .main-svg")
    assert "Baselines side by side" in page.content()
    shot(page, "event")
    page.context.clear_cookies()  # the buyer signs in on the same machine
    buyer = login_page("flex_buyer")
    buyer.goto(f"/c/{world.community.slug}/flex/buyer/")
    buyer.fill("input[name=reference]", "LATE-1")
    buyer.fill("input[name=buyer_name]", "Midlands DSO")
    past_start = (timezone.now() - timedelta(hours=3)).strftime("%Y-%m-%dT%H:00")
    buyer.fill("input[name=starts_at]", past_start)
    buyer.fill("input[name=ends_at]", (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:00"))
    buyer.fill("input[name=kw_wanted]", "10")
    buyer.select_option("select[name=node]", label="Feeder A (Secondary substation / feeder)")
    buyer.click("button:has-text('Publish')")
    buyer.wait_for_selector("text=starts in the past")
    assert "PEAK-Y" in buyer.inner_text("#my-requirements")
    shot(buyer, "buyer")
