"""Read paths of the VPP: forecasts, enrolments, events, M&V and statements."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, Sum

from assets.models import Device, IntervalReading, Meter, Telemetry
from community.access import OPERATOR_ROLES, roles_in
from community.models import Community, NetworkNode, Role
from vpp.domain import forecast as fc
from vpp.models import DispatchRun, Enrolment, Event, OptOut, Payout, Requirement, Settlement, SharingRule, VppCommand

HISTORY_DAYS = 14
# With no history yet, what a device is assumed to give in an evening peak
# (per rated W): a prior, flagged on the page, replaced as telemetry arrives.
PRIOR_SHARE = {"battery": 1.0, "ev_charger": 0.3, "heat_pump": 0.35, "load": 0.5}
TURN_DOWN_PRIOR_W = 80  # 15 % of a typical 2,700 kWh/yr home's evening use
FLEX_OPERATORS = frozenset({Role.ASSET_OPERATOR, Role.MARKET_OPERATOR, Role.CONVENOR})


def is_operator(user: Any, community: Community) -> bool:
    return bool(roles_in(user, community) & FLEX_OPERATORS) or getattr(user, "is_superuser", False)


def sees_all(user: Any, community: Community) -> bool:
    return bool(roles_in(user, community) & OPERATOR_ROLES) or getattr(user, "is_superuser", False)


def periods(start: datetime, end: datetime, minutes: int) -> list[datetime]:
    step = timedelta(minutes=minutes)
    out, t = [], start
    while t < end:
        out.append(t)
        t += step
    return out


def node_and_below(node: NetworkNode) -> list[int]:
    ids, frontier = [node.pk], [node.pk]
    while frontier:
        frontier = list(NetworkNode.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def enrolments_active(community: Community, *, node: NetworkNode | None = None, at: datetime) -> list[Enrolment]:
    qs = Enrolment.objects.filter(community=community, left_at=None).select_related(
        "device", "site__network_node", "consent", "user"
    )
    if node is not None:
        qs = qs.filter(site__network_node_id__in=node_and_below(node))
    return [e for e in qs if e.consent.in_force(at)]


def latest_telemetry(device_ids: list[int], at: datetime, *, max_age: timedelta = timedelta(minutes=10)) -> dict:
    """device id -> its newest telemetry row at or before ``at`` (not older than ``max_age``)."""
    if not device_ids:
        return {}
    qs = Telemetry.objects.filter(device_id__in=device_ids, ts__lte=at, ts__gt=at - max_age).order_by(
        "device_id", "-ts"
    )
    if connection.vendor == "postgresql":
        qs = qs.distinct("device_id")  # one row per device, by the (device, ts) index
    rows = qs.values_list("device_id", "ts", "power_w", "soc_pct", "payload")
    out: dict = {}
    for device_id, ts, power_w, soc, payload in rows.iterator(chunk_size=5000):
        if device_id not in out:
            out[device_id] = {"ts": ts, "power_w": power_w, "soc_pct": soc, "payload": payload or {}}
    return out


def device_power_history(devices: list[Device], start: datetime, n: int, minutes: int, days: int = HISTORY_DAYS):
    """device id -> days x n array of mean power W in the same half-hours on past days (NaN = no data)."""
    if not devices:
        return {}
    step = timedelta(minutes=minutes)
    q = Q()
    for d in range(1, days + 1):
        s = start - timedelta(days=d)
        q |= Q(ts__gte=s, ts__lt=s + n * step)
    acc: dict = defaultdict(lambda: np.zeros((days, n)))
    cnt: dict = defaultdict(lambda: np.zeros((days, n)))
    rows = Telemetry.objects.filter(q, device_id__in=[d.pk for d in devices]).exclude(power_w=None)
    for device_id, ts, p in rows.values_list("device_id", "ts", "power_w").iterator(chunk_size=10000):
        delta = start - ts
        day = int(np.ceil(delta / timedelta(days=1)))
        k = int(((ts + timedelta(days=day)) - start) / step)
        if 1 <= day <= days and 0 <= k < n:
            acc[device_id][day - 1, k] += p
            cnt[device_id][day - 1, k] += 1
    out = {}
    for d in devices:
        with np.errstate(invalid="ignore", divide="ignore"):
            out[d.pk] = acc[d.pk] / cnt[d.pk] if d.pk in acc else np.full((days, n), np.nan)
    return out


def site_import_history(site_ids: list[int], start: datetime, n: int, minutes: int, days: int = HISTORY_DAYS):
    """site id -> days x n array of mean import W from the site meter (NaN = no reading)."""
    step = timedelta(minutes=minutes)
    out = {sid: np.full((days, n), np.nan) for sid in site_ids}
    q = Q()
    for d in range(1, days + 1):
        s = start - timedelta(days=d)
        q |= Q(period_start__gte=s, period_start__lt=s + n * step)
    rows = IntervalReading.objects.filter(q, meter__site_id__in=site_ids, meter__kind=Meter.Kind.SITE).values_list(
        "meter__site_id", "period_start", "import_wh", "export_wh"
    )
    for sid, ps, imp, exp in rows.iterator(chunk_size=10000):
        day = int(np.ceil((start - ps) / timedelta(days=1)))
        k = int(((ps + timedelta(days=day)) - start) / step)
        if 1 <= day <= days and 0 <= k < n:
            out[sid][day - 1, k] = (imp - exp) * 60 / minutes
    return out


@dataclass
class UnitForecast:
    enrolment: Enrolment
    p10: list[int]
    p50: list[int]
    p90: list[int]
    prior: bool


@dataclass
class Forecast:
    starts: list[datetime]
    units: list[UnitForecast]
    p10: list[int] = field(default_factory=list)
    p50: list[int] = field(default_factory=list)
    p90: list[int] = field(default_factory=list)

    @property
    def priors(self) -> int:
        return sum(1 for u in self.units if u.prior)


def flexibility_forecast(
    community: Community, *, start: datetime, n: int, node: NetworkNode | None = None, direction: str = "down", at=None
) -> Forecast:
    """P10/P50/P90 flexibility (W) of every enrolment in force at ``node`` and below, per period."""
    minutes = community.settlement_period_minutes
    at = at or start
    enrolments = enrolments_active(community, node=node, at=at)
    devices = [e.device for e in enrolments if e.device_id]
    power = device_power_history(devices, start, n, minutes)
    homes = site_import_history([e.site_id for e in enrolments if not e.device_id], start, n, minutes)
    units = []
    for e in enrolments:
        if e.device_id:
            hist = power[e.device_id]
            kind, rated = e.device.kind, e.device.rated_power_w
        else:
            hist = homes[e.site_id]
            kind, rated = "turn_down", 0
        days_seen = ~np.isnan(hist).all(axis=1)
        if days_seen.sum() >= 3:
            f = fc.flex_w(
                kind, np.nan_to_num(hist[days_seen]), rated_w=rated, direction=direction, turn_down_pct=e.turn_down_pct
            )
            p10, p50, p90 = (list(map(int, a)) for a in fc.quantiles(f))
            units.append(UnitForecast(e, p10, p50, p90, False))
        else:
            w = TURN_DOWN_PRIOR_W if kind == "turn_down" else int(PRIOR_SHARE.get(kind, 0) * rated)
            if direction == "up" and kind == "turn_down":
                w = 0
            units.append(UnitForecast(e, [w // 2] * n, [w] * n, [min(int(w * 1.5), 2 * max(rated, w))] * n, True))
    out = Forecast(periods(start, start + n * timedelta(minutes=minutes), minutes), units)
    out.p10, out.p50, out.p90 = fc.aggregate([(np.array(u.p10), np.array(u.p50), np.array(u.p90)) for u in units])
    if not units:
        out.p10 = out.p50 = out.p90 = [0] * n
    return out


def forecast_by_node(community: Community, *, start: datetime, hours: int = 48) -> list[tuple[NetworkNode, Forecast]]:
    """The operator's 48-hour view: feeders (and their parents) with enrolled flexibility."""
    n = hours * 60 // community.settlement_period_minutes
    whole = flexibility_forecast(community, start=start, n=n)
    by_node: dict = defaultdict(list)
    for u in whole.units:
        by_node[u.enrolment.site.network_node_id].append(u)
    out = []
    for node in NetworkNode.objects.filter(pk__in=list(by_node)).order_by("name"):
        us = by_node[node.pk]
        f = Forecast(whole.starts, us)
        f.p10, f.p50, f.p90 = fc.aggregate([(np.array(u.p10), np.array(u.p50), np.array(u.p90)) for u in us])
        out.append((node, f))
    return out


# --- events, pages -----------------------------------------------------------------


def requirements_for(user: Any, community: Community) -> QuerySet[Requirement]:
    qs = Requirement.objects.filter(community=community).select_related("node", "buyer").prefetch_related("bids")
    if sees_all(user, community):
        return qs
    return qs.filter(buyer=user)


def events_upcoming_for_household(user: Any, community: Community, now: datetime) -> list[dict]:
    """Upcoming events that would use this household's enrolments, with their opt-out state."""
    mine = list(Enrolment.objects.filter(community=community, user=user, left_at=None).select_related("site", "device"))
    if not mine:
        return []
    events = (
        Event.objects.filter(
            community=community, ends_at__gt=now, status__in=[Event.Status.SCHEDULED, Event.Status.ACTIVE]
        )
        .select_related("requirement__node")
        .order_by("starts_at")
    )
    opted = set(OptOut.objects.filter(enrolment__in=mine).values_list("event_id", "enrolment_id"))
    out = []
    for ev in events:
        nodes = set(node_and_below(ev.requirement.node))
        rows = [(e, (ev.pk, e.pk) in opted) for e in mine if e.site.network_node_id in nodes]
        if rows:
            out.append({"event": ev, "enrolments": rows, "started": now >= ev.starts_at})
    return out


def commands_for_site(site_id: int, limit: int = 100) -> QuerySet[VppCommand]:
    return (
        VppCommand.objects.filter(enrolment__site_id=site_id)
        .select_related("command", "event__requirement", "run", "enrolment__device")
        .order_by("-created_at")[:limit]
    )


def deliveries_for_user(user: Any, community: Community) -> list:
    from vpp.models import Delivery

    rows = list(
        Delivery.objects.filter(event__community=community, site__occupants=user)
        .select_related("event__requirement", "site")
        .order_by("-event__starts_at")
    )
    pays = {
        (p.settlement.event_id, p.site_id): p
        for p in Payout.objects.filter(settlement__event__community=community, user=user).select_related("settlement")
    }
    return [(d, pays.get((d.event_id, d.site_id))) for d in rows]


def event_tracking(event: Event) -> dict:
    """Plan vs actual per period: the buyer's target, the plan, what devices report now,
    and (once readings are in) what the meters show against the settling baseline."""
    minutes = event.community.settlement_period_minutes
    starts = periods(event.starts_at, event.ends_at, minutes)
    target = [event.target_w] * len(starts)
    plan_run = event.runs.filter(kind=DispatchRun.Kind.PLAN).order_by("-number").first()
    planned = plan_run.planned_w if plan_run else {}
    planned_total = [sum(v[k] for v in planned.values()) for k in range(len(starts))] if planned else [0] * len(starts)
    sent = defaultdict(int)
    for ps, w in VppCommand.objects.filter(event=event, refused="", rule__in=["plan", "replacement"]).values_list(
        "period_start", "flex_w"
    ):
        sent[ps] += w
    measured = [None] * len(starts)
    delivered = list(event.deliveries.all())
    if delivered:
        method = event.requirement.baseline_method
        measured = [0] * len(starts)
        base = {m: [0] * len(starts) for m in ("dfs", "dfs_adjusted", "meter_before")}
        actual = [0] * len(starts)
        for d in delivered:
            for k in range(len(starts)):
                a = d.actual_wh[k] if k < len(d.actual_wh) else None
                actual[k] += a or 0
                for m in base:
                    base[m][k] += d.baselines.get(m, [0] * len(starts))[k]
        factor = 60 / minutes
        measured = [int((base[method][k] - actual[k]) * factor) for k in range(len(starts))]
        baselines_w = {m: [int(v * factor) for v in vals] for m, vals in base.items()}
        actual_w = [int(v * factor) for v in actual]
    else:
        baselines_w, actual_w = {}, []
    corrections = event.runs.filter(kind=DispatchRun.Kind.CORRECTION).count()
    return {
        "starts": starts,
        "target_w": target,
        "planned_w": planned_total,
        "sent_w": [sent.get(s, 0) for s in starts],
        "measured_w": measured,
        "baselines_w": baselines_w,
        "actual_w": actual_w,
        "corrections": corrections,
    }


def settlement_summary(community: Community) -> QuerySet[Settlement]:
    return (
        Settlement.objects.filter(event__community=community)
        .select_related("event__requirement", "rule")
        .prefetch_related(Prefetch("payouts", queryset=Payout.objects.select_related("site", "user")))
        .order_by("-event__starts_at")
    )


def rule_in_force(community: Community, at: datetime) -> SharingRule | None:
    return (
        SharingRule.objects.filter(community=community, status=SharingRule.Status.APPROVED, effective_from__lte=at)
        .order_by("-effective_from", "-number")
        .first()
    )


def earnings_total(user: Any, community: Community):
    return Payout.objects.filter(settlement__event__community=community, user=user).aggregate(s=Sum("amount"))["s"]


def event_commitments_for_devices(device_ids: list[int], *, start: datetime, end: datetime) -> list[dict]:
    """What the VPP's accepted events ask of these devices over ``[start, end)``:
    one row per (device, event period) with W asked (> 0), from each scheduled or
    running event's latest plan, a period's latest correction taking precedence.

    Read by the balancing controller (``vpp.balancing``), which plans around these
    commitments and never overrides them. Rows: ``{"device_id", "starts_at",
    "ends_at", "flex_w", "direction" ("up"/"down"), "event_id", "reference"}``."""
    if not device_ids or end <= start:
        return []
    events = Event.objects.filter(
        status__in=[Event.Status.SCHEDULED, Event.Status.ACTIVE], starts_at__lt=end, ends_at__gt=start
    )
    out: list[dict] = []
    wanted = set(device_ids)
    for ev in events.select_related("requirement", "community"):
        minutes = ev.community.settlement_period_minutes
        starts = periods(ev.starts_at, ev.ends_at, minutes)
        plan = ev.runs.filter(kind=DispatchRun.Kind.PLAN).order_by("-number").first()
        if plan is None:
            continue
        device_of = dict(
            Enrolment.objects.filter(pk__in=[int(k) for k in plan.planned_w], device_id__in=wanted).values_list(
                "pk", "device_id"
            )
        )
        corrections = {
            r.period_start: r.planned_w
            for r in ev.runs.filter(kind=DispatchRun.Kind.CORRECTION).order_by("number")
            if r.period_start is not None
        }
        for k, ps in enumerate(starts):
            pe = ps + timedelta(minutes=minutes)
            if pe <= start or ps >= end:
                continue
            asks = {int(e): row[k] for e, row in plan.planned_w.items() if k < len(row)}
            asks.update({int(e): w for e, w in corrections.get(ps, {}).items()})
            for eid, w in asks.items():
                if eid in device_of and w and w > 0:
                    out.append(
                        {
                            "device_id": device_of[eid],
                            "starts_at": ps,
                            "ends_at": pe,
                            "flex_w": int(w),
                            "direction": ev.requirement.direction,
                            "event_id": ev.pk,
                            "reference": ev.requirement.reference,
                        }
                    )
    return out
