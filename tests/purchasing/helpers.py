"""Builders for purchasing tests and route setups: a campaign at each stage of its life."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from community.models import Membership

HOME = {
    "lat": "52.1",
    "lon": "-1.9",
    "roof_area_m2": "24",
    "azimuth_deg": "180",
    "tilt_deg": "35",
    "shading": "none",
    "fuse_a": "100",
    "annual_use_kwh": "3100",
}
PV_TIERS = [
    {"up_to": 3, "price_per_unit": "1250"},
    {"up_to": 4.5, "price_per_unit": "1100"},
    {"up_to": 8, "price_per_unit": "1000"},
]


def campaign(world, *, name="Sunny Streets 2026", fee="150.00"):
    from assets.purchasing import services

    now = timezone.now()
    c = services.campaign_create(
        community=world.community,
        name=name,
        registration_closes=now + timedelta(days=20),
        bid_deadline=now + timedelta(days=21),
        convenor_fee_gbp=Decimal(fee),
        finance_options=[{"partner": "Green Credit Union", "apr_pct": 5.9, "years": 10}],
        actor=world.users["convenor"],
    )
    pv = services.package_add(
        campaign=c,
        kind="pv",
        name="Solar PV",
        spec="430 Wp all-black modules, hybrid inverter, 25-year warranty",
        min_size=Decimal("2.0"),
        max_size=Decimal("8.0"),
        market_price_per_unit_gbp=Decimal("1450"),
        timeline="Install within 16 weeks of acceptance",
    )
    battery = services.package_add(
        campaign=c,
        kind="battery",
        name="Home battery",
        spec="LFP battery, 10-year warranty",
        min_size=Decimal("5"),
        max_size=Decimal("13.5"),
        market_price_per_unit_gbp=Decimal("650"),
        min_fuse_a=80,
    )
    return c, pv, battery


def supplier(world, username: str):
    User = get_user_model()
    u = User.objects.filter(username=username).first()
    if u is None:
        u = User.objects.create_user(username=username, password="pw-for-tests-9", first_name=username.title())
        Membership.objects.create(community=world.community, user=u, role="supplier")
    return u


def installer(world, user, company: str, *, health=80, capacity=10, qualify=True):
    from assets.purchasing import services

    inst = services.installer_apply(
        community=world.community,
        user=user,
        company=company,
        certification="MCS",
        certificate_number=f"MCS-{company[:3].upper()}-1",
        certificate_expires=date.today() + timedelta(days=365),
        insurance_cover_gbp=Decimal("5000000"),
        insurance_expires=date.today() + timedelta(days=365),
        financial_health=health,
        capacity_per_week=capacity,
        kinds=["pv", "battery", "heat_pump", "ev_charger"],
    )
    if qualify:
        inst = services.installer_review(installer=inst, approve=True, actor=world.users["convenor"])
    return inst


def registered(world, c, packages, user=None, site=None, **home):
    from assets.purchasing import services

    reg, _ = services.registration_submit(
        campaign=c,
        user=user or world.users["member"],
        site=site if site is not None else world.site,
        packages=packages,
        home={**HOME, **home},
    )
    return reg


def close_bidding(c):
    from assets.purchasing.models import Campaign

    past = timezone.now() - timedelta(minutes=1)
    Campaign.objects.filter(pk=c.pk).update(bid_deadline=past, registration_closes=past)
    c.refresh_from_db()
    return c


def awarded(world):
    """A campaign with two registrations, a winner (Bright Roofs) and a reserve (Solid Solar), offers out."""
    from assets.purchasing import services

    c, pv, battery = campaign(world)
    registered(world, c, [pv])
    registered(world, c, [pv], user=world.neighbour, site=world.neighbour_site, roof_area_m2="30", azimuth_deg="200")
    bright = installer(world, world.users["supplier"], "Bright Roofs")
    solid = installer(world, supplier(world, "solid"), "Solid Solar")
    services.bid_submit(package=pv, installer=bright, tiers=PV_TIERS)
    services.bid_submit(
        package=pv,
        installer=solid,
        tiers=[{"up_to": 4.5, "price_per_unit": "1200"}, {"up_to": 8, "price_per_unit": "1120"}],
    )
    close_bidding(c)
    services.auction_evaluate(campaign=c, actor=world.users["convenor"])
    services.offers_issue(campaign=c, actor=world.users["convenor"])
    c.refresh_from_db()
    pv.refresh_from_db()
    return c, pv, bright, solid
