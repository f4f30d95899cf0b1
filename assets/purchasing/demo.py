"""Demo data: two group buys in Bramley Green.

- "Bramley Solar Together 2025", completed: households without solar
  registered, three installers applied (one failed the insurance check), the
  sealed bids were opened after the deadline, Sol Supply Ltd won PV and
  batteries with Bright Roofs in reserve, about half the households offered
  accepted with a £150 deposit, and the kit was installed and commissioned
  four to five months ago.  The panels and batteries are devices of the
  homes now: the simulator runs them, the market and the VPP see them.
  Their generation meters carry half-hourly history since commissioning, so
  the three-month yield checks have run (one roof under a new tree falls
  short and is flagged).  One complaint was upheld, one is open.
- "Bramley Warm Homes 2026", open: PV, battery, heat pump and EV charger
  packages, a dozen registrations, sealed bids coming in; households can
  register now (log in as household3, household4, ...).

Idempotent: a campaign that exists is left as it is.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from assets.demo import insert_readings
from assets.domain.solar import pv_profile_kwh_per_kwp
from assets.models import Device, IntervalReading, Meter
from community.errors import DomainError
from community.models import Community, Membership, Role, Site

from . import selectors, services
from .models import Campaign, Installation, Offer, Registration

DONE = "Bramley Solar Together 2025"
OPEN = "Bramley Warm Homes 2026"
PASSWORD = "demo-energy-2026"
SHADED_ROOF_FACTOR = 0.62  # the roof a neighbour's tree now shades


def _say(stdout, msg: str) -> None:
    if stdout is not None:
        stdout.write(f"  purchasing: {msg}")


def _supplier(community, username: str, name: str):
    User = get_user_model()
    from community.demo import DEMO_PASSWORD

    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": name, "email": f"{username}@example.org"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.get_or_create(community=community, user=user, role=Role.SUPPLIER)
    return user


def _installers(community):
    today = timezone.localdate()
    spec = [
        ("supplier", "Sol Supply Ltd", Decimal("5000000"), 82, 6),
        ("brightroofs", "Bright Roofs Birmingham", Decimal("5000000"), 74, 5),
        ("cutprice", "Cut Price Solar", Decimal("1000000"), 55, 20),
    ]
    out = {}
    for username, company, cover, health, cap in spec:
        user = (
            get_user_model().objects.get(username=username)
            if username == "supplier"
            else _supplier(community, username, company)
        )
        inst = services.installer_apply(
            community=community,
            user=user,
            company=company,
            certification="MCS",
            certificate_number=f"MCS-{abs(hash(company)) % 100000:05d}",
            certificate_expires=today + timedelta(days=400),
            insurance_cover_gbp=cover,
            insurance_expires=today + timedelta(days=300),
            financial_health=health,
            capacity_per_week=cap,
            kinds=["pv", "battery", "heat_pump", "ev_charger"],
        )
        if cover >= services.auction.MIN_INSURANCE_GBP:
            inst = services.installer_review(installer=inst, approve=True)
        else:
            inst = services.installer_review(
                installer=inst,
                approve=False,
                reason="Public liability cover £1m is below the £2m the campaign asks for.",
            )
        out[username] = inst
    return out


def _home(site: Site, rng: random.Random) -> dict:
    return {
        "lat": site.latitude,
        "lon": site.longitude,
        "roof_area_m2": round(rng.uniform(14, 34), 1),
        "azimuth_deg": rng.choice([135, 160, 180, 180, 200, 225, 250]),
        "tilt_deg": rng.choice([30, 35, 40]),
        "shading": rng.choice(["none", "none", "none", "light", "moderate"]),
        "fuse_a": rng.choice([60, 80, 100, 100]),
        "annual_use_kwh": site.annual_consumption_kwh or 2700,
    }


def _homes_without_solar(community) -> list[Site]:
    with_pv = set(Device.objects.filter(community=community, kind="pv").values_list("site_id", flat=True))
    return [
        s
        for s in Site.objects.filter(community=community, kind=Site.Kind.HOME)
        .order_by("meter_point_id")
        .prefetch_related("occupants")
        if s.pk not in with_pv and s.occupants.exists()
    ]


def _dates(campaign: Campaign, **when) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(**when)
    campaign.refresh_from_db()


def _done_campaign(community, installers, stdout) -> Campaign:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    T = lambda days: now - timedelta(days=days)  # noqa: E731
    convenor = get_user_model().objects.get(username="convenor")
    c = services.campaign_create(
        community=community,
        name=DONE,
        description="Solar panels and home batteries for Bramley Green, bought together from vetted installers.",
        registration_closes=now + timedelta(days=1),
        bid_deadline=now + timedelta(days=2),
        convenor_fee_gbp=Decimal("150.00"),
        finance_options=[{"partner": "Bramley Credit Union", "apr_pct": 5.9, "years": 10}],
        actor=convenor,
    )
    pv = services.package_add(
        campaign=c,
        kind="pv",
        name="Solar PV",
        spec="430 Wp all-black modules, hybrid inverter, bird mesh, 25-year panel and 10-year workmanship warranty (MCS, RECC)",
        min_size=Decimal("2"),
        max_size=Decimal("6"),
        market_price_per_unit_gbp=Decimal("1450"),
        timeline="Survey within 3 weeks of acceptance; installation within 16 weeks",
    )
    bat = services.package_add(
        campaign=c,
        kind="battery",
        name="Home battery",
        spec="LFP battery with its own meter and an open local API (VPP-ready), 10-year warranty",
        min_size=Decimal("5"),
        max_size=Decimal("13.5"),
        market_price_per_unit_gbp=Decimal("650"),
        min_fuse_a=80,
    )
    _dates(c, registration_closes=T(200), bid_deadline=T(190))
    rng = random.Random(13)
    homes = _homes_without_solar(community)
    regs = 0
    for site in homes[:24]:
        user = site.occupants.first()
        home = _home(site, rng)
        packages = [pv] + ([bat] if home["fuse_a"] >= 80 and rng.random() < 0.4 else [])
        try:
            reg, _ = services.registration_submit(
                campaign=c, user=user, site=site, packages=packages, home=home, now=T(230 - regs)
            )
            Registration.objects.filter(pk=reg.pk).update(created_at=T(230 - regs))
            regs += 1
        except DomainError:
            continue
    # three installers, sealed bids before the deadline
    for inst, pv_tiers, bat_rate in (
        (installers["supplier"], ("1190", "1090", "1020"), "520"),
        (installers["brightroofs"], ("1240", "1130", "1060"), "495"),
    ):
        services.bid_submit(
            package=pv,
            installer=inst,
            tiers=[
                {"up_to": 3, "price_per_unit": pv_tiers[0]},
                {"up_to": 4.5, "price_per_unit": pv_tiers[1]},
                {"up_to": 6, "price_per_unit": pv_tiers[2]},
            ],
            now=T(195),
        )
        services.bid_submit(
            package=bat, installer=inst, tiers=[{"up_to": 13.5, "price_per_unit": bat_rate}], now=T(195)
        )
    services.auction_evaluate(campaign=c, now=T(189), actor=convenor)
    services.offers_issue(campaign=c, now=T(188), actor=convenor)
    offers = list(
        Offer.objects.filter(registration__campaign=c)
        .select_related("registration__user", "registration__site", "package", "installer")
        .order_by("registration_id", "package__kind")
    )
    by_reg: dict[int, list[Offer]] = {}
    for o in offers:
        by_reg.setdefault(o.registration_id, []).append(o)
    cert = b"%PDF-1.4\n% MCS installation certificate (demo)\n"
    installed = 0
    for n, group in enumerate(by_reg.values()):
        decision = n % 20
        if decision in (1, 4, 7, 10, 13, 16, 19):  # about a third decline, some let the window lapse
            services.offer_decline(offer=group[0], user=group[0].registration.user)
            continue
        if decision in (2, 11):
            continue  # expired below
        for o in group:
            user = o.registration.user
            services.offer_accept(offer=o, user=user, now=T(175 - n))
            sup = o.installer.user
            if n == 5 and o.package.kind == "pv":
                services.survey_record(
                    offer=o,
                    outcome="adjust",
                    new_price_gbp=o.price_gbp + Decimal("380"),
                    reason="Rafters need strengthening before the panels go on.",
                    actor=sup,
                )
                services.offer_accept(offer=o, user=user, now=T(165))
            if n == 8 and o.package.kind == "pv":
                services.survey_record(
                    offer=o,
                    outcome="cancel",
                    reason="The roof is asbestos cement: panels cannot be fixed to it.",
                    actor=sup,
                )
                continue
            services.survey_record(offer=o, outcome="confirm", survey_on=(T(168 - n)).date(), actor=sup)
            o.refresh_from_db()
            inst = o.installation
            when = T(150 - 2 * n)
            for step, name in enumerate(services.installations.MILESTONES):
                services.milestone_record(installation=inst, name=name, now=when - timedelta(days=4 - step), actor=sup)
            services.document_upload(
                installation=inst, kind="certificate", upload=ContentFile(cert, name=f"mcs-{o.pk}.pdf"), actor=sup
            )
            services.installation_commission(installation=inst, now=when, actor=sup)
            installed += 1
    services.offers_expire(now=T(140))
    _generation_history(c, now)
    for inst in Installation.objects.filter(
        offer__registration__campaign=c, yield_check__isnull=True, offer__package__kind="pv"
    ):
        services.yield_check_run(installation=inst, now=now)
    # complaints: one upheld and resolved, one open
    jobs = list(
        Offer.objects.filter(registration__campaign=c, status=Offer.Status.INSTALLED, package__kind="pv").order_by("pk")
    )
    if len(jobs) >= 2:
        c1 = services.complaint_raise(
            offer=jobs[0],
            user=jobs[0].registration.user,
            subject="Scaffolding left up for three weeks",
            detail="The scaffolding stayed after handover and blocked the drive.",
        )
        services.complaint_update(
            complaint=c1,
            status="upheld",
            resolution="Installer removed it and refunded £100 of the price.",
            actor=convenor,
        )
        services.complaint_raise(
            offer=jobs[1],
            user=jobs[1].registration.user,
            subject="App shows no battery data",
            detail="Since handover the battery does not appear in the app.",
        )
    _dates(c, status=Campaign.Status.CLOSED)
    _say(stdout, f"{DONE}: {regs} registrations, {installed} installations commissioned")
    return c


def _generation_history(campaign: Campaign, until: datetime) -> None:
    """Half-hourly generation of the group-buy PV since commissioning (the shared yield model, one roof shaded)."""
    rows = []
    installs = Installation.objects.filter(
        offer__registration__campaign=campaign, offer__package__kind="pv", commissioned_at__isnull=False
    ).select_related("offer__registration")
    for i, inst in enumerate(installs.order_by("pk")):
        reg = inst.offer.registration
        meter = Meter.objects.filter(device__in=inst.devices.all(), kind=Meter.Kind.GENERATION).first()
        if meter is None or meter.readings.exists():
            continue
        prof = pv_profile_kwh_per_kwp(
            float(reg.latitude), float(reg.longitude), float(reg.tilt_deg), float(reg.azimuth_deg)
        )
        shade = {"none": 1.0, "light": 0.95, "moderate": 0.85, "heavy": 0.7}[reg.shading]
        factor = float(inst.offer.size) * shade * (SHADED_ROOF_FACTOR if i == 2 else 1.0)
        rng = np.random.default_rng(inst.pk)
        start = inst.commissioned_at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        n = int((until - start).total_seconds() // 1800)
        t = np.array([start + timedelta(minutes=30 * k) for k in range(n)])
        hours = np.array([int((x - datetime(x.year, 1, 1, tzinfo=UTC)).total_seconds() // 3600) % 8760 for x in t])
        wh = prof[hours] * factor * 500.0 * rng.normal(1.0, 0.08, n).clip(0.6, 1.4)
        rows.extend((meter.pk, x, 30, 0, int(w), IntervalReading.Source.TELEMETRY) for x, w in zip(t, wh, strict=True))
    insert_readings(rows)


def _open_campaign(community, installers, stdout) -> Campaign:
    now = timezone.now()
    convenor = get_user_model().objects.get(username="convenor")
    c = services.campaign_create(
        community=community,
        name=OPEN,
        description="Second round: solar, batteries, heat pumps and EV chargers. Register by the closing date to get a personal offer.",
        registration_closes=now + timedelta(days=21),
        bid_deadline=now + timedelta(days=24),
        convenor_fee_gbp=Decimal("120.00"),
        finance_options=[
            {"partner": "Bramley Credit Union", "apr_pct": 5.9, "years": 10},
            {"partner": "Green Home Loans", "apr_pct": 7.4, "years": 5},
        ],
        actor=convenor,
    )
    pv = services.package_add(
        campaign=c,
        kind="pv",
        name="Solar PV",
        spec="430 Wp modules, hybrid inverter ready for a battery",
        min_size=Decimal("2"),
        max_size=Decimal("6"),
        market_price_per_unit_gbp=Decimal("1400"),
    )
    bat = services.package_add(
        campaign=c,
        kind="battery",
        name="Home battery",
        spec="LFP, 10-year warranty, open local API",
        min_size=Decimal("5"),
        max_size=Decimal("13.5"),
        market_price_per_unit_gbp=Decimal("620"),
        min_fuse_a=80,
    )
    hp = services.package_add(
        campaign=c,
        kind="heat_pump",
        name="Air-source heat pump",
        spec="R290 monobloc, weather compensation, hot-water cylinder; Boiler Upgrade Scheme grant applied",
        min_size=Decimal("5"),
        max_size=Decimal("12"),
        market_price_per_unit_gbp=Decimal("2400"),
        grant_gbp=Decimal("7500"),
        min_fuse_a=80,
    )
    services.package_add(
        campaign=c,
        kind="ev_charger",
        name="Smart EV charger",
        spec="7.4 kW tethered, OCPP 1.6, solar-matching mode",
        min_size=Decimal("1"),
        max_size=Decimal("1"),
        market_price_per_unit_gbp=Decimal("1050"),
    )
    rng = random.Random(29)
    done_users = set(
        Offer.objects.filter(registration__campaign__name=DONE).values_list("registration__user_id", flat=True)
    )
    n = 0
    for site in (
        Site.objects.filter(community=community, kind=Site.Kind.HOME)
        .order_by("-meter_point_id")
        .prefetch_related("occupants")
    ):
        user = site.occupants.first()
        if user is None or user.pk in done_users or user.username in ("household3", "household4"):
            continue
        home = _home(site, rng)
        home["fuse_a"] = 100
        packages = [pv] + ([bat] if rng.random() < 0.4 else []) + ([hp] if rng.random() < 0.25 else [])
        try:
            services.registration_submit(campaign=c, user=user, site=site, packages=packages, home=home)
        except DomainError:
            continue
        n += 1
        if n >= 12:
            break
    services.bid_submit(
        package=pv,
        installer=installers["supplier"],
        tiers=[{"up_to": 3, "price_per_unit": "1170"}, {"up_to": 6, "price_per_unit": "1040"}],
    )
    services.bid_submit(
        package=bat, installer=installers["brightroofs"], tiers=[{"up_to": 13.5, "price_per_unit": "480"}]
    )
    _say(stdout, f"{OPEN}: open, {n} registrations, bids sealed until {timezone.localtime(c.bid_deadline):%d %b %Y}")
    return c


def _seed(community: Community, stdout) -> Campaign:
    with transaction.atomic():
        installers = _installers(community)
        done = Campaign.objects.filter(community=community, name=DONE).first() or _done_campaign(
            community, installers, stdout
        )
        if not Campaign.objects.filter(community=community, name=OPEN).exists():
            _open_campaign(community, installers, stdout)
    return done


def seed(*, community: Community, stdout=None) -> None:
    if Campaign.objects.filter(community=community, name__in=[DONE, OPEN]).count() == 2:
        _say(stdout, "already there")
        done = Campaign.objects.get(community=community, name=DONE)
    else:
        done = _seed(community, stdout)
    s = selectors.campaign_stats(done)
    _say(
        stdout,
        f"households saved £{s.saving_vs_alone_gbp:,.0f} against buying alone ({s.saving_vs_alone_pct:.0f} %): "
        f"£{s.saving_per_home_gbp:,} per home, and £{s.bill_savings_per_home_gbp:,} per home per year off their bills; "
        f"{s.installed_kwp} kWp installed; {s.acceptance_rate:.0%} of households offered accepted",
    )
