"""A household watches its devices; an asset operator commands one (issue 3)."""

from datetime import UTC, datetime

import pytest

from assets import services
from assets.models import Telemetry
from tests.assets.factories import consent, device

pytestmark = pytest.mark.browser


def test_the_household_sees_live_power_refresh_by_itself(transactional_db, world, login_page):
    d = device(world.site, "battery", uid="h-bat", name="Garage battery", rated_power_w=5000)
    services.telemetry_ingest(
        [(f"cem/test-green/{d.uid}/status", b"online")],
        now=datetime.now(UTC),
        directory={("test-green", d.uid): services.DeviceInfo(d.pk, d.community_id, 5000, 30)},
    )
    page = login_page("member")
    page.goto(f"/c/test-green/energy/sites/{world.site.pk}/")
    page.wait_for_selector("#live >> text=Garage battery")
    assert "online" in page.inner_text("#live")
    # new telemetry arrives; the htmx poll (every 5 s) shows it without a reload
    Telemetry.objects.create(device=d, ts=datetime.now(UTC), power_w=-2345, soc_pct=61.0)
    page.wait_for_selector("#live >> text=-2.35", timeout=12000)
    assert "battery 61%" in page.inner_text("#live")
    page.wait_for_selector(".chart .main-svg")  # today's plotly chart rendered


def test_an_asset_operator_sends_a_command_and_sees_it_in_the_history(transactional_db, world, login_page, monkeypatch):
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda *a, **k: True)
    bat = device(world.site, "battery", uid="h-bat", name="Garage battery", rated_power_w=5000)
    consent(bat)  # the household lets the platform steer it: every command passes the consent gate
    page = login_page("asset_operator")
    page.goto("/c/test-green/energy/operator/")
    page.select_option("select[name=action]", "set_power")
    page.fill("input[name=power_w]", "9000")
    page.click("button:has-text('Send')")
    page.wait_for_selector("text=more than the device's rating of 5000 W")
    page.fill("input[name=power_w]", "-2000")
    page.click("button:has-text('Send')")
    page.wait_for_selector("#commands >> text=Discharge at 2.0 kW")  # the history says it in words
