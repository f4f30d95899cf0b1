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

from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from assets import services
from assets.domain import kinds
from assets.domain.home import SimSite, Weather
from assets.models import Device, IntervalReading, Meter
from assets.mqtt.simulator import load_secrets, save_secrets, site_spec
from community.models import Community, NetworkNode, Site

HISTORY_DAYS = 7
HISTORY_STEP_S = 600
LONDON = ZoneInfo("Europe/London")


READING_COLUMNS = ("meter_id", "period_start", "period_minutes", "import_wh", "export_wh", "source", "received_at")


def insert_readings(rows, *, batch_size: int = 5000) -> int:
    """Insert ``(meter_id, period_start, period_minutes, import_wh, export_wh, source)`` rows as
    ``IntervalReading.objects.bulk_create(..., ignore_conflicts=True)`` would (a half-hour a meter
    already has keeps its reading), with one prepared statement per batch; a row the table would
    refuse raises ValueError and nothing is written. The demo writes
    ~200,000 readings; Django's per-value preparation in bulk_create was ~45 s of seed_demo.
    Returns the number of rows offered."""
    ops = connection.ops
    adapt = ops.adapt_datetimefield_value  # the backend's own datetime conversion (UTC text on SQLite)
    now = adapt(timezone.now())
    fields = IntervalReading._meta.concrete_fields
    sql = " ".join(
        part
        for part in (
            ops.insert_statement(on_conflict=OnConflict.IGNORE),
            ops.quote_name(IntervalReading._meta.db_table),
            "(" + ", ".join(ops.quote_name(c) for c in READING_COLUMNS) + ")",
            "VALUES (" + ", ".join(["%s"] * len(READING_COLUMNS)) + ")",
            ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None),
        )
        if part
    )
    n = 0
    batch: list[tuple] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for meter_id, start, minutes, imp, exp, source in rows:
            # what the table's constraints say, checked on every database (SQLite's INSERT OR IGNORE
            # would skip a row that breaks a CHECK without a word); an error rolls the whole call back
            if start.tzinfo is None or minutes not in (5, 15, 30) or imp < 0 or exp < 0:
                raise ValueError(
                    f"meter {meter_id} at {start}: a reading needs a timezone-aware start, a 5, 15 or "
                    f"30-minute period and energy >= 0 Wh (got {minutes} min, {imp} Wh in, {exp} Wh out)"
                )
            batch.append((int(meter_id), adapt(start), int(minutes), int(imp), int(exp), str(source), now))
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                n += len(batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
            n += len(batch)
    return n


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
    minutes = int(period.total_seconds() // 60)
    rows = []
    for m in meters:
        if m.kind == Meter.Kind.SITE:
            for (sid, p0), (imp, exp) in meter_e.items():
                if sid == m.site_id:
                    rows.append((m.pk, p0, minutes, round(imp), round(exp), IntervalReading.Source.ESTIMATE))
        elif m.device is not None:
            for (sid, k, p0), wh in gen_e.items():
                if sid == m.site_id and k == m.device.kind:
                    rows.append((m.pk, p0, minutes, 0, round(max(wh, 0)), IntervalReading.Source.ESTIMATE))
    return insert_readings(rows, batch_size=2000)


def seed(*, community: Community, stdout=None) -> None:
    n = seed_devices(community)
    rows = seed_history(community)
    if stdout is not None:
        stdout.write(
            f"  devices: {n} new ({Device.objects.filter(community=community).count()} in all); "
            f"{rows} half-hourly readings for the last {HISTORY_DAYS} days"
        )
