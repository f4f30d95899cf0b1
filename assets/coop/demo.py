"""Demo data: Bramley Green Community Energy, a community benefit society that
raised money from its members for a 30 kWp solar array on the primary school's
roof (seed 002 4.2.2: GM Community Renewables puts ~30 kW arrays on schools),
two and a half years of half-hourly meter data from it, last year's accounts,
and the 2025 distribution ready for the treasurer to run. Also the Kitwell
Wind Farm's corporate benefit fund (seed 002 4.2.3) with its grants.

Idempotent: if the society exists nothing is created again.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from community.models import Community, Role, Site

from . import services
from .models import CoopAsset, FundingSource, Member, Society

SOCIETY = "Bramley Green Community Energy"
GEN_SERIAL = "BRG-SCHOOL-PV-GEN"
EXPORT_MPAN = "1012900000019"  # the school's export MPAN (separate from its import MPAN)
READINGS_FROM = datetime(2024, 5, 1, tzinfo=UTC)  # the array was commissioned on 1 May 2024
ARRAY_KWP = 30
SCHOOL_KWH_YEAR = 48_000


def _say(stdout, msg: str) -> None:
    if stdout is not None:
        stdout.write(f"  coop: {msg}")


def seed(*, community: Community, stdout=None, readings_until: datetime | None = None) -> Society:
    existing = Society.objects.filter(community=community, name=SOCIETY).first()
    if existing is not None:
        _say(stdout, "already there")
        return existing
    school = Site.objects.filter(community=community, kind=Site.Kind.SCHOOL).order_by("pk").first()
    if school is None:
        raise RuntimeError("The co-op demo needs the community's school site (run the community demo first).")
    until = readings_until or timezone.now().replace(minute=0, second=0, microsecond=0)
    with transaction.atomic():
        gen_meter, export_meter = _meters(community, school)
        _readings(school, gen_meter, export_meter, until)
        _say(stdout, f"{gen_meter.readings.count():,} half-hours of generation from the school's array")
        society = _society(community, school, gen_meter, export_meter)
        _say(stdout, f"{society.members.count()} members, share offer closed, 2024 interest paid")
        _corporate_fund(community)
    return society


def _meters(community, school):
    from assets.models import Device, Meter

    device = Device.objects.filter(community=community, site=school, kind=Device.Kind.PV).first()
    if device is None:
        device = Device.objects.create(
            community=community,
            site=school,
            uid="school-solar",
            name="School roof solar array",
            kind=Device.Kind.PV,
            ownership=Device.Ownership.COMMUNITY,
            owner_name=SOCIETY,
            rated_power_w=ARRAY_KWP * 1000,
        )
    # the devices demo may already meter the array: use its generation meter if so
    gen = Meter.objects.filter(device=device, kind=Meter.Kind.GENERATION).order_by("pk").first()
    if gen is None:
        gen, _ = Meter.objects.get_or_create(
            serial=GEN_SERIAL, defaults={"site": school, "device": device, "kind": Meter.Kind.GENERATION}
        )
    # The school's own import/export meter is what the array's export leaves through: use it
    # if the school has one; never add a second site meter (community charts would count the
    # school's export twice).
    exp = Meter.objects.filter(site=school, kind=Meter.Kind.SITE).exclude(serial=EXPORT_MPAN).order_by("pk").first()
    if exp is None:
        exp, _ = Meter.objects.get_or_create(serial=EXPORT_MPAN, defaults={"site": school, "kind": Meter.Kind.SITE})
    return gen, exp


def _readings(school, gen_meter, export_meter, until: datetime) -> None:
    """pvlib clear-sky × seeded cloudiness for the array (assets.domain.profiles); the school's
    demand from the BDEW commercial profile; what the school does not use is exported."""
    from assets.demo import insert_readings
    from assets.domain import profiles
    from assets.models import IntervalReading

    if export_meter.readings.filter(period_start__lt=READINGS_FROM + pd.Timedelta(days=1)).exists():
        return  # seeded before (idempotent)
    times = pd.date_range(READINGS_FROM, until, freq="30min", inclusive="left")
    if len(times) == 0:
        return
    array = profiles.PvArray(
        latitude=float(school.latitude),
        longitude=float(school.longitude),
        tilt_deg=20.0,
        azimuth_deg=170.0,
        dc_w=ARRAY_KWP * 1000,
        inverter_w=ARRAY_KWP * 1000,
    )
    mid = times + pd.Timedelta(minutes=15)
    dc = profiles.pv_clearsky_dc_w(array, mid)
    k = profiles.Cloudiness(seed=2024).series(len(times), 1800.0)
    gen_w = profiles.pv_ac_w(array, dc, k)
    gen_wh = (gen_w // 2).astype(np.int64)
    # ignore_conflicts: where the devices demo already metered a half-hour, its reading stands
    insert_readings(
        (gen_meter.pk, t, 30, 0, int(g), IntervalReading.Source.TELEMETRY)
        for t, g in zip(times.to_pydatetime(), gen_wh, strict=True)
    )
    rows = list(
        gen_meter.readings.filter(period_start__gte=READINGS_FROM, period_start__lt=until)
        .order_by("period_start")
        .values_list("period_start", "export_wh", "period_minutes")
    )
    _export(
        school,
        export_meter,
        pd.DatetimeIndex([t for t, _, _ in rows]),
        np.array([wh for _, wh, _ in rows], dtype=np.int64),
        np.array([pm for _, _, pm in rows]),
    )


def _export(school, export_meter, times: pd.DatetimeIndex, gen_wh: np.ndarray, minutes: np.ndarray) -> None:
    """The school uses what it can of the array's output (BDEW commercial profile G25 scaled to its
    annual use); the rest leaves through its export meter."""
    from assets.demo import insert_readings
    from assets.domain import profiles
    from assets.models import IntervalReading

    demand_w = np.empty(len(times))
    years = pd.DatetimeIndex(times).tz_convert(profiles.LONDON).year
    for year in np.unique(years):
        start, per_kwh = profiles._slp_year("G25", int(year))
        mask = years == year
        slots = ((times[mask] - pd.Timestamp(start)).total_seconds() // 900).astype(int)
        slots = np.clip(slots, 0, per_kwh.size - 1)
        demand_w[mask] = per_kwh[slots] * SCHOOL_KWH_YEAR
    demand_wh = (demand_w * minutes / 60).astype(np.int64)
    export_wh = gen_wh - np.minimum(gen_wh, demand_wh)
    import_wh = demand_wh - np.minimum(gen_wh, demand_wh)  # the school's site meter: both directions
    # half-hours the school's meter already reported stand (inserted as bulk_create(ignore_conflicts=True))
    insert_readings(
        (export_meter.pk, t, int(pm), int(i), int(e), IntervalReading.Source.CSV)
        for t, i, e, pm in zip(times.to_pydatetime(), import_wh, export_wh, minutes, strict=True)
    )


def _society(community, school, gen_meter, export_meter) -> Society:
    User = get_user_model()
    treasurer = User.objects.filter(memberships__community=community, memberships__role=Role.TREASURER).first()
    society = services.society_create(
        community=community,
        name=SOCIETY,
        kind="cbs",
        registration_number="8123",
        actor=treasurer,
        share_price=Decimal("1.00"),
        min_holding=Decimal("100"),
        max_holding=Decimal("20000"),
        target_interest_rate=Decimal("0.03"),
        max_interest_rate=Decimal("0.05"),
        min_holding_period_years=3,
        interest_day_count="actact",
        notice_period_days=90,
        quorum_min=10,
        quorum_fraction=Decimal("0.100"),
        # where members pay for their shares (a made-up account)
        bank_account_name="Bramley Green Community Energy Ltd",
        bank_sort_code="08-92-99",
        bank_account_number="65432109",
    )
    offer = services.offer_create(
        society=society,
        title="Solar on the School share offer",
        code="SOL",
        opens_on=date(2024, 2, 1),
        closes_on=date(2024, 3, 31),
        min_raise=Decimal(15000),
        target_raise=Decimal(20000),
        max_raise=Decimal(22000),
        min_application=Decimal(100),
        max_application=Decimal(5000),
        actor=treasurer,
        summary="30 kWp of solar panels on Bramley Green Primary School's roof. The school buys the electricity it "
        "uses at 20p/kWh (it pays 28p/kWh to its supplier); the rest is exported under a PPA at 8p/kWh. "
        "Target interest 3% a year from the surplus; the rest goes to the community fund.",
    )
    rng = random.Random(6)
    households = list(User.objects.filter(username__startswith="household").order_by("pk"))
    sizes = [100, 100, 150, 200, 200, 250, 300, 500, 500, 1000, 2000]
    applicants = []
    for user in households[:45]:
        applicants.append((user, user.get_full_name() or user.username, rng.choice(sizes)))
    firsts = [
        "Alan",
        "Beth",
        "Carl",
        "Dina",
        "Eddie",
        "Fran",
        "Gus",
        "Hana",
        "Ivan",
        "Jo",
        "Kate",
        "Liam",
        "Maya",
        "Nico",
        "Olga",
        "Pete",
        "Ruth",
        "Sean",
        "Tess",
        "Ugo",
    ]
    lasts = ["Marsh", "Hill", "Brook", "Field", "Wood", "Lane", "Vale", "Ford"]
    for i in range(55):
        applicants.append((None, f"{firsts[i % len(firsts)]} {lasts[(i * 7) % len(lasts)]}", rng.choice(sizes)))
    applicants.append((None, "Bramley Green Allotment Society", 3000))
    applicants.append((None, "St Mary's Parish Council", 2500))
    for n, (user, name, amount) in enumerate(applicants):
        app = services.application_submit(
            offer=offer,
            amount=Decimal(amount),
            today=date(2024, 2, 1) + timedelta(days=n % 55),
            user=user,
            full_name=name,
            email=(user.email if user and user.email else f"member{n}@bramley.example"),
            address=f"{n + 1} Bramley Road, Bramley Green, Birmingham",
            postcode="B30 2AB",
            sort_code=f"{20 + n % 60:02d}-{n % 100:02d}-{(n * 7) % 100:02d}",
            account_number=f"{10_000_000 + n * 7919}",
        )
        services.payment_record(
            application=app,
            amount=Decimal(amount),
            received_on=date(2024, 2, 3) + timedelta(days=n % 55),
            actor=treasurer,
        )
    services.offer_close(offer=offer, today=date(2024, 4, 2), actor=treasurer)
    asset = CoopAsset.objects.create(
        society=society,
        name="Bramley Green Primary School solar array",
        device=gen_meter.device,
        generation_meter=gen_meter,
        export_meter=export_meter,
        capacity_kw=Decimal(ARRAY_KWP),
        commissioned_on=READINGS_FROM.date(),
        capex=Decimal("30000"),
        life_years=25,
        om_pct_of_capex=Decimal("0.0100"),
        insurance_per_year=Decimal("240"),
        admin_per_member_year=Decimal("12"),
        ppa_p_per_kwh=Decimal("8"),
        host_p_per_kwh=Decimal("20"),
    )
    FundingSource.objects.create(
        asset=asset, kind="shares", name="Community shares (SOL offer)", amount=Decimal("22000")
    )
    FundingSource.objects.create(asset=asset, kind="grant", name="Rural Community Energy Fund", amount=Decimal("3000"))
    FundingSource.objects.create(
        asset=asset,
        kind="loan",
        name="Co-operative and Community Finance loan",
        amount=Decimal("5000"),
        annual_rate=Decimal("0.0600"),
        term_months=60,
        first_payment=date(2024, 6, 1),
    )
    members = list(Member.objects.filter(society=society).order_by("number"))
    # members' choices for their interest
    for m in members[::5]:
        Member.objects.filter(pk=m.pk).update(distribution_choice=Member.Choice.REINVEST)
    for m in members[3::11]:
        Member.objects.filter(pk=m.pk).update(distribution_choice=Member.Choice.DONATE)
    # 2024's interest (eight months of generation) was paid in February 2025
    services.account_entry_add(
        asset=asset,
        month=date(2024, 11, 1),
        kind="cost",
        amount=Decimal("180"),
        description="Inverter fan replaced",
        actor=treasurer,
    )
    dist = services.distribution_commit(
        society=society,
        start=date(2024, 1, 1),
        end=date(2025, 1, 1),
        interest_rate=Decimal("0.0150"),
        fund_contribution=Decimal("100"),
        today=date(2025, 2, 14),
        actor=treasurer,
    )
    services.distribution_mark_paid(distribution=dist, paid_on=date(2025, 2, 20), actor=treasurer)
    # a member moving away gives notice: it waits for the three-year minimum holding period (2027)
    services.account_entry_add(
        asset=asset,
        month=date(2025, 7, 1),
        kind="flex",
        amount=Decimal("65"),
        description="Demand Flexibility Service payments via the VPP",
        actor=treasurer,
    )
    leaver = members[7]
    services.withdrawal_request(member=leaver, amount=services.holding_of(leaver), notice_date=date(2025, 8, 1))
    services.member_close(member=members[12], reason="death", day=date(2025, 10, 3), actor=treasurer)
    services.withdrawals_pay(society=society, today=date(2025, 10, 20), budget=Decimal("1000"), actor=treasurer)
    # board and meetings
    for m, role in ((members[0], "Chair"), (members[1], "Secretary"), (members[2], "Treasurer")):
        services.board_member_add(
            society=society, member=m, role=role, elected_on=date(2024, 6, 20), term_ends_on=date(2027, 6, 20)
        )
    agm_at = datetime(2025, 6, 19, 18, 30, tzinfo=UTC)
    agm = services.meeting_create(
        society=society,
        kind="agm",
        title="Annual general meeting 2025",
        held_at=agm_at,
        place="School hall",
        notice_given_on=date(2025, 5, 20),
        vote_opens=agm_at - timedelta(days=14),
        vote_closes=agm_at,
        resolutions=[
            ("To receive the accounts for 2024", "ordinary"),
            ("To pay interest on shares at 1.5% for 2024", "ordinary"),
            ("To amend rule 14 so the board may offer new shares to fund a battery", "special"),
        ],
    )
    choices = ["for"] * 8 + ["against", "abstain"]
    for i, m in enumerate(members[:48]):
        for r in agm.resolutions.all():
            services.vote_cast(
                resolution=r,
                member=m,
                choice=choices[(i + r.number) % len(choices)],
                now=agm_at - timedelta(days=3) if i % 3 else agm_at,
                channel="online" if i % 3 else "in_person",
                actor=treasurer,
            )
    now = timezone.now()
    services.meeting_create(
        society=society,
        kind="gm",
        title="General meeting: a battery for the community centre",
        held_at=now + timedelta(days=21),
        place="Community centre",
        notice_given_on=now.date(),
        vote_opens=now - timedelta(days=1),
        vote_closes=now + timedelta(days=21),
        resolutions=[("To launch a £15,000 share offer for a 20 kWh battery at the community centre", "ordinary")],
    )
    # a new offer is open now for the battery
    battery = services.offer_create(
        society=society,
        title="Community centre battery share offer",
        code="BAT",
        opens_on=now.date() - timedelta(days=20),
        closes_on=now.date() + timedelta(days=30),
        min_raise=Decimal(8000),
        target_raise=Decimal(12000),
        max_raise=Decimal(15000),
        min_application=Decimal(100),
        max_application=Decimal(3000),
        actor=treasurer,
        summary="A 20 kWh battery at the community centre, charged from the school array's exports.",
    )
    for n, m in enumerate(members[20:32]):
        app = services.application_submit(
            offer=battery, amount=Decimal(250 + 50 * (n % 5)), today=now.date(), member=m, user=m.user
        )
        if n % 3:
            services.payment_record(application=app, amount=app.amount, received_on=now.date(), actor=treasurer)
    fund = society.funds.first()
    services.fund_grant_award(
        fund=fund,
        project="Draught-proofing the scout hut",
        recipient="1st Bramley Scouts",
        amount=Decimal("90"),
        decided_on=date(2025, 4, 10),
        panel_note="Volunteers fit it.",
    )
    return society


def _corporate_fund(community) -> None:
    fund = services.corporate_fund_create(
        community=community,
        name="Kitwell Wind Farm community benefit fund",
        company_name="Kitwell Wind Ltd",
        asset_name="Kitwell Wind Farm (4 × 3 MW)",
        capacity_kw=Decimal(12000),
        pounds_per_mw_year=Decimal(5000),
        description="£5,000 per MW installed a year, granted to projects in Bramley Green by a community panel.",
    )
    for year in (2024, 2025):
        services.fund_payment_record(
            fund=fund, amount=Decimal("60000"), received_on=date(year, 4, 1), description=f"Annual contribution {year}"
        )
    for project, recipient, amount, day in (
        ("Heat pump for the community centre", "Bramley Green Community Association", "18500", date(2024, 7, 9)),
        ("Energy advice sessions for 120 homes", "Bramley Green Energy Champions", "6200", date(2024, 10, 2)),
        ("Solar canopy over the bike shed", "Bramley Green Primary School PTA", "9800", date(2025, 5, 14)),
        ("Insulating the scout hut", "1st Bramley Scouts", "7400", date(2025, 9, 30)),
    ):
        services.fund_grant_award(
            fund=fund,
            project=project,
            recipient=recipient,
            amount=Decimal(amount),
            decided_on=day,
            panel_note="Approved by the community panel.",
        )
