"""Write paths of the self-balancing network.

- ``segment_create`` / ``node_operator_assign``: set-up (audit rows).
- ``schedule_solve``: the rolling schedule (MPC, ``domain.mpc``) for the next
  24-48 h, every 15 minutes (Celery beat), on a large deviation and when a
  constraint statement changes. Idempotent per (segment, quarter-hour, trigger).
- ``control_step``: the fast corrective step (``domain.corrective``) on each
  telemetry batch and at least every minute. Claims the step by compare-and-set
  on ``Segment.last_step_at`` so two workers never both act.

Priority (issue 11; seed 003): safety and comfort (safe mode, the household's
limits and consent through ``assets``' command gate), then the network (limits
in force from ``community.constraints``), then the market and VPP commitments
(the schedule's target), then the community's objective.

Safe mode: a meter or battery that has not reported for ``stale_after_s``, or
that the broker says is offline, stops the segment's control: no new command
is sent (the devices' leases run out and they fall back to their own
self-consumption behaviour), an alarm is raised, the pages say so. Control
resumes by itself once every device reports again.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from assets import services as asset_services
from assets.command_gate import command_refusals
from assets.domain import kinds
from assets.models import Device, DeviceCommand
from community.errors import DomainError
from community.models import Community, NetworkNode, Role
from community.services import audit_record
from vpp.balancing import selectors
from vpp.balancing.domain import corrective, loads, mpc
from vpp.balancing.domain import tariff as tariffs
from vpp.balancing.models import Alarm, ControlAction, ControlStep, NodeOperator, Schedule, Segment

log = logging.getLogger("vpp.balancing")

COMMAND_LEASE = timedelta(minutes=5)  # a controller that stops leaves the batteries to their own logic in 5 min
RESEND_BEFORE = timedelta(minutes=2)  # renew a lease this long before it runs out
SETPOINT_CHANGE_W = 100  # smaller changes are not worth a command
CAPACITY_GBP_PER_KW_YEAR = Decimal("50")  # seed 002 C.8: TNUoS ~£50/kW p.a.


# --- set-up ------------------------------------------------------------------------------


@transaction.atomic
def segment_create(
    *,
    community: Community,
    node: NetworkNode,
    name: str,
    import_limit_w: int,
    export_limit_w: int,
    objective: str = Segment.Objective.COST,
    stale_after_s: int = 180,
    horizon_hours: int = 24,
    actor: Any = None,
) -> Segment:
    if node.community_id != community.pk:
        raise DomainError("That network node belongs to another community.", field="node")
    if Segment.objects.filter(node=node).exists():
        raise DomainError(f"{node.name} is already a segment.", field="node")
    for f, v in (("import_limit_w", import_limit_w), ("export_limit_w", export_limit_w)):
        if not isinstance(v, int) or v < 0:
            raise DomainError("A limit is a whole number of W, zero or more.", field=f)
    if objective not in Segment.Objective.values:
        raise DomainError(f"'{objective}' is not an objective.", field="objective")
    if not 1 <= horizon_hours <= 48:
        raise DomainError("The schedule looks 1 to 48 hours ahead.", field="horizon_hours")
    if stale_after_s < 10:
        raise DomainError("Telemetry is stale after at least 10 seconds.", field="stale_after_s")
    seg = Segment.objects.create(
        community=community,
        node=node,
        name=name.strip() or node.name,
        import_limit_w=import_limit_w,
        export_limit_w=export_limit_w,
        objective=objective,
        stale_after_s=stale_after_s,
        horizon_hours=horizon_hours,
        mode_since=timezone.now(),
    )
    audit_record(
        actor=actor, action="balancing.segment_create", community=community, obj=seg, summary=f"Segment {seg.name}"
    )
    return seg


@transaction.atomic
def node_operator_assign(*, community: Community, user, node: NetworkNode, actor: Any = None) -> NodeOperator:
    """Record that ``user`` (a network operator) speaks for ``node``. Idempotent."""
    from community.access import has_role

    if node.community_id != community.pk:
        raise DomainError("That network node belongs to another community.", field="node")
    if not has_role(user, community, Role.NETWORK_OPERATOR):
        raise DomainError("Only a network operator (DSO) can be given network nodes.", field="user")
    if has_role(user, community, Role.MARKET_OPERATOR):
        # seed 004: the operator of a market may not trade in it; a DSO's limits shape the market's clearing
        raise DomainError("A market operator cannot also set the network's constraints.", field="user")
    row, created = NodeOperator.objects.get_or_create(community=community, user=user, node=node)
    if created:
        audit_record(
            actor=actor,
            action="balancing.node_operator_assign",
            community=community,
            obj=row,
            summary=f"{user} operates {node.name}",
        )
    return row


# --- alarms --------------------------------------------------------------------------------


def _raise_alarm(segment: Segment, kind: str, message: str, now: datetime, device: Device | None = None) -> Alarm:
    alarm = Alarm.objects.filter(segment=segment, kind=kind, device=device, cleared_at__isnull=True).first()
    if alarm is not None:
        Alarm.objects.filter(pk=alarm.pk).update(last_seen_at=now, message=message[:300])
        return alarm
    try:
        with transaction.atomic():
            return Alarm.objects.create(
                segment=segment, kind=kind, device=device, message=message[:300], raised_at=now, last_seen_at=now
            )
    except IntegrityError:
        return Alarm.objects.get(segment=segment, kind=kind, device=device, cleared_at__isnull=True)


def _clear_alarms(segment: Segment, kinds_: tuple[str, ...], now: datetime, keep_devices: set[int] = frozenset()):
    qs = Alarm.objects.filter(segment=segment, kind__in=kinds_, cleared_at__isnull=True)
    if keep_devices:
        qs = qs.exclude(device_id__in=keep_devices)
    qs.update(cleared_at=now)


def _set_mode(segment: Segment, mode: str, reason: str, now: datetime) -> None:
    if segment.mode != mode or segment.mode_reason != reason[:300]:
        Segment.objects.filter(pk=segment.pk).update(
            mode=mode, mode_reason=reason[:300], mode_since=now if segment.mode != mode else segment.mode_since
        )
        if segment.mode != mode:
            audit_record(
                actor=None,
                action="balancing.mode",
                community=segment.community,
                obj=segment,
                summary=f"{segment.name}: {Segment.Mode(mode).label} — {reason}",
            )
        segment.mode, segment.mode_reason = mode, reason[:300]


# --- the schedule (MPC) --------------------------------------------------------------------


def _battery_state(d: Device, t) -> tuple[float, float, float, float, float, float]:
    cap = float(d.capacity_wh or 10_000)
    soc = float(t.soc_pct) if t is not None and t.soc_pct is not None else 50.0
    reserve = float((d.limits or {}).get("reserve_pct", 20)) / 100 * cap
    eta = float(np.sqrt(float((d.specs or {}).get("round_trip_efficiency", 0.9))))
    return cap, soc / 100 * cap, reserve, float(d.rated_power_w), float(d.rated_power_w), eta


def _base_setpoint_c(d: Device) -> float:
    """The household's own heat-pump setpoint (what ``assets.command_gate`` shifts from)."""
    lo = float((d.limits or {}).get("comfort_min_c", 18))
    hi = float((d.limits or {}).get("comfort_max_c", 22))
    return float((d.specs or {}).get("setpoint_c", (lo + hi) / 2))


def _commitments(
    segment: Segment,
    *,
    devices: list[Device],
    order: dict,
    starts: list[datetime],
    now: datetime,
    pv_by_site,
    load_by_site,
) -> tuple[mpc.SiteCommitments | None, np.ndarray | None, dict]:
    """The market's traded positions of the segment's sites and the VPP's accepted
    events for its devices, over the horizon (issue 11: commitments the schedule
    keeps to, never overrides)."""
    from community.commitments import net_w_per_step, site_commitments
    from vpp import selectors as vpp_selectors

    T = len(starts)
    end = starts[-1] + selectors.STEP
    site_ids = sorted({d.site_id for d in devices if d.kind == kinds.SMART_METER})
    traded = net_w_per_step(
        site_commitments(community=segment.community, site_ids=site_ids, start=starts[0], end=end),
        site_ids=site_ids,
        starts=starts,
        step=selectors.STEP,
    )
    summary: dict = {"market": {}, "vpp": {}}
    com = None
    if traded:
        rows = sorted(traded)
        pos = {kind: {d.site_id: [] for d in order[kind]} for kind in order}
        for kind, devs in order.items():
            for i, d in enumerate(devs):
                pos[kind].setdefault(d.site_id, []).append(i)
        com = mpc.SiteCommitments(
            committed_w=np.array([[np.nan if w is None else w for w in traded[s_]] for s_ in rows], dtype=float),
            uncontrolled_w=np.array(
                [load_by_site.get(s_, np.zeros(T)) - pv_by_site.get(s_, np.zeros(T)) for s_ in rows], dtype=float
            ),
            batteries=tuple(np.array(pos["battery"].get(s_, []), dtype=int) for s_ in rows),
            evs=tuple(np.array(pos["ev"].get(s_, []), dtype=int) for s_ in rows),
            heat_pumps=tuple(np.array(pos["heat_pump"].get(s_, []), dtype=int) for s_ in rows),
        )
        summary["market"] = {str(s_): [None if w is None else round(w) for w in traded[s_]] for s_ in rows}
    fixed = None
    bats = order["battery"]
    events = vpp_selectors.event_commitments_for_devices(
        [d.pk for d in devices if d.kind in (kinds.BATTERY, kinds.EV_CHARGER, kinds.HEAT_PUMP)],
        start=starts[0],
        end=end,
    )
    if events:
        index = {d.pk: i for i, d in enumerate(bats)}
        fixed = np.full((len(bats), T), np.nan)
        per_device: dict[int, list] = {}
        for e in events:
            sign = -1.0 if e["direction"] == "down" else 1.0
            row = per_device.setdefault(e["device_id"], [None] * T)
            for t, s_ in enumerate(starts):
                if e["starts_at"] < s_ + selectors.STEP and e["ends_at"] > s_:
                    row[t] = (row[t] or 0) + sign * e["flex_w"]
                    if e["device_id"] in index:
                        i = index[e["device_id"]]
                        fixed[i, t] = (0.0 if np.isnan(fixed[i, t]) else fixed[i, t]) + sign * e["flex_w"]
        summary["vpp"] = {str(k): v for k, v in per_device.items()}
        if not np.isfinite(fixed).any():
            fixed = None
    return com, fixed, summary


def schedule_inputs(segment: Segment, *, now: datetime) -> tuple[mpc.Problem, list[datetime], dict, list[int]]:
    """Build the MPC problem from the database: devices, their latest state, forecasts
    (PV, load, the weather), limits, prices, and the market's and the VPP's commitments."""
    start = selectors.floor_quarter(now)
    T = segment.horizon_hours * 4
    starts = [start + i * selectors.STEP for i in range(T)]
    devices = selectors.segment_devices(segment)
    latest = selectors.latest_telemetry([d.pk for d in devices], now=now, window=timedelta(hours=2))
    pv_devs = [d for d in devices if d.kind == kinds.PV_INVERTER]
    index_now = selectors.clearsky_index_now(pv_devs, latest, now) if pv_devs else None
    pv_by_site: dict[int, np.ndarray] = {}
    for d in pv_devs:
        pv_by_site[d.site_id] = pv_by_site.get(d.site_id, np.zeros(T)) + selectors.pv_forecast_w(
            [d], starts, index_now=index_now
        )
    pv = sum(pv_by_site.values(), np.zeros(T))
    load_by_site = selectors.load_forecast_by_site_w(segment, devices, starts, now=now)
    load = sum(load_by_site.values(), np.zeros(T))
    imp_lim, exp_lim, statement_ids = selectors.limits_per_step(segment, starts)
    tz = ZoneInfo(segment.community.timezone or "Europe/London")
    imp_p, exp_p, red = tariffs.prices([s.astimezone(tz) for s in starts])
    bats = [d for d in devices if d.kind == kinds.BATTERY]
    rows = [_battery_state(d, latest.get(d.pk)) for d in bats]
    arr = np.array(rows, dtype=float).reshape(len(rows), 6)
    # the weather: today's measured outdoor temperature carried into the forecast (a cold night plans more heat)
    outdoor = selectors.outdoor_forecast_c(starts, now=now, measured_c=selectors.outdoor_now_c(devices, latest, now))
    hps = [d for d in devices if d.kind == kinds.HEAT_PUMP]
    indoor = []
    for d in hps:
        t = latest.get(d.pk)
        lo = float((d.limits or {}).get("comfort_min_c", 18))
        hi = float((d.limits or {}).get("comfort_max_c", 22))
        measured = (t.payload or {}).get("indoor_c") if t is not None else None
        if t is not None and t.temperature_c is not None:
            measured = t.temperature_c
        indoor.append(float(measured) if isinstance(measured, (int, float)) else (lo + hi) / 2)
    heat_pumps = mpc.HeatPumps(
        rated_w=np.array([float(d.rated_power_w) for d in hps]),
        indoor_c=np.array(indoor),
        comfort_min_c=np.array([float((d.limits or {}).get("comfort_min_c", 18)) for d in hps]),
        comfort_max_c=np.array([float((d.limits or {}).get("comfort_max_c", 22)) for d in hps]),
        r_k_per_w=np.array([float((d.specs or {}).get("r_k_per_w", 1 / 180)) for d in hps]),
        c_j_per_k=np.array([float((d.specs or {}).get("c_j_per_k", 1.2e7)) for d in hps]),
        cop=np.array([mpc.heat_pump_cop(outdoor, float((d.specs or {}).get("flow_c", 35))) for d in hps]).reshape(
            len(hps), T
        ),
        setpoint_c=np.array([_base_setpoint_c(d) for d in hps]),
    )
    evs = [d for d in devices if d.kind == kinds.EV_CHARGER]
    ev_rows = []
    for d in evs:
        t = latest.get(d.pk)
        if t is None or not (t.payload or {}).get("plugged_in"):
            continue
        soc = (t.payload or {}).get("ev_soc_pct")
        target = float((d.limits or {}).get("target_pct", 80))
        car_wh = float((d.specs or {}).get("car_capacity_wh", 60_000))
        need = max(target - float(soc), 0.0) / 100 * car_wh if soc is not None else 0.0
        rb = asset_services.ready_by_time(d)
        local = now.astimezone(tz)
        ready = local.replace(hour=rb.hour, minute=rb.minute, second=0, microsecond=0)
        if ready <= local:
            ready += timedelta(days=1)
        step = int((ready - start).total_seconds() // 900)
        step = min(max(step, 1), T)
        need = min(need, float(d.rated_power_w) * step * 0.25)
        ev_rows.append((d, float(d.rated_power_w), need, step))
    ev_model = mpc.EVs(
        max_w=np.array([r[1] for r in ev_rows]),
        need_wh=np.array([r[2] for r in ev_rows]),
        ready_step=np.array([r[3] for r in ev_rows], dtype=int),
    )
    device_order = {"battery": bats, "ev": [r[0] for r in ev_rows], "heat_pump": hps}
    # the market trades first and the VPP's accepted events are commitments: the schedule balances what remains
    commitments, fixed, summary = _commitments(
        segment,
        devices=devices,
        order=device_order,
        starts=starts,
        now=now,
        pv_by_site=pv_by_site,
        load_by_site=load_by_site,
    )
    batteries = mpc.Batteries(
        capacity_wh=arr[:, 0],
        stored_wh=np.minimum(arr[:, 1], arr[:, 0]),
        reserve_wh=arr[:, 2],
        max_charge_w=arr[:, 3],
        max_discharge_w=arr[:, 4],
        efficiency=arr[:, 5],
        fixed_w=fixed,
    )
    # the capacity charge, pro rata for the horizon: £/kW/yr → p per kW of peak over T steps
    # the capacity charge is set by the charging year's highest peak (seed 002 C.8: ~£50/kW p.a.): import up to
    # the peak measured so far this year is already paid for, each kW above it costs the whole year's charge
    cap_p = float(CAPACITY_GBP_PER_KW_YEAR) * 100
    billed_peak = selectors.billed_peak_w(segment, now=now)
    problem = mpc.Problem(
        step_h=0.25,
        load_w=load,
        pv_w=pv,
        import_limit_w=np.maximum(imp_lim - segment.margin_w, 0),
        export_limit_w=np.maximum(exp_lim - segment.margin_w, 0),
        import_price_p=imp_p,
        export_price_p=exp_p,
        outdoor_c=outdoor,
        batteries=batteries,
        evs=ev_model,
        heat_pumps=heat_pumps,
        objective=segment.objective,
        capacity_charge_p_per_kw=cap_p,
        billed_peak_w=billed_peak,
        peak_margin_w=mpc.PEAK_MARGIN_W,
        commitments=commitments,
    )
    device_order["commitments"] = summary
    return problem, starts, device_order, statement_ids


def schedule_solve(
    *, segment: Segment, now: datetime | None = None, trigger: str = Schedule.Trigger.PERIODIC, actor: Any = None
) -> Schedule:
    """Solve and store the segment's schedule from the current quarter-hour.

    Idempotent for the periodic trigger: a second call in the same quarter-hour
    returns the stored schedule."""
    now = now or timezone.now()
    start = selectors.floor_quarter(now)
    if trigger == Schedule.Trigger.PERIODIC:
        existing = Schedule.objects.filter(segment=segment, starts_at=start, trigger=trigger).first()
        if existing is not None:
            return existing
    problem, starts, order, statement_ids = schedule_inputs(segment, now=now)
    t0 = time.perf_counter()
    try:
        plan, unplaced = mpc.solve_fleet(problem)
    except mpc.ScheduleError as exc:
        _raise_alarm(segment, Alarm.Kind.SCHEDULE, f"No schedule: {exc}", now)
        raise DomainError(f"No schedule for {segment.name}: {exc}", field="schedule") from None
    seconds = time.perf_counter() - t0
    devices: dict[str, list[int]] = {}
    for i, d in enumerate(order["battery"]):
        devices[str(d.pk)] = plan.battery_w[i].tolist()
    for i, d in enumerate(order["ev"]):
        devices[str(d.pk)] = plan.ev_w[i].tolist()
    indoor: dict[str, list[float]] = {}
    for i, d in enumerate(order["heat_pump"]):
        devices[str(d.pk)] = plan.heat_pump_w[i].tolist()
        indoor[str(d.pk)] = [round(float(x), 2) for x in plan.indoor_c[i]]
    msg = []
    if plan.breach_wh:
        msg.append(f"{plan.breach_wh / 1000:.1f} kWh cannot be kept inside a limit whatever the devices do")
    if unplaced > 1:
        msg.append(f"{unplaced / 1000:.1f} kWh of the fleet plan could not be split onto devices")
    if plan.commitment_miss_wh:
        msg.append(f"{plan.commitment_miss_wh / 1000:.1f} kWh of trades or VPP events cannot be kept")
    with transaction.atomic():
        sch = Schedule.objects.create(
            segment=segment,
            starts_at=start,
            trigger=trigger,
            created_at=now,
            solve_seconds=seconds,
            net_w=plan.net_w.tolist(),
            load_w=np.rint(problem.load_w).astype(int).tolist(),
            pv_w=np.rint(problem.pv_w).astype(int).tolist(),
            import_limit_w=np.rint(problem.import_limit_w + segment.margin_w).astype(int).tolist(),
            export_limit_w=np.rint(problem.export_limit_w + segment.margin_w).astype(int).tolist(),
            import_price_p=[round(float(x), 2) for x in problem.import_price_p],
            devices=devices,
            statement_ids=statement_ids,
            indoor_c=indoor,
            commitments=order["commitments"],
            commitment_miss_wh=plan.commitment_miss_wh,
            outdoor_c=[round(float(x), 1) for x in problem.outdoor_c],
            breach_wh=plan.breach_wh,
            cost_gbp=Decimal(str(round(plan.cost_p / 100, 2))),
            message="; ".join(msg)[:300],
        )
        if plan.breach_wh:
            _raise_alarm(segment, Alarm.Kind.LIMIT, sch.message, now)
        _clear_alarms(segment, (Alarm.Kind.SCHEDULE,), now)
        if actor is not None:
            audit_record(
                actor=actor,
                action="balancing.schedule_solve",
                community=segment.community,
                obj=sch,
                summary=f"Re-solved {segment.name}",
            )
    return sch


def schedules_due(*, now: datetime | None = None) -> int:
    """Every segment under control gets this quarter-hour's schedule (beat: every 15 min)."""
    now = now or timezone.now()
    n = 0
    for seg in Segment.objects.exclude(mode=Segment.Mode.OFF).select_related("community", "node"):
        try:
            schedule_solve(segment=seg, now=now)
            n += 1
        except DomainError as exc:
            log.warning("%s: %s", seg, exc)
    return n


# --- the corrective step ------------------------------------------------------------------


def _open_leases(device_ids: list[int], now: datetime) -> dict[int, DeviceCommand]:
    """Each device's newest balancing lease still in force (not refused or lost)."""
    out: dict[int, DeviceCommand] = {}
    bad = (DeviceCommand.Status.REJECTED, DeviceCommand.Status.TIMED_OUT, DeviceCommand.Status.EXPIRED)
    for c in (
        DeviceCommand.objects.filter(
            device_id__in=device_ids,
            source="balancing",
            action__in=("set_power", "shift_setpoint"),
            valid_until__gt=now,
        )
        .exclude(status__in=bad)
        .order_by("device_id", "-created_at")
    ):
        out.setdefault(c.device_id, c)
    return out


def _vpp_held(device_ids: list[int], now: datetime) -> set[int]:
    """Devices under a VPP event's lease now: the VPP's commitment, never overridden."""
    bad = (DeviceCommand.Status.REJECTED, DeviceCommand.Status.TIMED_OUT, DeviceCommand.Status.EXPIRED)
    return set(
        DeviceCommand.objects.filter(device_id__in=device_ids, source="vpp", valid_until__gt=now, created_at__lte=now)
        .exclude(action__in=("auto", "resume"))
        .exclude(status__in=bad)
        .values_list("device_id", flat=True)
    )


def _ignored(battery_ids: list[int], now: datetime) -> dict[int, DeviceCommand]:
    """Batteries whose latest balancing command was rejected or never acknowledged."""
    out: dict[int, DeviceCommand] = {}
    bad = (DeviceCommand.Status.REJECTED, DeviceCommand.Status.TIMED_OUT, DeviceCommand.Status.EXPIRED)
    for c in DeviceCommand.objects.filter(
        device_id__in=battery_ids, source="balancing", created_at__gte=now - timedelta(minutes=10)
    ).order_by("device_id", "-created_at"):
        if c.device_id not in out:
            out[c.device_id] = c
    return {k: v for k, v in out.items() if v.status in bad}


def _reason(delta_w: int, correction: corrective.Correction, measured: int, target: int, imp: int, exp: int) -> str:
    if abs(delta_w) < SETPOINT_CHANGE_W:
        return (
            f"instruction renewed: the segment is on plan at {measured / 1000:.1f} kW (planned {target / 1000:.1f} kW)"
        )
    if correction.at_limit:
        return correction.reason
    if measured > imp - 0:
        return f"segment importing {measured / 1000:.1f} kW, over the {imp / 1000:.1f} kW limit"
    if -measured > exp:
        return f"segment exporting {-measured / 1000:.1f} kW, over the {exp / 1000:.1f} kW limit"
    direction = "charge" if delta_w > 0 else "discharge"
    return (
        f"{direction} to bring the segment from {measured / 1000:.1f} kW to the planned {target / 1000:.1f} kW "
        f"(limits {imp / 1000:.0f} kW in / {exp / 1000:.0f} kW out)"
    )


def control_step(*, segment: Segment, now: datetime | None = None, send: bool = True) -> ControlStep | None:
    """One corrective step. Returns None when another worker took this step."""
    now = now or timezone.now()
    t0 = time.perf_counter()
    prev = segment.last_step_at
    claimed = Segment.objects.filter(pk=segment.pk, last_step_at=prev).update(last_step_at=now)
    if not claimed:
        return None
    segment.last_step_at = now
    if segment.mode == Segment.Mode.OFF:
        return None
    imp, exp, statement_ids = selectors.limits_now(segment, start=now, end=now + timedelta(minutes=1))
    devices = selectors.segment_devices(segment)
    ids = [d.pk for d in devices]
    latest = selectors.latest_telemetry(ids, now=now, window=timedelta(hours=1))
    meters = [d for d in devices if d.kind == kinds.SMART_METER]
    bats = [d for d in devices if d.kind == kinds.BATTERY]
    pvs = [d for d in devices if d.kind == kinds.PV_INVERTER]
    newest = max((t.received_at for t in latest.values()), default=None)
    segment.last_telemetry_at = newest
    Segment.objects.filter(pk=segment.pk).update(last_telemetry_at=newest)

    # --- safety first: every meter and battery must be fresh and online
    stale, offline = [], []
    for d in meters + bats:
        if selectors.is_stale(latest.get(d.pk), now, segment.stale_after_s):
            stale.append(d)
        elif not d.online:
            offline.append(d)
    measured = sum(latest[d.pk].power_w or 0 for d in meters if d.pk in latest)
    battery_now = sum(latest[d.pk].power_w or 0 for d in bats if d.pk in latest)
    pv_now = sum(max(-(latest[d.pk].power_w or 0), 0) for d in pvs if d.pk in latest)
    schedule = selectors.latest_schedule(segment)
    i = schedule.step_index(now) if schedule is not None else None
    target = int(schedule.net_w[i]) if i is not None else None
    common = dict(
        segment=segment,
        at=now,
        schedule=schedule if i is not None else None,
        import_limit_w=imp,
        export_limit_w=exp,
        battery_w=battery_now,
        pv_w=pv_now,
        statement_ids=statement_ids,
    )
    if not meters:
        reason = "no smart meter behind the segment: its net position cannot be measured"
    elif stale or offline:
        names = ", ".join(f"{d.site.name} {d.get_kind_display().lower()}" for d in (stale + offline)[:4])
        more = len(stale) + len(offline) - 4
        reason = f"telemetry stopped (no reading for {segment.stale_after_s} s) or device offline: {names}" + (
            f" and {more} more" if more > 0 else ""
        )
    else:
        reason = ""
    if reason:
        with transaction.atomic():
            _set_mode(segment, Segment.Mode.SAFE, reason, now)
            for d in stale:
                _raise_alarm(
                    segment,
                    Alarm.Kind.STALE_TELEMETRY,
                    f"{d.site.name}: {d.name} has sent nothing for over {segment.stale_after_s} s",
                    now,
                    d,
                )
            for d in offline:
                _raise_alarm(segment, Alarm.Kind.DEVICE_UNREACHABLE, f"{d.site.name}: {d.name} is offline", now, d)
            if not meters:
                _raise_alarm(segment, Alarm.Kind.STALE_TELEMETRY, reason, now)
            _clear_alarms(
                segment,
                (Alarm.Kind.STALE_TELEMETRY, Alarm.Kind.DEVICE_UNREACHABLE),
                now,
                keep_devices={d.pk for d in stale + offline},
            )
            return ControlStep.objects.create(
                **common,
                measured_net_w=measured if meters and not stale else None,
                target_net_w=target,
                predicted_net_w=None,
                outcome=ControlStep.Outcome.SAFE,
                detail=f"Safe mode: {reason}. Holding: no new commands."[:300],
                seconds=time.perf_counter() - t0,
            )

    # --- normal operation
    evs = [d for d in devices if d.kind == kinds.EV_CHARGER]
    hps = [d for d in devices if d.kind == kinds.HEAT_PUMP]
    leases = _open_leases([d.pk for d in bats + evs + hps], now)
    ignored = _ignored([d.pk for d in bats + evs + hps], now)
    held = _vpp_held([d.pk for d in bats + evs + hps], now)
    gate = command_refusals(
        [(d, "set_power", {"power_w": 0}) for d in bats],
        source="balancing",
        at=now,
        valid_until=now + COMMAND_LEASE,
    )
    available = [d.pk not in ignored and d.pk not in held and r is None for d, r in zip(bats, gate, strict=True)]
    rows = [_battery_state(d, latest.get(d.pk)) for d in bats]
    arr = np.array(rows, dtype=float).reshape(len(rows), 6)
    fleet = corrective.Fleet(
        setpoint_w=np.array([float(latest[d.pk].power_w or 0) for d in bats]),
        max_charge_w=arr[:, 3],
        max_discharge_w=arr[:, 4],
        stored_wh=arr[:, 1],
        capacity_wh=arr[:, 0],
        reserve_wh=arr[:, 2],
        efficiency=arr[:, 5],
        available=np.array(available, dtype=bool),
    )
    goal = target if target is not None else float(np.clip(measured, -exp, imp))
    # import above this year's billed peak costs the whole year's capacity charge: the step corrects it at once
    billed_peak = selectors.billed_peak_w(segment, now=now) or None

    def battery_step(expected_flex_w: float) -> corrective.Correction:
        # the batteries steer to the plan less what the flexible loads are about to change themselves;
        # their own guarantee is against the measured net, whatever the loads then do
        return corrective.correct(
            measured_net_w=measured,
            target_net_w=goal - expected_flex_w,
            import_limit_w=imp,
            export_limit_w=exp,
            fleet=fleet,
            horizon_s=COMMAND_LEASE.total_seconds(),
            margin_w=segment.margin_w,
            deadband_w=500,
            peak_cap_w=billed_peak,
        )

    proposals = _flex_proposals(
        schedule if i is not None else None,
        i,
        [d for d in evs + hps if d.pk not in held and d.pk not in ignored],
        latest,
        leases,
        now,
        segment.stale_after_s,
    )
    result = battery_step(sum(p.expected_w for _, p, _ in proposals.values()))
    flex = loads.gate(
        [p for _, p, _ in proposals.values()],
        measured_net_w=measured,
        battery_change_w=result.correction_w,
        import_limit_w=imp,
        export_limit_w=exp,
        margin_w=segment.margin_w,
    )
    held_back = list(flex.dropped)
    if held_back:
        result = battery_step(sum(p.expected_w for p in flex.kept))
        flex = loads.gate(
            flex.kept,
            measured_net_w=measured,
            battery_change_w=result.correction_w,
            import_limit_w=imp,
            export_limit_w=exp,
            margin_w=segment.margin_w,
        )
        held_back += flex.dropped
    commands: list[tuple[Device, str, dict]] = []
    planned: list[tuple[Device, int, int]] = []
    for k, d in enumerate(bats):
        if not available[k]:
            continue
        old, new = int(fleet.setpoint_w[k]), int(result.setpoint_w[k])
        lease = leases.get(d.pk)
        renew = lease is not None and lease.valid_until - now < RESEND_BEFORE
        changed = abs(new - old) >= SETPOINT_CHANGE_W and (
            lease is None or abs(int(lease.params.get("power_w", 0)) - new) >= SETPOINT_CHANGE_W
        )
        if changed or renew:
            commands.append((d, "set_power", {"power_w": new}))
            planned.append((d, old, new))
    flex_commands: list[tuple[Device, str, dict]] = []
    flex_planned: list[tuple[Device, int, int, str]] = []
    for prop in flex.kept:
        d, _, why = proposals[prop.key]
        lease = leases.get(d.pk)
        if prop.renewal and lease is not None and lease.valid_until - now >= RESEND_BEFORE:
            continue
        flex_commands.append((d, prop.action, prop.params))
        now_w = int((latest[d.pk].power_w or 0) if d.pk in latest else 0)
        flex_planned.append((d, now_w, int(round(now_w + prop.expected_w)), why))
    outcome = (
        ControlStep.Outcome.AT_LIMIT
        if result.at_limit
        else ControlStep.Outcome.CORRECTED
        if commands
        else ControlStep.Outcome.STEADY
    )
    with transaction.atomic():
        _set_mode(segment, Segment.Mode.NORMAL, "", now)
        _clear_alarms(segment, (Alarm.Kind.STALE_TELEMETRY, Alarm.Kind.DEVICE_UNREACHABLE), now)
        for dev_id, cmd in ignored.items():
            d = next(b for b in bats if b.pk == dev_id)
            _raise_alarm(
                segment,
                Alarm.Kind.COMMAND_IGNORED,
                f"{d.site.name}: {d.name} did not apply the last command ({cmd.get_status_display().lower()}"
                f"{': ' + cmd.detail if cmd.detail else ''}); left out of control",
                now,
                d,
            )
        _clear_alarms(segment, (Alarm.Kind.COMMAND_IGNORED,), now, keep_devices=set(ignored))
        if result.at_limit:
            _raise_alarm(segment, Alarm.Kind.LIMIT, f"{segment.name}: {result.reason}", now)
        else:
            Alarm.objects.filter(segment=segment, kind=Alarm.Kind.LIMIT, cleared_at__isnull=True).update(cleared_at=now)
        sent: list[DeviceCommand] = []
        detail = result.reason
        if commands and send:
            try:
                sent = asset_services.command_publish_many(
                    commands=commands, valid_for=COMMAND_LEASE, source="balancing", now=now
                )
            except DomainError as exc:  # a device's limits changed between our check and the gate's
                detail = f"commands refused: {exc}"
                sent = []
        flex_sent: list[DeviceCommand] = []
        if flex_commands and send:
            try:
                flex_sent = asset_services.command_publish_many(
                    commands=flex_commands, valid_for=COMMAND_LEASE, source="balancing", now=now
                )
            except DomainError as exc:
                detail = f"{detail}; load commands refused: {exc}"
        if held_back:
            detail = f"{detail}; {len(held_back)} load instruction(s) held back: no headroom under the limits"
        step = ControlStep.objects.create(
            **common,
            measured_net_w=measured,
            target_net_w=result.target_w,
            predicted_net_w=(result.predicted_net_w if sent or not commands else measured)
            + int(sum(p.expected_w for p in flex.kept if not p.renewal) if flex_sent else 0),
            correction_w=result.correction_w if sent else 0,
            outcome=outcome if (sent or not commands) else ControlStep.Outcome.STEADY,
            detail=detail[:300],
            seconds=time.perf_counter() - t0,
        )
        by_device = {c.device_id: c for c in sent}
        ControlAction.objects.bulk_create(
            [
                ControlAction(
                    step=step,
                    device=d,
                    command=by_device.get(d.pk),
                    previous_w=old,
                    setpoint_w=new,
                    reason=_reason(new - old, result, measured, result.target_w, imp, exp)[:300],
                )
                for d, old, new in planned
                if d.pk in by_device
            ]
            + [
                ControlAction(step=step, device=d, command=c, previous_w=old, setpoint_w=new, reason=why[:300])
                for (d, old, new, why), c in zip(flex_planned, flex_sent, strict=False)
            ]
        )
    # a large deviation from the plan: re-plan now (the next quarter's periodic solve would be too late)
    if target is not None and abs(measured - target) > segment.deviation_w and not result.at_limit:
        recent = Schedule.objects.filter(segment=segment, created_at__gte=now - timedelta(minutes=5)).exists()
        if not recent:
            try:
                schedule_solve(segment=segment, now=now, trigger=Schedule.Trigger.DEVIATION)
            except DomainError as exc:
                log.warning("%s: re-solve failed: %s", segment, exc)
    return step


def _flex_proposals(
    schedule: Schedule | None,
    i: int | None,
    devices: list[Device],
    latest: dict,
    leases: dict[int, DeviceCommand],
    now: datetime,
    stale_after_s: int,
) -> dict[int, tuple[Device, loads.Proposal, str]]:
    """The schedule's plan for this quarter-hour as commands to EV chargers and heat
    pumps, each with the reason the household will read; only devices with fresh
    telemetry, a plan, and the consent and limits ``assets.command_gate`` checks."""
    if schedule is None or i is None:
        return {}
    out: dict[int, tuple[Device, loads.Proposal, str]] = {}
    price = float(schedule.import_price_p[i]) if i < len(schedule.import_price_p or []) else None
    tz = ZoneInfo(devices[0].community.timezone or "Europe/London") if devices else None
    until = (schedule.starts_at + (i + 1) * selectors.STEP).astimezone(tz) if tz else None
    dear = f"import costs {price:.1f} p/kWh now" if price is not None else "the plan"
    for d in devices:
        plan = (schedule.devices or {}).get(str(d.pk))
        t = latest.get(d.pk)
        if not plan or i >= len(plan) or selectors.is_stale(t, now, stale_after_s):
            continue
        now_w = float(t.power_w or 0)
        lease = leases.get(d.pk)
        if d.kind == kinds.EV_CHARGER:
            lease_w = (
                float(lease.params.get("power_w", 0)) if lease is not None and lease.action == "set_power" else None
            )
            prop = loads.ev_proposal(
                key=d.pk, planned_w=float(plan[i]), now_w=now_w, rated_w=float(d.rated_power_w), lease_w=lease_w
            )
            if prop is None:
                continue
            cap = prop.params["power_w"]
            limits = d.limits or {}
            ready = (
                f"; your car still reaches {float(limits['target_pct']):g}% by {limits['ready_by']}"
                if limits.get("target_pct") is not None and limits.get("ready_by")
                else ""
            )
            why = (
                f"charging paused until {until:%H:%M}: {dear}, the plan charges when it is cheaper{ready}"
                if cap == 0
                else f"charge at {cap / 1000:.1f} kW (of {d.rated_power_w / 1000:.1f}) until {until:%H:%M}: "
                f"{dear}, the plan spreads the charge{ready}"
            )
        else:
            indoor = (schedule.indoor_c or {}).get(str(d.pk))
            if not indoor or i + 1 >= len(indoor):
                continue
            lo = float((d.limits or {}).get("comfort_min_c", 18))
            hi = float((d.limits or {}).get("comfort_max_c", 22))
            base = _base_setpoint_c(d)
            lease_delta = (
                float(lease.params.get("delta_c", 0))
                if lease is not None and lease.action == "shift_setpoint"
                else None
            )
            prop = loads.heat_pump_proposal(
                key=d.pk,
                planned_indoor_c=float(indoor[i + 1]),
                planned_w=float(plan[i]),
                base_setpoint_c=base,
                comfort_min_c=lo,
                comfort_max_c=hi,
                lease_delta_c=lease_delta,
                now_w=now_w,
                rated_w=float(d.rated_power_w),
            )
            if prop is None:
                continue
            sp = base + prop.params["delta_c"]
            band = f"your {base:.1f} °C, comfort band {lo:g}–{hi:g} °C"
            why = (
                f"setpoint {sp:.1f} °C until {until:%H:%M} ({band}): pre-heating while {dear}, to coast later"
                if prop.params["delta_c"] > 0
                else f"setpoint {sp:.1f} °C until {until:%H:%M} ({band}): coasting on the heat stored in the house; "
                f"{dear}"
            )
        out[d.pk] = (d, prop, why)
    if not out:
        return {}
    refusals = command_refusals(
        [(d, p.action, p.params) for d, p, _ in out.values()],
        source="balancing",
        at=now,
        valid_until=now + COMMAND_LEASE,
    )
    return {k: v for (k, v), r in zip(out.items(), refusals, strict=True) if r is None}


def control_all(*, now: datetime | None = None) -> int:
    """One corrective step for every segment under control (beat: every minute)."""
    n = 0
    for seg in Segment.objects.exclude(mode=Segment.Mode.OFF).select_related("community", "node"):
        if control_step(segment=seg, now=now) is not None:
            n += 1
    return n
