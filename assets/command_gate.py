"""The consent and limits gate every command to a household's device passes.

``command_refusal`` is called by ``assets.services.command_publish`` and
``command_publish_many`` before anything is recorded or sent, for every
source: an operator's manual command, a VPP dispatch (source ``vpp``), the
self-balancing controller (``balancing``). A refusal names the consent or the
limit, in words a household and an operator both understand.

Rules (issue 10):
- Community- and corporate-owned assets are the operator's: no household gate.
- A household's device takes commands only under a consent in force
  (``community.ConsentRecord``, purpose ``vpp`` or ``balancing``, scope
  ``device:<id>``, given by one of the site's occupants, not expired or
  withdrawn). Source ``vpp`` needs a VPP consent, ``balancing`` a balancing
  consent, an operator's manual command either.
- Handing control back (``auto``, ``resume``) is always allowed: it ends a
  lease early and can only return the device to the household's own settings.
- The device's own limits (``Device.limits``): never-touch hours
  (``never_touch``: ["16:00-19:00", ...], local time of the community), the
  battery reserve (no discharge at or below ``reserve_pct``), the EV's ready-by
  time and minimum charge (no pause or slow-down that would leave the car below
  ``target_pct`` at ``ready_by``), the heat pump's comfort band (no setpoint
  shift outside ``comfort_min_c``..``comfort_max_c``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q

from assets.domain import kinds
from assets.models import Device, Telemetry
from community.models import Community, ConsentRecord, Site

RELEASE_ACTIONS = {"auto", "resume"}
LATEST_MAX_AGE = timedelta(minutes=10)
PURPOSES = {"vpp": ("vpp",), "balancing": ("balancing",)}
ANY_CONTROL = ("vpp", "balancing")
PURPOSE_WORDS = {"vpp": "flexibility (VPP)", "balancing": "self-balancing network"}


def consent_in_force(device: Device, purposes: tuple[str, ...], at: datetime) -> ConsentRecord | None:
    """The newest consent in force for this device and one of these purposes, given by an occupant."""
    occupants = device.site.occupants.values_list("pk", flat=True)
    for c in ConsentRecord.objects.filter(
        community_id=device.community_id,
        purpose__in=purposes,
        scope=f"device:{device.pk}",
        user_id__in=list(occupants),
        granted_at__lte=at,
    ).order_by("-granted_at"):
        if c.in_force(at):
            return c
    return None


def _consented(devices: list[Device], purposes: tuple[str, ...], at: datetime) -> set[int]:
    """Ids of the devices with a consent in force from one of their site's occupants (two queries)."""
    if not devices:
        return set()
    occupants: dict[int, set[int]] = defaultdict(set)
    for site_id, user_id in Site.occupants.through.objects.filter(site_id__in={d.site_id for d in devices}).values_list(
        "site_id", "user_id"
    ):
        occupants[site_id].add(user_id)
    given: dict[str, set[int]] = defaultdict(set)
    for scope, user_id in (
        ConsentRecord.objects.filter(
            community_id__in={d.community_id for d in devices},
            purpose__in=purposes,
            scope__in=[f"device:{d.pk}" for d in devices],
            granted_at__lte=at,
        )
        .filter(Q(expires_at=None) | Q(expires_at__gt=at))
        .filter(Q(withdrawn_at=None) | Q(withdrawn_at__gt=at))
        .values_list("scope", "user_id")
    ):
        given[scope].add(user_id)
    return {d.pk for d in devices if given[f"device:{d.pk}"] & occupants[d.site_id]}


def _latest_many(device_ids: list[int], at: datetime) -> dict[int, Telemetry]:
    """Each device's newest telemetry in the 10 minutes before ``at`` (older is too stale to judge by)."""
    if not device_ids:
        return {}
    qs = Telemetry.objects.filter(device_id__in=device_ids, ts__lte=at, ts__gt=at - LATEST_MAX_AGE).order_by(
        "device_id", "-ts"
    )
    if connection.vendor == "postgresql":
        qs = qs.distinct("device_id")
    out: dict[int, Telemetry] = {}
    for t in qs.only("device_id", "ts", "power_w", "soc_pct", "payload"):
        out.setdefault(t.device_id, t)
    return out


def _in_window(local: datetime, window: str) -> bool:
    start, end = window.split("-")
    hs, ms = (int(x) for x in start.split(":"))
    he, me = (int(x) for x in end.split(":"))
    m = local.hour * 60 + local.minute
    a, b = hs * 60 + ms, he * 60 + me
    return a <= m < b if a < b else (m >= a or m < b)  # a window may run past midnight


def never_touch_window(
    device: Device, at: datetime, until: datetime | None = None, *, tz: str | None = None
) -> str | None:
    """The never-touch window ``at`` (or any minute up to ``until``) falls in, if any."""
    windows = (device.limits or {}).get("never_touch") or []
    if not windows:
        return None
    tz = ZoneInfo(tz or device.community.timezone or "Europe/London")
    t, end = at, until or at
    while True:
        local = t.astimezone(tz)
        for w in windows:
            if _in_window(local, w):
                return w
        if t >= end:
            return None
        t = min(t + timedelta(minutes=5), end)


def _limits_refusal(
    device: Device, action: str, params: dict, at: datetime, valid_until: datetime, last: Telemetry | None, tz: str
) -> str | None:
    limits = device.limits or {}
    window = never_touch_window(device, at, valid_until, tz=tz)
    if window:
        return f"{device.uid}: the household's never-touch hours {window} forbid control then"
    if device.kind == kinds.BATTERY and action == "set_power" and params.get("power_w", 0) < 0:
        reserve = float(limits.get("reserve_pct", 0) or 0)
        if reserve and last is not None and last.soc_pct is not None and last.soc_pct <= reserve:
            return f"{device.uid}: battery reserve {reserve:g} % (the battery is at {last.soc_pct:.0f} %)"
    if device.kind == kinds.EV_CHARGER and (action == "pause" or action == "set_power"):
        rate = 0 if action == "pause" else int(params.get("power_w", 0))
        target = limits.get("target_pct")
        ready_by = limits.get("ready_by")
        if target is not None and ready_by and last is not None and rate < device.rated_power_w:
            soc = last.payload.get("ev_soc_pct", last.soc_pct)
            car_wh = float(device.specs.get("car_battery_wh") or device.capacity_wh or 60_000)
            if soc is not None and soc < float(target):
                hh, mm = (int(x) for x in ready_by.split(":"))
                local = at.astimezone(ZoneInfo(tz))
                rb = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
                if rb <= local:
                    rb += timedelta(days=1)
                need_wh = (float(target) - soc) / 100 * car_wh
                held = min(valid_until, rb) - at
                left_h = ((rb - at) - held).total_seconds() / 3600
                can_wh = device.rated_power_w * max(left_h, 0) + rate * held.total_seconds() / 3600
                if can_wh < need_wh:
                    return (
                        f"{device.uid}: EV minimum charge {float(target):g} % by {ready_by} "
                        f"(the car is at {soc:.0f} %; it could not catch up)"
                    )
    if device.kind == kinds.HEAT_PUMP and action == "shift_setpoint":
        lo, hi = limits.get("comfort_min_c"), limits.get("comfort_max_c")
        if lo is not None and hi is not None:
            base = float(device.specs.get("setpoint_c", (float(lo) + float(hi)) / 2))
            new = base + float(params.get("delta_c", 0))
            if not float(lo) <= new <= float(hi):
                return (
                    f"{device.uid}: heat-pump comfort band {float(lo):g}-{float(hi):g} °C "
                    f"(the shift would set {new:.1f} °C)"
                )
    return None


def command_refusals(
    commands: list[tuple[Device, str, dict]], *, source: str, at: datetime, valid_until: datetime
) -> list[str | None]:
    """Why each command may not be sent (None: it may), for many at once in a
    handful of queries (a dispatch of 1,000 devices must not cost 3,000)."""
    gated = [
        i
        for i, (d, action, _) in enumerate(commands)
        if d.ownership == Device.Ownership.HOUSEHOLD and action not in RELEASE_ACTIONS
    ]
    out: list[str | None] = [None] * len(commands)
    if not gated:
        return out
    purposes = PURPOSES.get(source, ANY_CONTROL)
    devices = [commands[i][0] for i in gated]
    ok = _consented(devices, purposes, at)
    tz = dict(Community.objects.filter(pk__in={d.community_id for d in devices}).values_list("pk", "timezone"))
    latest = _latest_many([d.pk for d in devices if d.pk in ok and d.kind in (kinds.BATTERY, kinds.EV_CHARGER)], at)
    words = " or ".join(PURPOSE_WORDS[p] for p in purposes)
    for i in gated:
        d, action, params = commands[i]
        if d.pk not in ok:
            out[i] = f"{d.uid}: the household has not consented to {words} control of this device (or it expired)"
        else:
            out[i] = _limits_refusal(
                d, action, params, at, valid_until, latest.get(d.pk), tz.get(d.community_id) or "Europe/London"
            )
    return out


def command_refusal(
    device: Device, action: str, params: dict, *, source: str, at: datetime, valid_until: datetime
) -> str | None:
    """Why this command may not be sent (None: it may)."""
    return command_refusals([(device, action, params)], source=source, at=at, valid_until=valid_until)[0]
