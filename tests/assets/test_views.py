"""Energy pages as people use them."""

from datetime import UTC, datetime

from assets.models import DeviceCommand, IntervalReading, Meter, RejectedMessage
from assets.mqtt import mosquitto
from tests.assets.factories import device


def test_the_household_sees_its_devices_live_and_todays_chart(world, client_as):
    device(world.site, "battery", uid="h-bat", name="Garage battery")
    r = client_as("member").get(f"/c/test-green/energy/sites/{world.site.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "Garage battery" in html and "offline" in html
    live = client_as("member").get(f"/c/test-green/energy/sites/{world.site.pk}/?partial=live", HTTP_HX_REQUEST="true")
    assert (
        live.status_code == 200 and "<html" not in live.content.decode() and "Garage battery" in live.content.decode()
    )


def test_rotating_credentials_shows_the_new_password_once(world, client_as):
    d = device(world.site, "battery", uid="h-bat")
    r = client_as("member").post(f"/c/test-green/energy/devices/{d.pk}/credentials/")
    assert r.status_code == 200
    shown = r.content.decode().split('id="mqtt-password">')[1].split("<")[0]
    d.refresh_from_db()
    assert mosquitto.verify_password(shown, d.mqtt_password_hash)
    again = client_as("member").get(f"/c/test-green/energy/sites/{world.site.pk}/").content.decode()
    assert shown not in again


def test_the_operator_page_shows_rejections_with_reasons_and_command_results(world, client_as):
    d = device(world.site, "battery", uid="h-bat")
    RejectedMessage.objects.create(
        community=world.community,
        device=d,
        topic="cem/test-green/h-bat/telemetry",
        payload="{oops",
        code="json",
        reason="payload is not valid JSON",
        received_at=datetime.now(UTC),
    )
    DeviceCommand.objects.create(
        id="c1",
        device=d,
        action="set_power",
        params={"power_w": -9000},
        valid_until=datetime.now(UTC),
        status="rejected",
        detail="discharge power 9000 W exceeds the battery's 5000 W limit",
        created_at=datetime.now(UTC),
    )
    html = client_as("auditor").get("/c/test-green/energy/operator/").content.decode()
    assert "payload is not valid JSON" in html and "{oops" in html
    assert "exceeds the battery&#x27;s 5000 W limit" in html or "exceeds the battery's 5000 W limit" in html
    assert "Send a command" not in html  # auditors look, asset operators act


def test_an_operator_command_that_the_platform_refuses_is_an_inline_error(world, client_as):
    d = device(world.site, "battery", uid="h-bat", rated_power_w=5000)
    r = client_as("asset_operator").post(
        "/c/test-green/energy/operator/", {"device": d.pk, "action": "pause", "minutes": 30}
    )
    assert r.status_code == 400 and "does not understand" in r.content.decode()
    assert not DeviceCommand.objects.exists()


def test_csv_dry_run_lists_bad_lines_and_writes_nothing(world, client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    Meter.objects.create(site=world.site, serial="M1")
    text = b"meter_id,period_start,import_wh,export_wh\nM1,2026-05-01T00:00:00Z,100,0\nM9,2026-05-01T00:00:00Z,1,0\n"
    r = client_as("asset_operator").post(
        "/c/test-green/energy/readings/import/", {"file": SimpleUploadedFile("r.csv", text), "dry_run": "on"}
    )
    html = r.content.decode()
    assert r.status_code == 400 and "meter M9 is not registered" in html and ">3<" in html
    assert not IntervalReading.objects.exists()
    r = client_as("asset_operator").post(
        "/c/test-green/energy/readings/import/", {"file": SimpleUploadedFile("r.csv", text.rsplit(b"\n", 2)[0] + b"\n")}
    )
    assert r.status_code == 200 and IntervalReading.objects.count() == 1


def test_the_community_page_carries_the_energy_panel(world, client_as):
    device(world.site, "smart_meter", meter="site")
    html = client_as("member").get("/c/test-green/").content.decode()
    assert "self-sufficient today" in html and "devices online" in html
