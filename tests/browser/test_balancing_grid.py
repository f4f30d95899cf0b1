"""The grid pages as people use them (issue 11): the asset operator watches the
private-wire estate go into safe mode and come back without reloading; the
network operator publishes a constraint (a bad limit first); a household reads
what the controller did with its battery. Screenshots at 1280 and 390 px when
SCREENSHOT_DIR is set."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.balancing.factories import Loop, estate
from vpp.balancing import services
from vpp.balancing.models import Segment

pytestmark = pytest.mark.browser


def _shot(page, name: str) -> None:
    d = os.environ.get("SCREENSHOT_DIR")
    if not d:
        return
    Path(d).mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(300)
        page.screenshot(path=f"{d}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _running_estate(world, **kw):
    seg, node, sites = estate(world, homes=5, import_limit_w=6_000, **kw)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=25)
    loop = Loop(seg, start, clearsky_index=0.6)
    services.schedule_solve(segment=seg, now=start)
    loop.command_all(3_000)
    for _ in range(22):
        loop.minute()
    return seg, loop, sites


def test_the_operator_sees_safe_mode_and_the_recovery_without_reloading(transactional_db, world, login_page):
    seg, loop, _ = _running_estate(world)
    meter = next(d for d in loop.devices if d.kind == "smart_meter")
    loop.silent.add(meter.pk)
    for _ in range(3):
        loop.minute()
    seg.refresh_from_db()
    assert seg.mode == Segment.Mode.SAFE
    page = login_page("asset_operator")
    page.goto("/c/test-green/grid/")
    banner = page.wait_for_selector("[role=alert]")
    assert "Safe mode" in banner.inner_text() and "telemetry stopped" in banner.inner_text()
    assert "has sent nothing" in page.inner_text(f"#alarms-{seg.pk}")
    page.wait_for_selector(".chart .main-svg")
    _shot(page, "balancing-safe-mode")
    # telemetry comes back; the next step resumes control and the page follows by itself (htmx, every 10 s)
    loop.silent.clear()
    loop.minute()
    page.wait_for_selector(f"#mode-{seg.pk}:has-text('Under control')", timeout=15000)
    assert page.query_selector("[role=alert]") is None
    _shot(page, "balancing-live")


def test_the_network_operator_publishes_a_constraint_and_sees_the_response(transactional_db, world, login_page):
    seg, loop, _ = _running_estate(world)
    services.node_operator_assign(community=world.community, user=world.users["network_operator"], node=seg.node)
    page = login_page("network_operator")
    page.goto("/c/test-green/grid/network/")
    start = (datetime.now(UTC) + timedelta(hours=2)).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    page.select_option("select[name=node]", str(seg.node.pk))
    page.fill("input[name=reference]", "WPD-PW-7")
    page.fill("input[name=starts_at]", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=ends_at]", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=import_limit_kw]", "-3")
    page.fill("input[name=export_limit_kw]", "20")
    page.click("button:has-text('Publish')")
    page.wait_for_selector(".errorlist >> text=below zero")
    page.fill("input[name=import_limit_kw]", "4")
    page.click("button:has-text('Publish')")
    page.wait_for_selector("text=Published WPD-PW-7 v1")
    row = page.inner_text("table >> nth=-1")
    assert "WPD-PW-7" in row and "4.0 in / 20.0 out kW" in row
    assert "1 schedule and" in row  # the estate re-planned at once under the new limit
    _shot(page, "balancing-dso")


def test_a_household_reads_what_the_controller_did_with_its_battery(transactional_db, world, login_page):
    seg, loop, sites = _running_estate(world, evs=1, heat_pumps=1)
    user = sites[0].occupants.first()
    user.set_password("pw-for-tests-9")
    user.save()
    page = login_page(user.username)
    page.goto("/c/test-green/grid/my/")
    page.wait_for_selector("text=Home battery 10 kWh")
    body = page.inner_text("main") if page.query_selector("main") else page.inner_text("body")
    assert "charge" in body or "discharge" in body
    assert "Applied" in body
    # the home's EV charger and heat pump are listed with the limits the controller keeps to
    assert "EV charger 7 kW" in body and "80% by 07:00" in body
    assert "Heat pump 3 kW" in body and "comfort 19–23 °C" in body
    _shot(page, "balancing-household")
