"""Read paths of the self-balancing network: what is behind a segment, what it
measures now, what the forecasts say, and what the pages and the DSO API show."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
from django.db.models import Avg, ExpressionWrapper, IntegerField, Max
from django.db.models.functions import ExtractHour, ExtractMinute
from django.utils import timezone

from assets.domain import kinds
from assets.domain.profiles import (
    INVERTER_EFFICIENCY,
    PvArray,
    household_demand_mean_w,
    outdoor_temp_mean_c,
    pv_clearsky_dc_w,
)
from assets.models import Device, Telemetry
from community.constraints import node_limits_in_force, statements_in_force
from community.models import Community, ConstraintStatement, NetworkNode, Site
from vpp.balancing.domain import tariff as tariffs
from vpp.balancing.domain.kpi import Kpis, kpis
from vpp.balancing.models import Alarm, ControlAction, ControlStep, Schedule, Segment

MEAN_CLEARSKY_INDEX = 0.54  # assets.domain.profiles.Cloudiness: the UK-calibrated long-run mean
# assets.domain.profiles.OutdoorTemperature: the seasonal + diurnal mean plus an AR(1) anomaly with a 12 h
# correlation time, so today's measured anomaly decays by exp(-h / 12) towards the mean (its expectation)
OUTDOOR_ANOMALY_TAU_H = 12.0
OUTDOOR_MAX_AGE = timedelta(minutes=30)
STEP = timedelta(minutes=15)


def floor_quarter(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def node_and_descendants(node: NetworkNode) -> list[int]:
    ids, frontier = [node.pk], [node.pk]
    while frontier:
        frontier = list(NetworkNode.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        ids.extend(frontier)
    return ids


def segment_sites(segment: Segment):
    return Site.objects.filter(community=segment.community, network_node_id__in=node_and_descendants(segment.node))


def segment_devices(segment: Segment) -> list[Device]:
    return list(
        Device.objects.filter(community=segment.community, site__in=segment_sites(segment))
        .select_related("site", "community")
        .order_by("site_id", "kind", "pk")
    )


def latest_telemetry(device_ids: list[int], *, now: datetime, window: timedelta) -> dict[int, Telemetry]:
    """The newest reading per device within ``window`` before ``now`` (none: the device is silent)."""
    out: dict[int, Telemetry] = {}
    rows = Telemetry.objects.filter(device_id__in=device_ids, ts__gt=now - window, ts__lte=now).order_by(
        "device_id", "-ts"
    )
    for t in rows.only("device_id", "ts", "power_w", "soc_pct", "temperature_c", "payload", "received_at"):
        out.setdefault(t.device_id, t)
    return out


def limits_now(segment: Segment, *, start: datetime, end: datetime) -> tuple[int, int, list[int]]:
    """(import W, export W, statement ids) in force for the segment over [start, end)."""
    lim = node_limits_in_force(community=segment.community, start=start, end=end).get(segment.node_id)
    imp, exp, ids = segment.import_limit_w, segment.export_limit_w, []
    if lim is not None:
        imp = min(imp, int(lim.import_limit_kw * 1000))
        exp = min(exp, int(lim.export_limit_kw * 1000))
        ids = list(lim.statement_ids)
    return max(imp, 0), max(exp, 0), ids


def limits_per_step(segment: Segment, starts: list[datetime]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Limits for each step: one query for all statements over the horizon."""
    T = len(starts)
    imp = np.full(T, segment.import_limit_w, dtype=float)
    exp = np.full(T, segment.export_limit_w, dtype=float)
    node = segment.node
    imp = np.minimum(imp, float(node.import_capacity_kw) * 1000)
    exp = np.minimum(exp, float(node.export_capacity_kw) * 1000)
    ids: set[int] = set()
    if not T:
        return imp, exp, []
    for st in statements_in_force(community=segment.community, start=starts[0], end=starts[-1] + STEP):
        if st.node_id != segment.node_id:
            continue
        for t, s in enumerate(starts):
            if st.starts_at < s + STEP and st.ends_at > s:
                imp[t] = min(imp[t], float(st.import_limit_kw) * 1000)
                exp[t] = min(exp[t], float(st.export_limit_kw) * 1000)
                ids.add(st.pk)
    return imp, exp, sorted(ids)


# --- forecasts ------------------------------------------------------------------------


def pv_array(device: Device) -> PvArray:
    s = device.specs or {}
    return PvArray(
        latitude=float(device.site.latitude),
        longitude=float(device.site.longitude),
        tilt_deg=float(s.get("tilt_deg") or 35),
        azimuth_deg=float(s.get("azimuth_deg") or 180),
        dc_w=int(s.get("dc_w") or int(device.rated_power_w * 1.1)),
        inverter_w=device.rated_power_w,
    )


def clearsky_index_now(pv_devices: list[Device], latest: dict[int, Telemetry], now: datetime) -> float | None:
    """Measured / clear-sky output of the segment's PV now (None when the sun is too low to tell)."""
    measured = clear = 0.0
    times = _times([now])
    for d in pv_devices:
        t = latest.get(d.pk)
        if t is None or t.power_w is None:
            continue
        cs = float(pv_clearsky_dc_w(pv_array(d), times)[0]) * INVERTER_EFFICIENCY
        measured += max(-t.power_w, 0)
        clear += cs
    if clear < 200:
        return None
    return float(np.clip(measured / clear, 0.05, 1.0))


def _times(starts: list[datetime]):
    import pandas as pd

    return pd.DatetimeIndex([s.astimezone(UTC) for s in starts])


def pv_forecast_w(pv_devices: list[Device], starts: list[datetime], *, index_now: float | None) -> np.ndarray:
    """pvlib clear-sky output x a clear-sky index that starts at today's measured
    value and relaxes to the long-run mean over ~3 h (persistence, then climatology)."""
    T = len(starts)
    if not pv_devices or not T:
        return np.zeros(T)
    mid = [s + STEP / 2 for s in starts]
    times = _times(mid)
    k0 = MEAN_CLEARSKY_INDEX if index_now is None else index_now
    hours = np.arange(T) * STEP.total_seconds() / 3600 + 0.125
    k = MEAN_CLEARSKY_INDEX + (k0 - MEAN_CLEARSKY_INDEX) * np.exp(-hours / 3.0)
    total = np.zeros(T)
    for d in pv_devices:
        arr = pv_array(d)
        total += np.minimum(pv_clearsky_dc_w(arr, times) * k * INVERTER_EFFICIENCY, arr.inverter_w)
    return total


def outdoor_now_c(devices: list[Device], latest: dict[int, Telemetry], now: datetime) -> float | None:
    """The outdoor temperature the segment's heat pumps measure now (their mean), None if none reports."""
    vals = []
    for d in devices:
        t = latest.get(d.pk)
        if d.kind != kinds.HEAT_PUMP or t is None or now - t.ts > OUTDOOR_MAX_AGE:
            continue
        v = (t.payload or {}).get("outdoor_c")
        if isinstance(v, (int, float)) and math.isfinite(v) and -50 <= v <= 60:
            vals.append(float(v))
    return float(np.mean(vals)) if vals else None


def outdoor_forecast_c(starts: list[datetime], *, now: datetime, measured_c: float | None) -> np.ndarray:
    """Outdoor temperature per step (mid-step): the simulator's seasonal + diurnal mean
    (``assets.domain.profiles.outdoor_temp_mean_c``) plus today's measured anomaly,
    decaying with the weather's own 12 h correlation time. A night 5 K colder than
    usual stays colder for the rest of the night, and the plan heats for it."""
    mean = np.array([outdoor_temp_mean_c(s + STEP / 2) for s in starts])
    if measured_c is None or not starts:
        return mean
    anomaly = measured_c - outdoor_temp_mean_c(now)
    hours = np.array([max((s + STEP / 2 - now).total_seconds(), 0.0) / 3600 for s in starts])
    return mean + anomaly * np.exp(-hours / OUTDOOR_ANOMALY_TAU_H)


def load_forecast_w(segment: Segment, devices: list[Device], starts: list[datetime], *, now: datetime) -> np.ndarray:
    """The segment's uncontrolled demand (W) per step (see ``load_forecast_by_site_w``)."""
    per_site = load_forecast_by_site_w(segment, devices, starts, now=now)
    return sum(per_site.values(), np.zeros(len(starts)))


def load_forecast_by_site_w(
    segment: Segment, devices: list[Device], starts: list[datetime], *, now: datetime
) -> dict[int, np.ndarray]:
    """Each site's uncontrolled demand (W) per step, from history: the mean of
    each UTC quarter-hour over the last 7 days of (site meters − every device
    behind them), i.e. what the homes use apart from PV, storage, EVs and heat
    pumps. Quarter-hours with no history fall back to the BDEW H25 profile
    scaled to each home's annual use."""
    T = len(starts)
    meters = [d.pk for d in devices if d.kind == kinds.SMART_METER]
    others = [d.pk for d in devices if d.kind != kinds.SMART_METER]
    quarter = ExpressionWrapper(ExtractHour("ts") * 4 + ExtractMinute("ts") / 15, output_field=IntegerField())
    hist = Telemetry.objects.filter(ts__gte=now - timedelta(days=7), ts__lt=now, power_w__isnull=False)

    def by_quarter(ids):
        if not ids:
            return {}
        rows = (
            hist.filter(device_id__in=ids)
            .annotate(q=quarter)
            .values("device_id", "q")
            .annotate(avg=Avg("power_w"))
            .values_list("device_id", "q", "avg")
        )
        out: dict[int, dict[int, float]] = {}
        for dev, q, avg in rows:
            out.setdefault(int(q), {})[dev] = float(avg)
        return out

    m, o = by_quarter(meters), by_quarter(others)
    sites = {d.site_id: d.site for d in devices if d.kind == kinds.SMART_METER}
    site_meter = {d.pk: d.site_id for d in devices if d.kind == kinds.SMART_METER}
    site_devs: dict[int, list[int]] = {}
    for d in devices:
        if d.kind != kinds.SMART_METER:
            site_devs.setdefault(d.site_id, []).append(d.pk)
    out = {site_id: np.zeros(T) for site_id in site_meter.values()}
    for t, s in enumerate(starts):
        q = s.hour * 4 + s.minute // 15
        for meter_id, site_id in site_meter.items():
            if meter_id in m.get(q, {}):
                base = m[q][meter_id] - sum(o.get(q, {}).get(i, 0.0) for i in site_devs.get(site_id, []))
                out[site_id][t] += max(base, 0.0)
            else:
                site = sites[site_id]
                out[site_id][t] += household_demand_mean_w(s + STEP / 2, float(site.annual_consumption_kwh or 2700))
    return out


# --- what the pages show ----------------------------------------------------------------


def billed_peak_w(segment: Segment, *, now: datetime) -> float:
    """The highest import the segment's connection measured this charging year (from 1 January,
    the community's local time), W; 0 before any record."""
    tz = ZoneInfo(segment.community.timezone or "Europe/London")
    local = now.astimezone(tz)
    year_start = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    peak = ControlStep.objects.filter(segment=segment, at__gte=year_start, at__lt=now).aggregate(
        mx=Max("measured_net_w")
    )["mx"]
    return float(max(peak or 0, 0))


def segments_for(community: Community):
    return Segment.objects.filter(community=community).select_related("node").order_by("name")


def latest_schedule(segment: Segment) -> Schedule | None:
    return Schedule.objects.filter(segment=segment).order_by("-created_at", "-id").first()


def open_alarms(segment: Segment):
    return Alarm.objects.filter(segment=segment, cleared_at__isnull=True).select_related("device__site")


def recent_steps(segment: Segment, *, since: datetime):
    return ControlStep.objects.filter(segment=segment, at__gte=since).order_by("at")


@dataclass
class NodeFlow:
    node: NetworkNode
    measured_w: int | None
    import_limit_w: int
    export_limit_w: int
    forecast_w: list[int] = field(default_factory=list)  # next steps, from the segment's schedule
    flexibility_up_w: int = 0  # more import the batteries could take now
    flexibility_down_w: int = 0  # less import (more export) they could give now
    statement_ids: list[int] = field(default_factory=list)
    segment: Segment | None = None

    @property
    def loading_pct(self) -> float | None:
        if self.measured_w is None:
            return None
        cap = self.import_limit_w if self.measured_w >= 0 else self.export_limit_w
        return 100.0 * abs(self.measured_w) / cap if cap else None

    @property
    def headroom_import_w(self) -> int | None:
        return None if self.measured_w is None else self.import_limit_w - self.measured_w

    @property
    def headroom_export_w(self) -> int | None:
        return None if self.measured_w is None else self.export_limit_w + self.measured_w


def node_flows(community: Community, *, nodes=None, now: datetime | None = None) -> list[NodeFlow]:
    """Measured net flow per node (sum of its subtree's site meters), limits in
    force, the schedule's forecast and the storage flexibility behind it."""
    now = now or timezone.now()
    nodes = list(nodes if nodes is not None else NetworkNode.objects.filter(community=community))
    all_nodes = list(NetworkNode.objects.filter(community=community))
    children: dict[int | None, list[int]] = {}
    for n in all_nodes:
        children.setdefault(n.parent_id, []).append(n.pk)
    meters = list(
        Device.objects.filter(community=community, kind=kinds.SMART_METER).values_list("pk", "site__network_node_id")
    )
    batteries = list(
        Device.objects.filter(community=community, kind=kinds.BATTERY).values_list(
            "pk", "site__network_node_id", "rated_power_w", "capacity_wh", "limits"
        )
    )
    latest = latest_telemetry([m for m, _ in meters] + [b[0] for b in batteries], now=now, window=timedelta(minutes=5))
    per_node: dict[int, int] = {}
    seen: dict[int, bool] = {}
    for pk, node_id in meters:
        t = latest.get(pk)
        if t is not None and t.power_w is not None:
            per_node[node_id] = per_node.get(node_id, 0) + t.power_w
            seen[node_id] = True
    flex: dict[int, tuple[int, int]] = {}
    for pk, node_id, rated, _cap, lim in batteries:
        t = latest.get(pk)
        if t is None or t.soc_pct is None:
            continue
        cur = t.power_w or 0
        reserve = float((lim or {}).get("reserve_pct", 20))
        up = rated - cur if t.soc_pct < 99 else 0
        down = cur + rated if t.soc_pct > reserve + 1 else max(cur, 0)
        u, d = flex.get(node_id, (0, 0))
        flex[node_id] = (u + max(up, 0), d + max(down, 0))
    limits = node_limits_in_force(community=community, start=now, end=now + timedelta(minutes=1))
    segs = {s.node_id: s for s in Segment.objects.filter(community=community)}

    def subtree(nid):
        out, stack = [], [nid]
        while stack:
            x = stack.pop()
            out.append(x)
            stack.extend(children.get(x, []))
        return out

    result = []
    for n in nodes:
        ids = subtree(n.pk)
        measured = sum(per_node.get(i, 0) for i in ids) if any(seen.get(i) for i in ids) else None
        lim = limits.get(n.pk)
        imp = int((lim.import_limit_kw if lim else n.import_capacity_kw) * 1000)
        exp = int((lim.export_limit_kw if lim else n.export_capacity_kw) * 1000)
        seg = segs.get(n.pk)
        if seg is not None:
            imp, exp = min(imp, seg.import_limit_w), min(exp, seg.export_limit_w)
        forecast: list[int] = []
        if seg is not None and (sch := latest_schedule(seg)) is not None:
            i = sch.step_index(now) or 0
            forecast = list(sch.net_w[i : i + 8])
        up = sum(flex.get(i, (0, 0))[0] for i in ids)
        down = sum(flex.get(i, (0, 0))[1] for i in ids)
        result.append(
            NodeFlow(
                node=n,
                measured_w=measured,
                import_limit_w=imp,
                export_limit_w=exp,
                forecast_w=forecast,
                flexibility_up_w=up,
                flexibility_down_w=down,
                statement_ids=list(lim.statement_ids) if lim else [],
                segment=seg,
            )
        )
    return result


def operated_nodes(user, community: Community):
    return NetworkNode.objects.filter(community=community, operators__user=user).order_by("kind", "name")


def statements_for_nodes(community: Community, node_ids) -> list[ConstraintStatement]:
    return list(
        ConstraintStatement.objects.filter(community=community, node_id__in=list(node_ids))
        .select_related("node", "issued_by")
        .order_by("-starts_at", "reference", "-version")
    )


@dataclass
class Response:
    statement: ConstraintStatement
    schedules: int  # schedules that obeyed it
    steps: int  # corrective steps that obeyed it
    peak_import_w: int | None  # measured during its window (so far)
    peak_export_w: int | None
    minutes_at_limit: float
    breached: bool
    commands: int  # battery commands sent while it was in force

    @property
    def in_force_now(self) -> bool:
        now = timezone.now()
        return self.statement.withdrawn_at is None and self.statement.starts_at <= now < self.statement.ends_at


def constraint_responses(statements: list[ConstraintStatement]) -> list[Response]:
    """What the platform did about each statement: the schedules and steps that
    obeyed it, the flows measured at the node during its window, and the
    commands sent to respect it."""
    out = []
    for st in statements:
        steps = ControlStep.objects.filter(segment__node_id=st.node_id, at__gte=st.starts_at, at__lt=st.ends_at)
        agg = steps.aggregate(mx=Max("measured_net_w"), n=Max("id"))
        obeyed_steps = [s for s in steps.only("statement_ids") if st.pk in (s.statement_ids or [])]
        mn = steps.order_by("measured_net_w").values_list("measured_net_w", flat=True).first()
        at_limit = steps.filter(outcome=ControlStep.Outcome.AT_LIMIT).count()
        imp_w = int(st.import_limit_kw * 1000)
        exp_w = int(st.export_limit_kw * 1000)
        mx = agg["mx"]
        schedules = sum(
            1
            for s in Schedule.objects.filter(segment__node_id=st.node_id, created_at__lt=st.ends_at).only(
                "statement_ids"
            )
            if st.pk in (s.statement_ids or [])
        )
        commands = ControlAction.objects.filter(step__in=[s.pk for s in obeyed_steps]).count()
        out.append(
            Response(
                statement=st,
                schedules=schedules,
                steps=len(obeyed_steps),
                peak_import_w=max(mx, 0) if mx is not None else None,
                peak_export_w=max(-mn, 0) if mn is not None else None,
                minutes_at_limit=float(at_limit),  # steps are a minute apart
                breached=(mx is not None and mx > imp_w) or (mn is not None and -mn > exp_w),
                commands=commands,
            )
        )
    return out


def segment_kpis(segment: Segment, *, since: datetime, until: datetime) -> Kpis | None:
    """KPIs from the corrective loop's one-minute record (measured net, battery, PV)."""
    rows = list(
        ControlStep.objects.filter(segment=segment, at__gte=since, at__lt=until, measured_net_w__isnull=False)
        .order_by("at")
        .values_list("at", "measured_net_w", "battery_w", "pv_w", "import_limit_w", "export_limit_w")
    )
    if len(rows) < 2:
        return None
    # one row per minute; average to quarter-hours so a single minute's spike does not set the peak
    tz = ZoneInfo(segment.community.timezone or "Europe/London")
    buckets: dict[datetime, list] = {}
    for r in rows:
        buckets.setdefault(floor_quarter(r[0]), []).append(r)
    keys = sorted(buckets)
    net = np.array([np.mean([r[1] for r in buckets[k]]) for k in keys])
    bat = np.array([np.mean([r[2] for r in buckets[k]]) for k in keys])
    pv = np.array([np.mean([r[3] for r in buckets[k]]) for k in keys])
    imp = np.array([min(r[4] for r in buckets[k]) for k in keys])
    exp = np.array([min(r[5] for r in buckets[k]) for k in keys])
    red = tariffs.red_band([k.astimezone(tz) for k in keys])
    homes = segment_sites(segment).filter(kind=Site.Kind.HOME).count()
    return kpis(
        net_w=net,
        battery_w=bat,
        pv_w=pv,
        red_band=red,
        interval_h=0.25,
        import_limit_w=imp,
        export_limit_w=exp,
        homes=homes,
        duos_red_p_per_kwh=tariffs.Tariff().duos_red_p,
        capacity_gbp_per_kw_year=Decimal("50"),
    )


def household_actions(user, community: Community, *, limit: int = 50):
    """What the controller asked of this person's devices, newest first."""
    return (
        ControlAction.objects.filter(device__community=community, device__site__occupants=user)
        .select_related("device", "step", "command")
        .order_by("-step__at")[:limit]
    )


def is_stale(t: Telemetry | None, now: datetime, stale_after_s: int) -> bool:
    return t is None or (now - t.ts).total_seconds() > stale_after_s


def round_w(x: float) -> int:
    return int(math.floor(x + 0.5))
