"""Pages and API as households, installers and the convenor use them."""

from __future__ import annotations

import json

from django.urls import reverse

from assets.purchasing.models import Bid, Registration
from tests.purchasing import helpers as H

FORM = {
    "latitude": "52.1",
    "longitude": "-1.9",
    "roof_area_m2": "24",
    "azimuth_deg": "180",
    "tilt_deg": "35",
    "shading": "none",
    "fuse_a": "100",
    "annual_use_kwh": "3100",
}


def test_the_live_estimate_shows_size_yield_savings_and_payback(world, client_as):
    c, pv, _ = H.campaign(world)
    url = reverse("purchasing:estimate", args=[world.community.slug, c.pk])
    r = client_as("member").get(url, {**FORM, "packages": [pv.pk]}, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert r.status_code == 200
    assert "3.87 kWp" in body and "kWh a year" in body and "Payback" in body
    r = client_as("member").get(url, {**FORM, "roof_area_m2": "5", "packages": [pv.pk]})
    assert "Roof too small" in r.content.decode()


def test_registering_a_roof_too_small_shows_the_error_inline_and_stores_nothing(world, client_as):
    c, pv, _ = H.campaign(world)
    url = reverse("purchasing:register", args=[world.community.slug, c.pk])
    r = client_as("member").post(url, {**FORM, "roof_area_m2": "5", "packages": [pv.pk], "site": world.site.pk})
    assert r.status_code == 400
    assert "Roof too small" in r.content.decode()
    assert not Registration.objects.exists()
    r = client_as("member").post(url, {**FORM, "packages": [pv.pk], "site": world.site.pk})
    assert r.status_code == 302 and Registration.objects.get().site == world.site


def test_a_household_cannot_register_someone_elses_home(world, client_as):
    c, pv, _ = H.campaign(world)
    url = reverse("purchasing:register", args=[world.community.slug, c.pk])
    r = client_as("member").post(url, {**FORM, "packages": [pv.pk], "site": world.neighbour_site.pk})
    assert r.status_code == 400 and not Registration.objects.exists()


def test_api_estimate_and_registration(world, client_as):
    c, pv, _ = H.campaign(world)
    base = f"/api/v1/communities/{world.community.slug}/buy/campaigns/{c.pk}/"
    body = {**FORM, "packages": [pv.pk], "site": world.site.pk}
    r = client_as("member").post(base + "estimate/", json.dumps(body), content_type="application/json")
    assert r.status_code == 200
    assert r.json()[0]["size"] == "3.87" and r.json()[0]["eligible"] is True
    r = client_as("member").post(
        base + "registrations/", json.dumps({**body, "roof_area_m2": "5"}), content_type="application/json"
    )
    assert r.status_code == 400 and "Roof too small" in json.dumps(r.json())
    assert not Registration.objects.exists()
    r = client_as("member").post(base + "registrations/", json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and Registration.objects.count() == 1


def test_api_bids_after_the_deadline_are_refused(world, client_as):
    c, pv, _ = H.campaign(world)
    H.installer(world, world.users["supplier"], "Bright Roofs")
    url = f"/api/v1/communities/{world.community.slug}/buy/campaigns/{c.pk}/packages/{pv.pk}/bids/"
    tiers = {"tiers": [{"up_to": "4.5", "price_per_unit": "1100"}, {"up_to": "8", "price_per_unit": "1000"}]}
    H.close_bidding(c)
    r = client_as("supplier").post(url, json.dumps(tiers), content_type="application/json")
    assert r.status_code == 400 and "deadline" in json.dumps(r.json())
    assert not Bid.objects.exists()


def test_an_installer_sees_only_its_own_bid_before_the_deadline(world, client_as):
    from assets.purchasing import services

    c, pv, _ = H.campaign(world)
    bright = H.installer(world, world.users["supplier"], "Bright Roofs")
    solid = H.installer(world, H.supplier(world, "solid"), "Solid Solar")
    services.bid_submit(package=pv, installer=solid, tiers=[{"up_to": 8, "price_per_unit": "987.65"}])
    services.bid_submit(package=pv, installer=bright, tiers=H.PV_TIERS)
    r = client_as("supplier").get(reverse("purchasing:bid", args=[world.community.slug, c.pk, pv.pk]))
    assert "987.65" not in r.content.decode() and "1100" in r.content.decode()
    r = client_as("convenor").get(reverse("purchasing:evaluation", args=[world.community.slug, c.pk]))
    assert "987.65" not in r.content.decode() and "2 sealed bids" in r.content.decode()
