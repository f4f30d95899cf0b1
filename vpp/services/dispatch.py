"""From an accepted event to leased MQTT commands, and the closed loop that keeps it on target.

Stable API shared with the balancing controller
-----------------------------------------------
``Lease(key, device, action, params, reason)`` and
``leases_publish(*, leases, valid_until, source, now) -> dict[key, DeviceCommand | str]``
    Turn a plan into commands: each lease's ``key`` (any string, unique for
    what it means, e.g. "e12:2026-11-30T17:00:3:plan") becomes a deterministic
    ``DeviceCommand`` id, so publishing the same leases twice sends nothing the
    second time. Every lease first passes the consent and limits gate
    (``assets.command_gate``); a refused one maps to the refusal text and is not
    sent. Accepted ones are recorded with ``assets.services.command_publish_many``
    (QoS 1, never retained, ``valid_until`` lease, published on commit; a broker
    outage leaves them pending and ``commands_resend_pending`` sends them later,
    still once). Call inside your own transaction to record your reasons with them.

VPP flow (Celery beat ``vpp.tasks.dispatch_tick`` every minute):
``event_plan`` solves the whole event once (``vpp.domain.dispatch.solve``);
at each period start ``event_dispatch_period`` sends that period's commands
(lease = the period's end + a minute's grace); ``event_correct`` compares
telemetry and acks with the plan every minute and re-dispatches shortfalls;
``event_release`` hands devices back when the buyer cancels.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from assets import services as asset_services
from assets.command_gate import command_refusals, never_touch_window
from assets.models import Device, DeviceCommand
from community.constraints import node_limits_in_force
from vpp import selectors
from vpp.domain import dispatch as core
from vpp.models import Delivery, DispatchRun, Enrolment, Event, OptOut, VppCommand

GRACE = timedelta(minutes=1)
# Discomfort, pence per kWh of flexibility (the household's side of "least cost
# and discomfort"): battery cycling wear is cheap, a cooler house is not.
DISCOMFORT_P_PER_KWH = {"battery": 2.0, "ev_charger": 4.0, "load": 6.0, "heat_pump": 8.0, "turn_down": 12.0}
HEAT_PUMP_SHIFT_C = -2.0
ROTATION_DAYS = 30


# --- the generic lease publisher ---------------------------------------------------


@dataclass(frozen=True)
class Lease:
    key: str
    device: Device
    action: str
    params: dict
    reason: str = ""


def command_id_for(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def leases_publish(
    *, leases: Sequence[Lease], valid_until: datetime, source: str, now: datetime | None = None
) -> dict[str, DeviceCommand | str]:
    now = now or timezone.now()
    out: dict[str, DeviceCommand | str] = {}
    if not leases:
        return out
    ids = {lease.key: command_id_for(lease.key) for lease in leases}
    existing = DeviceCommand.objects.in_bulk(list(ids.values()))
    todo = []
    fresh = []
    for lease in leases:
        cid = ids[lease.key]
        if cid in existing:
            out[lease.key] = existing[cid]
        else:
            fresh.append(lease)
    refusals = command_refusals(
        [(lease.device, lease.action, lease.params) for lease in fresh], source=source, at=now, valid_until=valid_until
    )
    for lease, refusal in zip(fresh, refusals, strict=True):
        if refusal:
            out[lease.key] = refusal
        else:
            todo.append(lease)
    if todo:
        valid_for = max(valid_until - now, timedelta(seconds=10))
        rows = asset_services.command_publish_many(
            commands=[(lease.device, lease.action, lease.params) for lease in todo],
            command_ids=[ids[lease.key] for lease in todo],
            valid_for=valid_for,
            source=source,
            now=now,
        )
        for lease, row in zip(todo, rows, strict=True):
            out[lease.key] = row
    return out


# --- planning ------------------------------------------------------------------------


def _event_periods(event: Event) -> list[datetime]:
    return selectors.periods(event.starts_at, event.ends_at, event.community.settlement_period_minutes)


def _heat_pump_delta(device: Device) -> float:
    lo = device.limits.get("comfort_min_c")
    hi = device.limits.get("comfort_max_c")
    if lo is None or hi is None:
        return HEAT_PUMP_SHIFT_C
    base = float(device.specs.get("setpoint_c", (float(lo) + float(hi)) / 2))
    return max(HEAT_PUMP_SHIFT_C, float(lo) - base)


def _recent_delivered(enrolments: list[Enrolment], now: datetime) -> dict[int, float]:
    rows = (
        Delivery.objects.filter(
            site_id__in=[e.site_id for e in enrolments], created_at__gte=now - timedelta(days=ROTATION_DAYS)
        )
        .values("site_id")
        .annotate(wh=Sum("delivered_wh"))
    )
    return {r["site_id"]: float(r["wh"] or 0) for r in rows}


@dataclass
class PlanInput:
    problem: core.Problem
    enrolments: dict[int, Enrolment]
    notes: list[str]
    statement_ids: list[int]


def plan_input(event: Event, *, now: datetime, starts: list[datetime] | None = None) -> PlanInput:
    """The dispatch problem for ``event`` (over ``starts``, default: all its periods)."""
    req = event.requirement
    minutes = event.community.settlement_period_minutes
    starts = starts or _event_periods(event)
    n = len(starts)
    f = selectors.flexibility_forecast(
        event.community, start=starts[0], n=n, node=req.node, direction=req.direction, at=now
    )
    opted = set(OptOut.objects.filter(event=event).values_list("enrolment_id", flat=True))
    week: dict[int, set[int]] = defaultdict(set)  # enrolment -> events it took part in over the last 7 days
    for eid, ev_id in (
        VppCommand.objects.filter(
            enrolment_id__in=[u.enrolment.pk for u in f.units], created_at__gte=now - timedelta(days=7)
        )
        .values_list("enrolment_id", "event_id")
        .distinct()
    ):
        week[eid].add(ev_id)
    notes: list[str] = []
    units_f = []
    for u in f.units:
        e = u.enrolment
        if e.pk in opted:
            notes.append(f"{e.site.name} {e.label}: opted out")
            continue
        if e.device_id and not e.device.online:
            notes.append(f"{e.site.name} {e.label}: offline at dispatch, replaced")
            continue
        done = len(week[e.pk] - {event.pk})
        if done >= e.max_events_per_week:
            notes.append(f"{e.site.name} {e.label}: already {done} events this week (limit {e.max_events_per_week})")
            continue
        units_f.append(u)
    latest = selectors.latest_telemetry([u.enrolment.device_id for u in units_f if u.enrolment.device_id], now)
    recent = _recent_delivered([u.enrolment for u in units_f], now)
    weights = core.rotation_weights([recent.get(u.enrolment.site_id, 0.0) for u in units_f])
    units = []
    enrolments = {}
    for u, w in zip(units_f, weights, strict=True):
        e = u.enrolment
        max_w = list(u.p50)
        energy = None
        kind = e.device.kind if e.device_id else "turn_down"
        if e.device_id:
            d = e.device
            t = latest.get(d.pk)
            if kind == "battery":
                p_now = (t or {}).get("power_w") or 0
                cap = min(2 * d.rated_power_w, d.rated_power_w + max(p_now, 0))
                if req.direction == "up":
                    cap = max(0, d.rated_power_w - p_now)
                max_w = [cap] * n
                reserve = float(d.limits.get("reserve_pct", 0) or 0)
                soc = (t or {}).get("soc_pct")
                if d.capacity_wh:
                    soc = 50.0 if soc is None else soc
                    room = (soc - reserve) if req.direction == "down" else (100 - soc)
                    energy = max(0, int(room / 100 * d.capacity_wh))
            elif kind == "heat_pump" and _heat_pump_delta(d) > -0.5:
                max_w = [0] * n
                notes.append(f"{e.site.name} {e.label}: comfort band leaves no room to shift")
            elif kind == "ev_charger" and t is not None and req.direction == "down":
                p_now = max(t.get("power_w") or 0, 0)
                max_w[0] = p_now if starts[0] <= now < starts[0] + timedelta(minutes=minutes) else max_w[0]
            for k, s in enumerate(starts):
                if never_touch_window(d, s, s + timedelta(minutes=minutes) - timedelta(seconds=1)):
                    max_w[k] = 0
        enrolments[e.pk] = e
        units.append(
            core.Unit(
                key=e.pk,
                node=e.site.network_node_id,
                max_w=[max(0, int(v)) for v in max_w],
                cost_p_per_kwh=0.0,
                discomfort_p_per_kwh=DISCOMFORT_P_PER_KWH.get(kind, 10.0),
                weight=w,
                energy_wh=energy,
            )
        )
    limits = node_limits_in_force(
        community=event.community, start=starts[0], end=starts[-1] + timedelta(minutes=minutes)
    )
    node_limit_w = {}
    statement_ids: list[int] = []
    for node_id in {u.node for u in units}:
        lim = limits.get(node_id)
        if lim is None:
            continue
        kw = lim.export_limit_kw if req.direction == "down" else lim.import_limit_kw
        node_limit_w[node_id] = [int(kw * 1000)] * n
        statement_ids.extend(lim.statement_ids)
    problem = core.Problem(
        period_minutes=minutes, target_w=[event.target_w] * n, units=units, node_limit_w=node_limit_w
    )
    return PlanInput(problem, enrolments, notes, statement_ids)


def _next_number(event: Event) -> int:
    last = DispatchRun.objects.filter(event=event).order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def event_plan(*, event: Event, now: datetime | None = None, replan: bool = False) -> DispatchRun:
    """Solve the event (idempotent: the stored plan unless ``replan``)."""
    now = now or timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("requirement__node", "community").get(pk=event.pk)
        existing = event.runs.filter(kind=DispatchRun.Kind.PLAN).order_by("-number").first()
        if existing is not None and not replan:
            return existing
        pi = plan_input(event, now=now)
        t0 = time.perf_counter()
        plan = core.solve(pi.problem)
        ms = (time.perf_counter() - t0) * 1000
        notes = pi.notes + ([f"obeys constraint statements {pi.statement_ids}"] if pi.statement_ids else [])
        return DispatchRun.objects.create(
            event=event,
            number=_next_number(event),
            kind=DispatchRun.Kind.PLAN,
            target_w=list(pi.problem.target_w),
            planned_w={str(k): plan.for_unit(k) for k in plan.keys},
            max_w={str(u.key): list(u.max_w) for u in pi.problem.units},
            shortfall_w=plan.shortfall_w,
            cost_p=plan.cost_p,
            solve_ms=ms,
            units=len(pi.problem.units),
            notes="; ".join(notes)[:500],
            created_at=now,
        )


# --- commands ------------------------------------------------------------------------


def _command_for(enrolment: Enrolment, flex_w: int, latest: dict, direction: str) -> tuple[str, dict] | None:
    d = enrolment.device
    if d is None:
        return None
    if d.kind == "battery":
        p_now = (latest.get(d.pk) or {}).get("power_w") or 0
        target = p_now - flex_w if direction == "down" else p_now + flex_w
        return "set_power", {"power_w": int(max(-d.rated_power_w, min(d.rated_power_w, target)))}
    if d.kind == "ev_charger":
        if direction == "up":
            return "set_power", {"power_w": d.rated_power_w}
        return "pause", {}
    if d.kind == "heat_pump":
        return "shift_setpoint", {"delta_c": _heat_pump_delta(d) if direction == "down" else 1.0}
    if d.kind == "load":
        return ("pause", {}) if direction == "down" else ("resume", {})
    return None


def _reason(event: Event, run: DispatchRun, rule: str, flex_w: int, period: datetime, extra: str = "") -> str:
    req = event.requirement
    local = timezone.localtime(period)
    words = {
        "plan": "chosen by the plan (least cost and discomfort, fair rotation)",
        "replacement": "to cover a device that went offline or fell short",
        "cancel": "the buyer cancelled the event: control handed back",
        "release": "control handed back",
    }[rule]
    text = (
        f"{req.buyer_name} {req.get_product_display()} event {req.reference}, {local:%d %b %H:%M}: "
        f"{flex_w} W {'less' if req.direction == 'down' else 'more'}, {words} (run #{run.number})"
    )
    return (text + (f"; {extra}" if extra else ""))[:400]


def _send_asks(
    *, event: Event, run: DispatchRun, period: datetime, asks: dict[int, int], rule: str, suffix: str, now: datetime
) -> list[VppCommand]:
    """Record and publish one command per enrolment in ``asks`` (idempotent by key)."""
    minutes = event.community.settlement_period_minutes
    valid_until = min(period + timedelta(minutes=minutes), event.ends_at) + GRACE
    enrolments = Enrolment.objects.select_related("device__community", "device__site", "site").in_bulk(list(asks))
    keys = {eid: f"e{event.pk}:{period:%Y%m%dT%H%M}:{eid}:{suffix}" for eid in asks}
    done = set(VppCommand.objects.filter(key__in=list(keys.values())).values_list("key", flat=True))
    latest = selectors.latest_telemetry([e.device_id for e in enrolments.values() if e.device_id], now)
    leases, rows = [], []
    for eid, w in asks.items():
        key = keys[eid]
        if key in done or w <= 0:
            continue
        e = enrolments[eid]
        cmd = _command_for(e, w, latest, event.requirement.direction)
        rows.append(
            VppCommand(
                key=key,
                event=event,
                run=run,
                enrolment=e,
                period_start=period,
                flex_w=w,
                rule=rule,
                reason=_reason(event, run, rule, w, period),
                created_at=now,
            )
        )
        if cmd is not None:
            leases.append(Lease(key=key, device=e.device, action=cmd[0], params=cmd[1]))
    result = leases_publish(leases=leases, valid_until=valid_until, source="vpp", now=now)
    for r in rows:
        got = result.get(r.key)
        if isinstance(got, DeviceCommand):
            r.command = got
        elif isinstance(got, str):
            r.refused = got[:300]
    VppCommand.objects.bulk_create(rows)
    return rows


def current_period(event: Event, now: datetime) -> datetime | None:
    for s in _event_periods(event):
        if s <= now < s + timedelta(minutes=event.community.settlement_period_minutes):
            return s
    return None


def event_dispatch_period(*, event: Event, now: datetime | None = None) -> list[VppCommand]:
    """Send the current period's planned commands (once: a second call sends nothing)."""
    now = now or timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("requirement", "community").get(pk=event.pk)
        if event.status not in (Event.Status.SCHEDULED, Event.Status.ACTIVE):
            return []
        period = current_period(event, now)
        if period is None:
            return []
        if event.status == Event.Status.SCHEDULED:
            Event.objects.filter(pk=event.pk).update(status=Event.Status.ACTIVE)
            event.status = Event.Status.ACTIVE
        run = event_plan(event=event, now=now)
        k = _event_periods(event).index(period)
        asks = {int(eid): row[k] for eid, row in run.planned_w.items() if row[k] > 0}
        return _send_asks(event=event, run=run, period=period, asks=asks, rule="plan", suffix="plan", now=now)


def _current_asks(event: Event, period: datetime) -> tuple[dict[int, int], dict[int, int]]:
    """(enrolment -> W asked now, enrolment -> most it can give) for the period."""
    plan = event.runs.filter(kind=DispatchRun.Kind.PLAN).order_by("-number").first()
    if plan is None:
        return {}, {}
    k = _event_periods(event).index(period)
    asks = {int(e): row[k] for e, row in plan.planned_w.items()}
    max_w = {int(e): row[k] for e, row in plan.max_w.items()}
    last = event.runs.filter(kind=DispatchRun.Kind.CORRECTION, period_start=period).order_by("-number").first()
    if last is not None:
        asks.update({int(e): w for e, w in last.planned_w.items()})
    return asks, max_w


FAILED = {DeviceCommand.Status.REJECTED, DeviceCommand.Status.EXPIRED, DeviceCommand.Status.TIMED_OUT}


def event_correct(*, event: Event, now: datetime | None = None, tolerance: float = 0.8) -> DispatchRun | None:
    """One closed-loop step: devices offline, refused, rejected or short of their
    ask lose it; healthy devices with headroom take it over. Returns the
    correction run, or None when everything is on plan."""
    now = now or timezone.now()
    with transaction.atomic():
        event = Event.objects.select_for_update().select_related("requirement", "community").get(pk=event.pk)
        if event.status != Event.Status.ACTIVE:
            return None
        period = current_period(event, now)
        if period is None:
            return None
        asks, max_w = _current_asks(event, period)
        if not asks:
            return None
        # plain rows, not model instances: this runs every minute over every enrolment
        last_cmd: dict[int, tuple] = {}
        for row in (
            VppCommand.objects.filter(event=event, period_start=period)
            .order_by("created_at")
            .values_list(
                "enrolment_id",
                "refused",
                "command_id",
                "command__status",
                "command__sent_at",
                "command__acked_at",
                "command__params",
                "created_at",
            )
        ):
            last_cmd[row[0]] = row
        units = {
            r[0]: r
            for r in Enrolment.objects.filter(pk__in=list(asks)).values_list(
                "pk", "device_id", "device__kind", "device__online", "device__uid", "site__network_node_id"
            )
        }
        latest = selectors.latest_telemetry([u[1] for u in units.values() if u[1]], now)
        ids = list(asks)
        planned, measured, online, nodes, costs, caps = [], [], [], [], [], []
        failures = []
        down = event.requirement.direction == "down"
        for eid in ids:
            _, device_id, kind, is_online, uid, node_id = units[eid]
            kind = kind or "turn_down"
            ask = asks[eid]
            c = last_cmd.get(eid)
            m: int | None = ask
            if not device_id:
                is_online = True
            elif ask > 0 and c is not None:
                _, refused, command_id, status, sent_at, acked_at, params, created_at = c
                if refused:
                    m = 0
                    failures.append(f"{uid} refused ({refused})")
                elif command_id and status in FAILED:
                    m = 0
                    failures.append(f"{uid} {status}")
                elif command_id and sent_at:
                    t = latest.get(device_id)
                    heard = max(sent_at, acked_at or sent_at, created_at)
                    if t is not None and t["ts"] > heard + timedelta(seconds=15):
                        p = t["power_w"] or 0
                        if kind == "battery":
                            m = ask - max(0, p - (params or {}).get("power_w", p))
                        elif kind in ("ev_charger", "load") and down:
                            m = ask - max(0, p)
                        m = max(0, int(m))
                        if m < tolerance * ask:
                            failures.append(f"{uid} gives {m} of {ask} W")
            if device_id and not is_online and ask > 0:
                failures.append(f"{uid} offline")
            planned.append(ask)
            measured.append(m)
            online.append(bool(is_online))
            nodes.append(node_id)
            costs.append(DISCOMFORT_P_PER_KWH.get(kind, 10.0))
            # turn-down homes cannot be asked for more mid-event: no headroom
            caps.append(max_w.get(eid, ask) if device_id and is_online else ask)
        if not failures:
            return None
        t0 = time.perf_counter()
        new, short = core.correct(
            planned_w=planned,
            measured_w=measured,
            max_w=caps,
            online=online,
            nodes=nodes,
            costs=costs,
            tolerance=tolerance,
        )
        ms = (time.perf_counter() - t0) * 1000
        run = DispatchRun.objects.create(
            event=event,
            number=_next_number(event),
            kind=DispatchRun.Kind.CORRECTION,
            period_start=period,
            target_w=[event.target_w],
            planned_w={str(eid): w for eid, w in zip(ids, new, strict=True)},
            shortfall_w=[short],
            solve_ms=ms,
            units=len(ids),
            notes=("; ".join(failures))[:500],
            created_at=now,
        )
        more = {eid: w for eid, w, old in zip(ids, new, planned, strict=True) if w > old}
        _send_asks(event=event, run=run, period=period, asks=more, rule="replacement", suffix=f"c{run.number}", now=now)
    return run


def event_release(*, event: Event, now: datetime | None = None, rule: str = "cancel") -> int:
    """Hand every device with an outstanding VPP lease back to its own schedule;
    commands not yet on the wire are withdrawn so a broker coming back never sends them."""
    now = now or timezone.now()
    open_cmds = list(
        VppCommand.objects.filter(
            event=event, command__status__in=DeviceCommand.OPEN, command__valid_until__gt=now
        ).select_related("command", "enrolment__device")
    )
    pending = [c.command_id for c in open_cmds if c.command.status == DeviceCommand.Status.PENDING]
    DeviceCommand.objects.filter(pk__in=pending, status=DeviceCommand.Status.PENDING).update(
        status=DeviceCommand.Status.EXPIRED, detail="withdrawn: the flexibility event was cancelled"
    )
    live = {c.enrolment_id: c for c in open_cmds if c.command_id not in pending}
    if not live:
        return len(pending)
    run = DispatchRun.objects.create(
        event=event,
        number=_next_number(event),
        kind=DispatchRun.Kind.CANCEL,
        units=len(live),
        created_at=now,
        notes=f"handed back {len(live)} devices",
    )
    leases, rows = [], []
    for eid, c in live.items():
        d = c.enrolment.device
        action = "resume" if d.kind in ("ev_charger", "load") else "auto"
        key = f"e{event.pk}:{rule}:{eid}"
        leases.append(Lease(key=key, device=d, action=action, params={}))
        rows.append(
            VppCommand(
                key=key,
                event=event,
                run=run,
                enrolment=c.enrolment,
                period_start=c.period_start,
                flex_w=0,
                rule=rule,
                reason=_reason(event, run, rule, 0, c.period_start),
                created_at=now,
            )
        )
    result = leases_publish(leases=leases, valid_until=now + timedelta(minutes=5), source="vpp", now=now)
    for r in rows:
        got = result.get(r.key)
        if isinstance(got, DeviceCommand):
            r.command = got
    VppCommand.objects.bulk_create(rows, ignore_conflicts=True)
    return len(pending) + len(live)


def dispatch_tick(*, now: datetime | None = None) -> dict:
    """Every minute: start due events, send period commands, correct, complete, settle."""
    from vpp.services.settlement import SETTLE_AFTER, event_settle

    now = now or timezone.now()
    stats = defaultdict(int)
    for event in Event.objects.filter(
        status__in=[Event.Status.SCHEDULED, Event.Status.ACTIVE], starts_at__lte=now, ends_at__gt=now
    ):
        stats["sent"] += len(event_dispatch_period(event=event, now=now))
        if event_correct(event=event, now=now) is not None:
            stats["corrections"] += 1
    stats["completed"] = Event.objects.filter(
        status__in=[Event.Status.SCHEDULED, Event.Status.ACTIVE], ends_at__lte=now
    ).update(status=Event.Status.COMPLETED)
    for event in Event.objects.filter(status=Event.Status.COMPLETED, ends_at__lte=now - SETTLE_AFTER):
        event_settle(event=event, now=now)
        stats["settled"] += 1
    return dict(stats)
