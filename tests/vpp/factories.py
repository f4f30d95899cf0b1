"""VPP test data, made through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from assets.models import IntervalReading, Meter, Telemetry
from tests.assets.factories import device
from vpp import services


def site_meter(site) -> Meter:
    return Meter.objects.get_or_create(site=site, kind="site", defaults={"serial": f"S{site.pk:06d}"})[0]


def enrol_battery(
    world, site=None, user=None, *, rated=3000, capacity=10_000, soc=80.0, at=None, telemetry_at=None, **limits
):
    site = site or world.site
    user = user or world.users["member"]
    d = device(site, "battery", rated_power_w=rated, capacity_wh=capacity)
    d.online = True
    d.save(update_fields=["online"])
    site_meter(site)
    e = services.enrolment_create(site=site, user=user, device=d, limits=limits or None, now=at)
    t = telemetry_at or at
    if soc is not None and t is not None:
        Telemetry.objects.create(device=d, ts=t - timedelta(seconds=30), power_w=0, soc_pct=soc)
    return e


def flat_history(site, *, start: datetime, days: int, wh: int, minutes: int = 30) -> None:
    """Readings of ``wh`` per half-hour for ``days`` days before ``start`` and on its day."""
    m = site_meter(site)
    rows = []
    day0 = start.replace(hour=0, minute=0)
    for d in range(-days, 1):
        for k in range(24 * 60 // minutes):
            t = day0 + timedelta(days=d, minutes=minutes * k)
            rows.append(IntervalReading(meter=m, period_start=t, period_minutes=minutes, import_wh=wh, export_wh=0))
    IntervalReading.objects.bulk_create(rows, ignore_conflicts=True)


def requirement(world, *, start: datetime, now: datetime, kw="2.0", hours=1, price="306", node=None, **kw_):
    return services.requirement_create(
        community=world.community,
        buyer=world.users["flex_buyer"],
        buyer_name="Test DSO",
        reference=kw_.pop("reference", f"REQ-{start:%H%M}"),
        node=node or world.primary,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        kw_wanted=Decimal(kw),
        utilisation_gbp_per_mwh=Decimal(price),
        now=now,
        **kw_,
    )


def accepted_event(world, *, start, now, volume=None, **kw):
    req = requirement(world, start=start, now=now, **kw)
    bid = services.bid_propose(requirement=req, now=now)
    services.bid_submit(bid=bid, actor=world.users["asset_operator"], volume_kw=volume, now=now)
    return services.bid_accept(bid=bid, actor=world.users["flex_buyer"], now=now)
