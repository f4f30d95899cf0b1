"""The VPP's pages and API as people use them."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from assets.models import DeviceCommand
from tests.assets.factories import device
from tests.vpp.factories import accepted_event, enrol_battery, site_meter
from vpp.models import Enrolment, OptOut, Requirement


def _start():
    now = timezone.now()
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=3)


def url(world, name, **kw):
    return reverse(f"vpp:{name}", kwargs={"slug": world.community.slug, **kw})


def test_a_household_enrols_its_battery_with_limits_and_sees_when_consent_expires(world, client_as):
    d = device(world.site, "battery", rated_power_w=3000)
    site_meter(world.site)
    c = client_as("member")
    page = c.get(url(world, "index"))
    assert page.status_code == 200 and "I let Test Green use my" in page.content.decode()
    r = c.post(
        url(world, "index"),
        {
            "action": "enrol",
            "target": f"device:{d.pk}",
            "max_events_per_week": 2,
            "reserve_pct": 30,
            "never_touch": "07:00-08:00",
            "agree": "on",
        },
    )
    assert r.status_code == 302
    e = Enrolment.objects.get(device=d)
    d.refresh_from_db()
    assert d.limits == {"reserve_pct": 30.0, "never_touch": ["07:00-08:00"]} and e.max_events_per_week == 2
    page = c.get(url(world, "index")).content.decode()
    assert f"expires <strong>{timezone.localtime(e.consent.expires_at):%-d %b %Y}" in page


def test_bad_never_touch_hours_are_shown_inline_and_nothing_is_stored(world, client_as):
    d = device(world.site, "battery", rated_power_w=3000)
    r = client_as("member").post(
        url(world, "index"),
        {"action": "enrol", "target": f"device:{d.pk}", "max_events_per_week": 2, "never_touch": "7-8", "agree": "on"},
    )
    assert r.status_code == 400 and "windows like 16:00-19:00" in r.content.decode()
    assert not Enrolment.objects.exists()


def test_one_tap_opt_out_with_htmx_until_the_event_starts(world, client_as):
    now = timezone.now()
    e = enrol_battery(world, at=now)
    ev = accepted_event(world, start=_start(), now=now, volume="1.0")
    c = client_as("member")
    assert "Opt out" in c.get(url(world, "index")).content.decode()
    r = c.post(url(world, "index"), {"action": "opt_out", "event": ev.pk, "enrolment": e.pk}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "opted out" in r.content.decode()
    assert OptOut.objects.filter(event=ev, enrolment=e).exists()
    # the neighbour cannot opt the member's device out
    r = client_as("member").post(url(world, "index"), {"action": "opt_out", "event": ev.pk, "enrolment": 999999})
    assert r.status_code == 404


def test_the_buyer_gets_a_clear_400_for_a_window_in_the_past_and_nothing_is_stored(world, client_as):
    past = timezone.now() - timedelta(hours=2)
    data = {
        "action": "publish",
        "reference": "X1",
        "buyer_name": "DSO",
        "node": world.feeder.pk,
        "product": "dfs",
        "direction": "down",
        "starts_at": past.strftime("%Y-%m-%dT%H:00"),
        "ends_at": (past + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00"),
        "kw_wanted": "5",
        "notice_minutes": 60,
        "utilisation_gbp_per_mwh": "306",
        "availability_gbp_per_mw_h": "0",
        "baseline_method": "dfs",
    }
    r = client_as("flex_buyer").post(url(world, "buyer"), data)
    assert r.status_code == 400 and "starts in the past" in r.content.decode()
    api = reverse("vpp-api:requirement-list", kwargs={"slug": world.community.slug})
    body = {k: data[k] for k in ("reference", "buyer_name", "node", "kw_wanted", "utilisation_gbp_per_mwh")}
    s = _start() + timedelta(days=1)
    r = client_as("flex_buyer").post(
        api,
        {**body, "kw_wanted": "-3", "starts_at": s.isoformat(), "ends_at": (s + timedelta(hours=1)).isoformat()},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["field"] == "kw_wanted"
    assert not Requirement.objects.exists()


def test_operator_bids_and_the_buyer_accepts_and_downloads_the_report(world, client_as):
    now = timezone.now()
    enrol_battery(world, at=now)
    op = client_as("asset_operator")
    buyer = client_as("flex_buyer")
    from tests.vpp.factories import requirement

    req = requirement(world, start=_start(), now=now)
    assert op.post(url(world, "operator"), {"action": "propose", "requirement": req.pk}).status_code == 302
    bid = req.bids.get()
    assert (
        op.post(
            url(world, "operator"),
            {"action": "submit", "bid": bid.pk, "volume_kw": "1.0", "utilisation_gbp_per_mwh": "300"},
        ).status_code
        == 302
    )
    page = op.get(url(world, "operator"))
    assert page.status_code == 200 and "Flexibility over the next 48 hours" in page.content.decode()
    assert buyer.post(url(world, "buyer"), {"action": "accept", "bid": bid.pk}).status_code == 302
    ev = req.event
    csv = buyer.get(url(world, "event_report_csv", event_id=ev.pk))
    assert csv.status_code == 200 and csv.content.decode().startswith("period_start,target_w,planned_w")
    report = buyer.get(reverse("vpp-api:event-report", kwargs={"slug": world.community.slug, "event_id": ev.pk})).json()
    assert report["accepted_kw"] == "1.0" and len(report["periods"]) == 2
    assert buyer.get(url(world, "event", event_id=ev.pk)).status_code == 200


def test_the_operators_manual_command_page_shows_the_refusal(world, client_as):
    d = device(world.site, "battery", rated_power_w=3000)
    r = client_as("asset_operator").post(
        reverse("assets:operator", kwargs={"slug": world.community.slug}),
        {"device": d.pk, "action": "set_power", "power_w": -1000, "minutes": 30},
    )
    assert r.status_code == 400 and "has not consented" in r.content.decode()
    assert not DeviceCommand.objects.exists()


def test_the_households_device_page_says_why_each_command_was_sent(world, client_as, monkeypatch):
    monkeypatch.setattr("assets.mqtt.publisher.publish", lambda *a, **k: True)
    from vpp import services

    now = timezone.now()
    e = enrol_battery(world, at=now - timedelta(days=1), telemetry_at=now)
    start = now.replace(second=0, microsecond=0, minute=0 if now.minute < 30 else 30)
    ev = accepted_event(world, start=start, now=start - timedelta(hours=2), volume="1.0")
    services.event_dispatch_period(event=ev, now=now)
    page = client_as("member").get(reverse("assets:site", kwargs={"slug": world.community.slug, "site_id": e.site_id}))
    text = page.content.decode()
    assert "Discharge at 1.0 kW" in text and "chosen by the plan" in text
    mine = client_as("member").get(url(world, "index")).content.decode()
    assert "Why did my device do that?" in mine and "REQ-" in mine
