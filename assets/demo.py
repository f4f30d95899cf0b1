"""Demo devices, meters and a week of readings for Bramley Green.

Every home gets a smart meter; about 60 % have rooftop PV (orientations from
east to west), a third a home battery, a quarter an EV charger, a quarter a
heat pump, some an immersion heater on a timer. The school has a 50 kWp
community-owned array, the community centre 15 kWp, and a 50 kW wind turbine
at Bramley Farm is corporate-owned (its owner pays into the community benefit
fund). The last 7 days of half-hourly readings come from the same physics
the simulator runs (`assets.domain.home`), so charts have history before
`manage.py simulate` fills today.

Idempotent: devices are found by uid, readings are only generated when the
week has none. The simulated devices' MQTT passwords go to
var/simulator/credentials.json (0600), as an installer would type them in.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction

from assets import services
from assets.domain import kinds
from assets.domain.home import SimSite, Weather
from assets.models import Device, IntervalReading, Meter
from assets.mqtt.simulator import load_secrets, save_secrets, site_spec
from community.models import Community, NetworkNode, Site

HISTORY_DAYS = 7
HISTORY_STEP_S = 600
LONDON = ZoneInfo("Europe/London")


def _register(site, kind, uid, name, rated, secrets, **kw):
    d = Device.objects.filter(community=site.community, uid=uid).first()
    if d is not None:
        return d, False
    d, creds = services.device_register(site=site, kind=kind, uid=uid, name=name, rated_power_w=rated, **kw)
    secrets[str(d.pk)] = {"username": creds.username, "password": creds.password}
    return d, True


def _meter(site, device, kind, serial):
    Meter.objects.get_or_create(serial=serial, defaults={"site": site, "device": device, "kind": kind})


@transaction.atomic
def seed_devices(community: Community) -> int:
    secrets = load_secrets()
    created = 0
    rng = random.Random(7)
    homes = list(Site.objects.filter(community=community, kind=Site.Kind.HOME).order_by("meter_point_id"))
    for n, site in enumerate(homes, start=1):
        tag = f"h{n:02d}"
        d, new = _register(site, kinds.SMART_METER, f"{tag}-meter", "Smart meter", 24_000, secrets)
        created += new
        _meter(site, d, Meter.Kind.SITE, site.meter_point_id or f"SM-{site.pk}")
        if n % 5 in (0, 1, 2):
            kwp = rng.choice([2.8, 3.6, 4.0, 4.4, 5.2])
            az = rng.choice([90, 135, 160, 180, 180, 200, 225, 270])
            d, new = _register(
                site,
                kinds.PV_INVERTER,
                f"{tag}-pv",
                f"Rooftop PV {kwp} kWp",
                min(int(kwp * 900), 3680),
                secrets,
                specs={"dc_w": int(kwp * 1000), "tilt_deg": rng.choice([30, 35, 40]), "azimuth_deg": az},
            )
            created += new
            _meter(site, d, Meter.Kind.GENERATION, f"GEN-{community.pk}-{tag}")
        if n % 3 == 0:
            created += _register(
                site,
                kinds.BATTERY,
                f"{tag}-battery",
                "Home battery",
                5_000,
                secrets,
                capacity_wh=rng.choice([9_500, 10_000, 13_500]),
                limits={"reserve_pct": rng.choice([10, 20, 30])},
            )[1]
        if n % 4 == 1:
            created += _register(
                site,
                kinds.EV_CHARGER,
                f"{tag}-ev",
                "EV charger",
                7_400,
                secrets,
                limits={"ready_by": rng.choice(["06:30", "07:00", "07:30"]), "target_pct": 80},
                specs={"car_capacity_wh": rng.choice([40_000, 58_000, 77_000])},
            )[1]
        if n % 4 == 2:
            created += _register(
                site,
                kinds.HEAT_PUMP,
                f"{tag}-heatpump",
                "Air-source heat pump",
                3_000,
                secrets,
                limits={"comfort_min_c": 18.5, "comfort_max_c": 22.0},
            )[1]
        if n % 6 == 5:
            created += _register(
                site, kinds.LOAD, f"{tag}-immersion", "Immersion heater", 3_000, secrets, specs={"daily_wh": 3_000}
            )[1]

    school = Site.objects.filter(community=community, kind=Site.Kind.SCHOOL).first()
    if school is not None:
        d, new = _register(school, kinds.SMART_METER, "school-meter", "School meter", 100_000, secrets)
        created += new
        _meter(school, d, Meter.Kind.SITE, school.meter_point_id or f"SM-{school.pk}")
        d, new = _register(
            school,
            kinds.PV_INVERTER,
            "school-pv",
            "School roof solar 50 kWp",
            45_000,
            secrets,
            ownership=Device.Ownership.COMMUNITY,
            owner_name="Bramley Green Energy Co-op",
            specs={"dc_w": 50_000, "tilt_deg": 15, "azimuth_deg": 170},
        )
        created += new
        _meter(school, d, Meter.Kind.GENERATION, f"GEN-{community.pk}-school")
    centre = Site.objects.filter(community=community, kind=Site.Kind.COMMUNITY_BUILDING).first()
    if centre is not None:
        d, new = _register(centre, kinds.SMART_METER, "centre-meter", "Centre meter", 50_000, secrets)
        created += new
        _meter(centre, d, Meter.Kind.SITE, centre.meter_point_id or f"SM-{centre.pk}")
        d, new = _register(
            centre,
            kinds.PV_INVERTER,
            "centre-pv",
            "Community centre solar 15 kWp",
            13_500,
            secrets,
            ownership=Device.Ownership.COMMUNITY,
            owner_name="Bramley Green Energy Co-op",
            specs={"dc_w": 15_000, "tilt_deg": 30, "azimuth_deg": 190},
        )
        created += new
        _meter(centre, d, Meter.Kind.GENERATION, f"GEN-{community.pk}-centre")
    feeder = NetworkNode.objects.filter(community=community, kind=NetworkNode.Kind.FEEDER).order_by("code").last()
    if feeder is not None:
        farm, _ = Site.objects.get_or_create(
            community=community,
            meter_point_id="1012900000003",
            defaults={
                "kind": Site.Kind.BUSINESS,
                "name": "Bramley Farm wind turbine",
                "address": "Bramley Farm, Lode Lane, Birmingham",
                "postcode": "B30 9BF",
                "latitude": Decimal("52.4185"),
                "longitude": Decimal("-1.9400"),
                "network_node": feeder,
                "annual_consumption_kwh": 0,
            },
        )
        d, new = _register(farm, kinds.SMART_METER, "farm-meter", "Turbine export meter", 60_000, secrets)
        created += new
        _meter(farm, d, Meter.Kind.SITE, farm.meter_point_id)
        d, new = _register(
            farm,
            kinds.WIND_TURBINE,
            "farm-wind",
            "Wind turbine 50 kW",
            50_000,
            secrets,
            ownership=Device.Ownership.CORPORATE,
            owner_name="Kitwell Renewables Ltd",
        )
        created += new
        _meter(farm, d, Meter.Kind.GENERATION, f"GEN-{community.pk}-wind")
    transaction.on_commit(lambda: save_secrets(secrets))
    return created


def seed_history(community: Community, *, days: int = HISTORY_DAYS, now: datetime | None = None) -> int:
    """Half-hourly readings from local midnight ``days`` days ago up to the last
    period that has ended (so the demo's history runs up to the moment it starts and
    the simulator carries on from now), from the simulator's physics at 10-minute
    steps. Run again later, it tops up only the periods since the last reading."""
    now = now or datetime.now(UTC)
    period = timedelta(minutes=community.settlement_period_minutes)
    today = now.astimezone(LONDON).date()
    end = datetime.fromtimestamp(now.timestamp() // period.total_seconds() * period.total_seconds(), tz=UTC)
    start = datetime.combine(today - timedelta(days=days), time(0), tzinfo=LONDON).astimezone(UTC)
    last = (
        IntervalReading.objects.filter(meter__site__community=community, period_start__gte=start)
        .order_by("-period_start")
        .values_list("period_start", flat=True)
        .first()
    )
    if last is not None:
        start = last + period
    if start >= end:
        return 0
    devices = list(Device.objects.filter(community=community).select_related("site"))
    per_site = defaultdict(list)
    for d in devices:
        per_site[d.site_id].append(d)
    meters = list(Meter.objects.filter(site__community=community).select_related("device"))
    weather = Weather(seed=community.pk + 99)
    sims = {sid: SimSite(site_spec(devs[0].site, devs)) for sid, devs in per_site.items()}
    # energy per (site, period): [import, export] at the meter, generation
    meter_e = defaultdict(lambda: [0.0, 0.0])
    gen_e = defaultdict(float)
    t = start
    dt = HISTORY_STEP_S
    while t < end:
        weather.step(t, dt)
        p0 = t - timedelta(seconds=(t - start).total_seconds() % period.total_seconds())
        for sid, sim in sims.items():
            sim.step(t, dt, weather)
            net = sim.meter.power_w * dt / 3600.0
            e = meter_e[(sid, p0)]
            if net >= 0:
                e[0] += net
            else:
                e[1] -= net
            for k in kinds.GENERATORS:
                if k in sim.devices:
                    gen_e[(sid, k, p0)] += -sim.devices[k].power_w * dt / 3600.0
        t += timedelta(seconds=dt)
    rows = []
    for m in meters:
        if m.kind == Meter.Kind.SITE:
            for (sid, p0), (imp, exp) in meter_e.items():
                if sid == m.site_id:
                    rows.append(
                        IntervalReading(
                            meter=m,
                            period_start=p0,
                            period_minutes=int(period.total_seconds() // 60),
                            import_wh=int(round(imp)),
                            export_wh=int(round(exp)),
                            source=IntervalReading.Source.ESTIMATE,
                        )
                    )
        elif m.device is not None:
            for (sid, k, p0), wh in gen_e.items():
                if sid == m.site_id and k == m.device.kind:
                    rows.append(
                        IntervalReading(
                            meter=m,
                            period_start=p0,
                            period_minutes=int(period.total_seconds() // 60),
                            import_wh=0,
                            export_wh=int(round(max(wh, 0))),
                            source=IntervalReading.Source.ESTIMATE,
                        )
                    )
    IntervalReading.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def seed(*, community: Community, stdout=None) -> None:
    n = seed_devices(community)
    rows = seed_history(community)
    if stdout is not None:
        stdout.write(
            f"  devices: {n} new ({Device.objects.filter(community=community).count()} in all); "
            f"{rows} half-hourly readings for the last {HISTORY_DAYS} days"
        )
