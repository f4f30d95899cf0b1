"""The assets API as a client uses it."""

from datetime import UTC, datetime, timedelta

from assets.models import Device, IntervalReading, Meter
from assets.mqtt import mosquitto
from tests.assets.factories import device

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


def api(client_as, role):
    c = client_as(role)
    c.defaults["HTTP_ACCEPT"] = "application/json"
    return c


def test_registering_a_device_returns_its_password_once(world, client_as):
    c = api(client_as, "asset_operator")
    r = c.post(
        "/api/v1/communities/test-green/devices/",
        {
            "site": world.site.pk,
            "kind": "battery",
            "uid": "api-bat",
            "name": "Battery",
            "rated_power_w": 5000,
            "capacity_wh": 10000,
            "limits": {"reserve_pct": 20},
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    d = Device.objects.get(uid="api-bat")
    assert mosquitto.verify_password(body["mqtt_password"], d.mqtt_password_hash)
    r = c.get(f"/api/v1/communities/test-green/devices/{d.pk}/")
    assert "mqtt_password" not in r.json() and r.json()["mqtt_username"] == "test-green.api-bat"


def test_bad_device_input_is_a_400_with_the_reason(world, client_as):
    r = api(client_as, "asset_operator").post(
        "/api/v1/communities/test-green/devices/",
        {"site": world.site.pk, "kind": "battery", "uid": "x", "name": "B", "rated_power_w": 5000},
        content_type="application/json",
    )
    assert r.status_code == 400 and "capacity in Wh" in r.json()["detail"]
    assert not Device.objects.exists()


def test_readings_are_filtered_by_site_and_period_and_private_to_the_household(world, client_as):
    mine = Meter.objects.create(site=world.site, serial="M-MINE")
    theirs = Meter.objects.create(site=world.neighbour_site, serial="M-THEIRS")
    for m in (mine, theirs):
        for k in range(4):
            IntervalReading.objects.create(
                meter=m, period_start=T0 + timedelta(minutes=30 * k), import_wh=100 + k, export_wh=0
            )
    member = api(client_as, "member")
    r = member.get(
        "/api/v1/communities/test-green/readings/", {"start": "2026-06-01T00:30:00Z", "end": "2026-06-01T01:30:00Z"}
    )
    rows = r.json()["results"]
    assert [(x["meter"], x["import_wh"]) for x in rows] == [("M-MINE", 101), ("M-MINE", 102)]
    assert member.get("/api/v1/communities/test-green/readings/", {"site": world.neighbour_site.pk}).status_code == 403
    op = api(client_as, "asset_operator").get(
        "/api/v1/communities/test-green/readings/", {"site": world.neighbour_site.pk}
    )
    assert {x["meter"] for x in op.json()["results"]} == {"M-THEIRS"}
    bad = member.get("/api/v1/communities/test-green/readings/", {"start": "yesterday"})
    assert bad.status_code == 400 and "ISO-8601" in bad.json()["detail"]


def test_households_see_their_own_and_community_devices_only(world, client_as):
    device(world.site, "battery", uid="mine")
    device(world.neighbour_site, "battery", uid="theirs")
    device(world.school, "pv", uid="school-pv", ownership="community", owner_name="Co-op")
    r = api(client_as, "member").get("/api/v1/communities/test-green/devices/")
    assert sorted(x["uid"] for x in r.json()["results"]) == ["mine", "school-pv"]


def test_commands_through_the_api(world, client_as, monkeypatch):
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda *a, **k: True)
    d = device(world.site, "battery", rated_power_w=5000)
    op = api(client_as, "asset_operator")
    r = op.post(
        "/api/v1/communities/test-green/commands/",
        {"device": d.pk, "action": "set_power", "params": {"power_w": 99999}},
        content_type="application/json",
    )
    assert r.status_code == 400 and "more than the device's rating" in r.json()["detail"]
    r = op.post(
        "/api/v1/communities/test-green/commands/", {"device": d.pk, "action": "auto"}, content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    assert op.get("/api/v1/communities/test-green/commands/").json()["results"][0]["action"] == "auto"


def test_the_household_sets_its_battery_reserve_and_a_neighbour_cannot(world, client_as):
    d = device(world.site, "battery", uid="mine", limits={"reserve_pct": 20})
    url = f"/api/v1/communities/test-green/devices/{d.pk}/limits/"
    r = api(client_as, "member").post(url, {"reserve_pct": 35}, content_type="application/json")
    assert r.status_code == 200 and r.json()["limits"] == {"reserve_pct": 35.0}
    r = api(client_as, "member").post(url, {"reserve_pct": 135}, content_type="application/json")
    assert r.status_code == 400 and "between 0 and 100" in r.json()["detail"]
    r = api(client_as, "auditor").post(url, {"reserve_pct": 5}, content_type="application/json")
    assert r.status_code == 403
    d.refresh_from_db()
    assert d.limits == {"reserve_pct": 35.0}
