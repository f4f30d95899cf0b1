"""Read paths shared by views, the API, the bridge and other apps.

Energy conventions (see assets.domain.kinds): a site meter's import/export
is what crosses the site's grid connection; a generation meter counts what
a PV array or turbine produced. A site's demand in a period is therefore
import - export + on-site generation (battery losses count as demand).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from assets.domain.intervals import period_starts
from assets.models import Device, DeviceCommand, IntervalReading, Meter, RejectedMessage, Telemetry
from community.models import Community, Site

OFFLINE_AFTER = timedelta(minutes=5)


def device_directory(keys: set[tuple[str, str]]) -> dict:
    """(community slug, uid) -> DeviceInfo for the bridge."""
    from assets.services import DeviceInfo

    if not keys:
        return {}
    by_slug: dict[str, set[str]] = defaultdict(set)
    for slug, uid in keys:
        by_slug[slug].add(uid)
    q = Q()  # one IN list per community: an OR per device cost the bridge seconds a batch (issue 16)
    for slug, uids in by_slug.items():
        q |= Q(community__slug=slug, uid__in=sorted(uids))
    rows = Device.objects.filter(q).values_list(
        "id", "community_id", "community__slug", "uid", "rated_power_w", "community__settlement_period_minutes"
    )
    return {
        (slug, uid): DeviceInfo(id=i, community_id=c, rated_power_w=rated, period_minutes=pm)
        for i, c, slug, uid, rated, pm in rows
    }


def devices_with_latest(qs: QuerySet[Device]) -> QuerySet[Device]:
    """Annotate each device with its latest telemetry (power, SoC, ts)."""
    latest = Telemetry.objects.filter(device=OuterRef("pk")).order_by("-ts")
    return qs.annotate(
        latest_ts=Subquery(latest.values("ts")[:1]),
        latest_power_w=Subquery(latest.values("power_w")[:1]),
        latest_soc_pct=Subquery(latest.values("soc_pct")[:1]),
        latest_temperature_c=Subquery(latest.values("temperature_c")[:1]),
        latest_payload=Subquery(latest.values("payload")[:1]),
    )


def site_devices(site: Site) -> list[Device]:
    return list(devices_with_latest(Device.objects.filter(site=site)).order_by("kind", "name"))


def is_online(device: Device, *, now: datetime | None = None) -> bool:
    """Online = the last status said so (retained, the broker's last will says
    otherwise) and we heard from it recently."""
    now = now or timezone.now()
    return bool(device.online and device.last_seen_at and now - device.last_seen_at < OFFLINE_AFTER)


def local_day_bounds(day: date, tz: str = "Europe/London") -> tuple[datetime, datetime]:
    z = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=z)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def today_local(tz: str = "Europe/London") -> date:
    return timezone.now().astimezone(ZoneInfo(tz)).date()


@dataclass
class EnergySeries:
    """Per-period energy (Wh); None where no reading exists (a gap, never 0)."""

    starts: list[datetime]
    imported: list[int | None]
    exported: list[int | None]
    generated: list[int | None]

    @property
    def demand(self) -> list[int | None]:
        out = []
        for i, e, g in zip(self.imported, self.exported, self.generated, strict=False):
            out.append(None if i is None or e is None else i - e + (g or 0))
        return out

    def total(self, name: str) -> int:
        return sum(v for v in getattr(self, name) if v is not None)

    @property
    def missing_periods(self) -> int:
        return sum(1 for v in self.imported if v is None)


def _period_sums(site_ids: list[int], gen_ids: list[int], start, end) -> dict[datetime, tuple]:
    """Per period, in one grouped query over both kinds of meter:
    (site import Wh, site export Wh, site readings, generation Wh, generation readings).
    ``site_ids`` are site meters and ``gen_ids`` generation meters (split by ``_meter_ids``)."""
    if not site_ids and not gen_ids:
        return {}
    site, gen = Q(meter__kind=Meter.Kind.SITE), Q(meter__kind=Meter.Kind.GENERATION)
    rows = (
        IntervalReading.objects.filter(
            meter_id__in=[*site_ids, *gen_ids], period_start__gte=start, period_start__lt=end
        )
        .values("period_start")
        .annotate(
            imp=Sum("import_wh", filter=site),
            exp=Sum("export_wh", filter=site),
            n=Count("id", filter=site),
            gen=Sum("export_wh", filter=gen),
            gn=Count("id", filter=gen),
        )
    )
    return {r["period_start"]: (r["imp"], r["exp"], r["n"], r["gen"], r["gn"]) for r in rows}


def _reporting(site_ids: list[int], gen_ids: list[int], windows: list[tuple[datetime, datetime]]) -> list[tuple]:
    """For each window [start, end): how many site meters and generation meters sent at
    least one reading in it. One query (a row per meter) for all windows."""
    if not site_ids and not gen_ids:
        return [(0, 0) for _ in windows]
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    per_window = {
        f"w{k}": Count("id", filter=Q(period_start__gte=start, period_start__lt=end))
        for k, (start, end) in enumerate(windows)
    }
    rows = (
        IntervalReading.objects.filter(meter_id__in=[*site_ids, *gen_ids], period_start__gte=lo, period_start__lt=hi)
        .values("meter_id")
        .annotate(**per_window)
    )
    site_set = set(site_ids)
    out = [[0, 0] for _ in windows]
    for r in rows:
        for k in range(len(windows)):
            if r[f"w{k}"]:
                out[k][0 if r["meter_id"] in site_set else 1] += 1
    return [tuple(x) for x in out]


def _series(sums: dict, starts: list[datetime], n_site: int, n_gen: int) -> EnergySeries:
    imported, exported, generated = [], [], []
    for s in starts:
        imp, exp, n, gen, gn = sums.get(s, (None, None, 0, None, 0))
        ok = n_site > 0 and n == n_site
        imported.append(imp if ok else None)
        exported.append(exp if ok else None)
        generated.append(gen if n_gen > 0 and gn == n_gen else None)
    return EnergySeries(starts, imported, exported, generated)


def energy_series(
    *,
    site_meter_ids: list[int],
    generation_meter_ids: list[int],
    start: datetime,
    end: datetime,
    period_minutes: int = 30,
) -> EnergySeries:
    """Sums over meters per period. A period counts as present only when every
    meter that reports in the window has a reading for it, so a home whose data
    is late shows as a gap rather than as a dip in demand. (A meter with no
    reading at all in the window -- not yet installed, or never fed -- is left
    out rather than blanking the whole chart.) Two queries, whatever the number of meters."""
    return energy_series_windows(
        site_meter_ids=site_meter_ids,
        generation_meter_ids=generation_meter_ids,
        windows=[(start, end)],
        period_minutes=period_minutes,
    )[0]


def energy_series_windows(
    *,
    site_meter_ids: list[int],
    generation_meter_ids: list[int],
    windows: list[tuple[datetime, datetime]],
    period_minutes: int = 30,
) -> list[EnergySeries]:
    """``energy_series`` for several windows (a week and the day inside it) from one pass
    over the readings; each window keeps its own count of reporting meters."""
    period = timedelta(minutes=period_minutes)
    lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    sums = _period_sums(site_meter_ids, generation_meter_ids, lo, hi)
    reporting = _reporting(site_meter_ids, generation_meter_ids, windows)
    return [
        _series(sums, period_starts(start, end, period), n_site, n_gen)
        for (start, end), (n_site, n_gen) in zip(windows, reporting, strict=True)
    ]


def _meter_ids(meters) -> tuple[list[int], list[int]]:
    return [i for i, k in meters if k == Meter.Kind.SITE], [i for i, k in meters if k == Meter.Kind.GENERATION]


def site_energy(site: Site, *, start: datetime, end: datetime) -> EnergySeries:
    site_ids, gen_ids = _meter_ids(Meter.objects.filter(site=site).values_list("id", "kind"))
    return energy_series(
        site_meter_ids=site_ids,
        generation_meter_ids=gen_ids,
        start=start,
        end=end,
        period_minutes=site.community.settlement_period_minutes,
    )


def community_energy(community: Community, *, start: datetime, end: datetime) -> EnergySeries:
    site_ids, gen_ids = _meter_ids(Meter.objects.filter(site__community=community).values_list("id", "kind"))
    return energy_series(
        site_meter_ids=site_ids,
        generation_meter_ids=gen_ids,
        start=start,
        end=end,
        period_minutes=community.settlement_period_minutes,
    )


def self_sufficiency_pct(series: EnergySeries) -> float | None:
    """Share of demand met by local generation in the same period
    (sum over periods of min(generation, demand) / total demand), over the
    periods where both are known."""
    met = total = 0
    for d, g in zip(series.demand, series.generated, strict=False):
        if d is None or g is None:
            continue
        d = max(d, 0)
        met += min(g, d)
        total += d
    return round(100.0 * met / total, 1) if total else None


def device_counts(community: Community) -> dict:
    now = timezone.now()
    devices = list(Device.objects.filter(community=community).values_list("online", "last_seen_at"))
    online = sum(1 for on, seen in devices if on and seen and now - seen < OFFLINE_AFTER)
    return {"total": len(devices), "online": online, "offline": len(devices) - online}


def offline_devices(community: Community) -> QuerySet[Device]:
    cutoff = timezone.now() - OFFLINE_AFTER
    return (
        Device.objects.filter(community=community)
        .filter(Q(online=False) | Q(last_seen_at__lt=cutoff) | Q(last_seen_at=None))
        .select_related("site")
        .order_by("site__name", "name")
    )


def rejected_messages(community: Community, *, limit: int = 100) -> list[RejectedMessage]:
    """Rejections tied to this community (unknown devices in it included by topic)."""
    prefix = f"cem/{community.slug}/"
    return list(
        RejectedMessage.objects.filter(
            Q(community=community) | Q(community=None, topic__startswith=prefix)
        ).select_related("device")[:limit]
    )


def rejection_summary(community: Community) -> list[dict]:
    prefix = f"cem/{community.slug}/"
    return list(
        RejectedMessage.objects.filter(Q(community=community) | Q(community=None, topic__startswith=prefix))
        .values("code")
        .annotate(n=Count("id"))
        .order_by("-n")
    )


def command_history(
    community: Community, *, limit: int = 100, device: Device | None = None, site: Site | None = None
) -> list[DeviceCommand]:
    qs = DeviceCommand.objects.filter(device__community=community).select_related(
        "device", "device__site", "created_by"
    )
    if device is not None:
        qs = qs.filter(device=device)
    if site is not None:
        qs = qs.filter(device__site=site)
    return list(qs[:limit])


def readings_for(
    *, community: Community, site: Site | None = None, start: datetime | None = None, end: datetime | None = None
) -> QuerySet[IntervalReading]:
    qs = IntervalReading.objects.filter(meter__site__community=community).select_related("meter")
    if site is not None:
        qs = qs.filter(meter__site=site)
    if start is not None:
        qs = qs.filter(period_start__gte=start)
    if end is not None:
        qs = qs.filter(period_start__lt=end)
    return qs.order_by("meter_id", "period_start")


def generation_by_kind_today(community: Community) -> dict[str, int]:
    start, end = local_day_bounds(today_local())
    rows = (
        IntervalReading.objects.filter(
            meter__site__community=community,
            meter__kind=Meter.Kind.GENERATION,
            period_start__gte=start,
            period_start__lt=end,
        )
        .values("meter__device__kind")
        .annotate(wh=Sum("export_wh"))
    )
    out = defaultdict(int)
    for r in rows:
        out[r["meter__device__kind"] or "other"] += r["wh"] or 0
    return dict(out)


def community_energy_summary(community: Community, *, day: date | None = None) -> dict:
    """What the community energy panel shows: today's generation vs demand,
    the last 7 days' totals, self-sufficiency for both, devices online."""
    tz = community.timezone or "Europe/London"
    day = day or today_local(tz)
    t_start, t_end = local_day_bounds(day, tz)
    w_start, _ = local_day_bounds(day - timedelta(days=6), tz)
    site_ids, gen_ids = _meter_ids(Meter.objects.filter(site__community=community).values_list("id", "kind"))
    # the day and the week from one pass over the readings (each keeps its own reporting meters)
    week, today = energy_series_windows(
        site_meter_ids=site_ids,
        generation_meter_ids=gen_ids,
        windows=[(w_start, t_end), (t_start, t_end)],
        period_minutes=community.settlement_period_minutes,
    )
    days = []
    for i in range(7):
        d = day - timedelta(days=6 - i)
        s, e = local_day_bounds(d, tz)
        idx = [k for k, st in enumerate(week.starts) if s <= st < e]
        sub = EnergySeries(
            [week.starts[k] for k in idx],
            [week.imported[k] for k in idx],
            [week.exported[k] for k in idx],
            [week.generated[k] for k in idx],
        )
        days.append(
            {
                "day": d,
                "demand_wh": sub.total("demand") if any(v is not None for v in sub.demand) else None,
                "generated_wh": sub.total("generated") if any(v is not None for v in sub.generated) else None,
                "self_sufficiency_pct": self_sufficiency_pct(sub),
                "missing": sub.missing_periods,
            }
        )
    return {
        "day": day,
        "today": today,
        "week": week,
        "days": days,
        "today_demand_wh": today.total("demand"),
        "today_generated_wh": today.total("generated"),
        "today_self_sufficiency_pct": self_sufficiency_pct(today),
        "week_self_sufficiency_pct": self_sufficiency_pct(week),
        "today_missing": sum(
            1
            for st, v in zip(today.starts, today.imported, strict=True)
            if v is None and st + timedelta(minutes=community.settlement_period_minutes) <= timezone.now()
        ),
        "devices": device_counts(community),
        "period_minutes": community.settlement_period_minutes,
    }
