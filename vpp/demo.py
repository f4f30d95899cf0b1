"""VPP demo for Bramley Green: enrolled homes, a voted sharing rule, one evening-peak
event dispatched and settled yesterday, and tonight's requirement with the platform's
accepted bid (the beat's dispatch tick runs it live while ``make run``'s simulator
is up).

Yesterday's event is dispatched through the real services at the times it ran
(``now`` passed in). The homes' devices answer as the simulator's devices do
(``assets.domain.home``): each household's site is simulated twice over the
evening, without and with the commands it received, and the difference is taken
off its meter readings for the event's half-hours. Then it is measured against
the baselines and settled through the ledger like any event.

Idempotent: every step looks for what it would make first.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assets.domain.home import SimSite, Weather
from assets.domain.payloads import Command
from assets.models import Device, DeviceCommand, IntervalReading, Meter, Telemetry
from assets.mqtt.simulator import site_spec
from community.models import Community, Membership, NetworkNode, Role
from vpp import services
from vpp.models import Enrolment, Event, Requirement, Settlement, SharingRule, VppCommand
from vpp.services.dispatch import _event_periods

LONDON = ZoneInfo("Europe/London")
PEAK = (17, 19)  # local hours of the evening peak
EVENTS_PER_YEAR = 44  # DFS 2024/25 ran 44 events (REFERENCES.md)
SIM_STEP_S = 60


def _users(community):
    User = get_user_model()
    buyer = User.objects.filter(username="flexbuyer").first()
    operator = User.objects.filter(memberships__community=community, memberships__role=Role.ASSET_OPERATOR).first()
    return buyer, operator


def _sharing_rule(community: Community, operator, now: datetime) -> None:
    if SharingRule.objects.filter(community=community).exclude(number=0).exists():
        return
    members = list(
        get_user_model().objects.filter(memberships__community=community, memberships__role=Role.MEMBER).distinct()
    )
    if not members:
        return
    rule = services.sharing_rule_propose(
        community=community,
        actor=members[0],
        values={"fee_pct": 15, "fund_pct": 10, "availability_credit_gbp_per_kw": "0.05", "floor_gbp": "0.25"},
        effective_from=now - timedelta(days=60),
        reason="Most to the homes that deliver; a floor so homes without batteries can take part.",
        now=now - timedelta(days=60),
    )
    for i, m in enumerate(members[: max(3, len(members) // 3)]):
        services.sharing_rule_vote(rule=rule, voter=m, choice="no" if i % 5 == 4 else "yes")
    services.sharing_rule_decide(rule=rule, actor=operator, now=now - timedelta(days=59))
    SharingRule.objects.filter(pk=rule.pk).update(effective_from=now - timedelta(days=59))


def _enrol(community: Community, at: datetime) -> int:
    """Every household battery, EV charger and heat pump, with sensible limits; a few homes without one for turn-down."""
    n = 0
    limits = {
        "battery": {"reserve_pct": 20},
        "ev_charger": {"ready_by": "07:00", "target_pct": 80},
        "heat_pump": {"comfort_min_c": 18.5, "comfort_max_c": 22},
    }
    devices = (
        Device.objects.filter(community=community, ownership="household", kind__in=list(limits))
        .select_related("site")
        .order_by("site__name", "kind")
    )
    for d in devices:
        user = d.site.occupants.order_by("pk").first()
        if user is None or Enrolment.objects.filter(device=d, left_at=None).exists():
            continue
        lim = dict(limits[d.kind])
        if d.pk % 4 == 0:
            lim["never_touch"] = "07:00-08:00"
        services.enrolment_create(site=d.site, user=user, device=d, limits=lim, max_events_per_week=4, now=at)
        n += 1
    homes = (
        community.sites.filter(kind="home", meters__kind="site")
        .exclude(devices__kind__in=list(limits))
        .distinct()
        .order_by("name")
    )
    for site in list(homes)[:8]:
        user = site.occupants.order_by("pk").first()
        if user is None or Enrolment.objects.filter(site=site, kind="turn_down", left_at=None).exists():
            continue
        services.enrolment_create(site=site, user=user, now=at, turn_down_pct=15)
        n += 1
    return n


def _peak(day, tz=LONDON) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, PEAK[0], tzinfo=tz).astimezone(ZoneInfo("UTC"))
    end = datetime(day.year, day.month, day.day, PEAK[1], tzinfo=tz).astimezone(ZoneInfo("UTC"))
    return start, end


def _node(community: Community) -> NetworkNode | None:
    return NetworkNode.objects.filter(community=community, kind=NetworkNode.Kind.PRIMARY).order_by("pk").first() or (
        NetworkNode.objects.filter(community=community).order_by("pk").first()
    )


def _accepted(community, buyer, operator, node, ref, start, end, kw, at) -> Event:
    req = Requirement.objects.filter(community=community, reference=ref).first()
    if req is None:
        req = services.requirement_create(
            community=community,
            buyer=buyer,
            buyer_name="Midlands DSO (Peak Reduction)",
            reference=ref,
            node=node,
            starts_at=start,
            ends_at=end,
            kw_wanted=Decimal(kw),
            utilisation_gbp_per_mwh=Decimal("306"),
            availability_gbp_per_mw_h=Decimal("5"),
            notice_minutes=120,
            now=at,
        )
    ev = Event.objects.filter(requirement=req).first()
    if ev is not None:
        return ev
    bid = req.bids.first() or services.bid_propose(requirement=req, now=at)
    services.bid_submit(bid=bid, actor=operator, now=at)
    return services.bid_accept(bid=bid, actor=buyer, now=at)


def _simulate_response(community: Community, event: Event) -> int:
    """Run yesterday's evening twice per participating home (without, with its commands);
    take the difference off its meter readings for the event's half-hours. Returns Wh shifted."""
    cmds = defaultdict(list)  # site -> [(period start, kind, VppCommand)]
    for vc in (
        VppCommand.objects.filter(event=event).exclude(command=None).select_related("command", "enrolment__device")
    ):
        cmds[vc.enrolment.site_id].append(vc)
    if not cmds:
        return 0
    minutes = community.settlement_period_minutes
    step = timedelta(minutes=minutes)
    warm = event.starts_at - timedelta(hours=6)
    total = 0
    for site_id, vcs in cmds.items():
        devices = list(Device.objects.filter(site_id=site_id).select_related("site"))
        site = devices[0].site
        sims = [SimSite(site_spec(site, devices)), SimSite(site_spec(site, devices))]
        weathers = [Weather(seed=community.pk + 99), Weather(seed=community.pk + 99)]
        energy = [defaultdict(float), defaultdict(float)]
        due = sorted(vcs, key=lambda v: v.command.created_at)
        t = warm
        while t < event.ends_at:
            while due and due[0].command.created_at <= t:
                vc = due.pop(0)
                c = vc.command
                reply = sims[1].handle(vc.enrolment.device.kind, Command(c.pk, c.action, c.params, c.valid_until), t)
                DeviceCommand.objects.filter(pk=c.pk).update(
                    status=reply.status, detail=reply.detail[:500], sent_at=t, acked_at=t + timedelta(seconds=1)
                )
            for k in (0, 1):
                weathers[k].step(t, SIM_STEP_S)
                sims[k].step(t, SIM_STEP_S, weathers[k])
                if t >= event.starts_at:
                    p0 = event.starts_at + ((t - event.starts_at) // step) * step
                    energy[k][p0] += sims[k].meter.power_w * SIM_STEP_S / 3600.0
            t += timedelta(seconds=SIM_STEP_S)
        meter = Meter.objects.filter(site_id=site_id, kind=Meter.Kind.SITE).first()
        if meter is None:
            continue
        for r in IntervalReading.objects.filter(
            meter=meter, period_start__gte=event.starts_at, period_start__lt=event.ends_at
        ):
            diff = int(round(energy[0][r.period_start] - energy[1][r.period_start]))
            net = r.import_wh - r.export_wh - diff
            r.import_wh, r.export_wh = max(net, 0), max(-net, 0)
            r.save(update_fields=["import_wh", "export_wh"])
            total += diff
    return total


def _telemetry_before(community: Community, at: datetime) -> int:
    """What the enrolled devices reported just before ``at``: each site simulated from six
    hours earlier with the same weather (the platform plans from telemetry: a battery
    that self-consumption has drained to its reserve is not asked to discharge)."""
    by_site = defaultdict(list)
    for d in Device.objects.filter(vpp_enrolments__community=community, vpp_enrolments__left_at=None).select_related(
        "site"
    ):
        by_site[d.site_id].append(d)
    rows = []
    for site_id, enrolled in by_site.items():
        devices = list(Device.objects.filter(site_id=site_id).select_related("site"))
        sim, weather = SimSite(site_spec(devices[0].site, devices)), Weather(seed=community.pk + 99)
        t = at - timedelta(hours=6)
        while t < at:
            weather.step(t, SIM_STEP_S)
            sim.step(t, SIM_STEP_S, weather)
            t += timedelta(seconds=SIM_STEP_S)
        for d in enrolled:
            v = sim.telemetry(d.kind)
            rows.append(
                Telemetry(
                    device=d,
                    ts=at - timedelta(seconds=30),
                    power_w=v.get("power_w"),
                    soc_pct=v.get("soc_pct"),
                    temperature_c=v.get("indoor_c"),
                    payload={k: x for k, x in v.items() if k in ("ev_soc_pct", "plugged_in", "setpoint_c")},
                )
            )
    Telemetry.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _past_event(community, buyer, operator, node, now) -> Event | None:
    yesterday = (now.astimezone(LONDON) - timedelta(days=1)).date()
    start, end = _peak(yesterday)
    ref = f"PEAK-{yesterday:%Y%m%d}"
    if Settlement.objects.filter(event__requirement__reference=ref, event__community=community).exists():
        return Event.objects.get(requirement__reference=ref, community=community)
    if not IntervalReading.objects.filter(
        meter__site__community=community, period_start=end - timedelta(minutes=30)
    ).exists():
        return None  # no meter history for yesterday evening: nothing to measure against
    ev = _accepted(community, buyer, operator, node, ref, start, end, "40", start - timedelta(days=1))
    ids = list(
        Device.objects.filter(vpp_enrolments__community=community, vpp_enrolments__left_at=None).values_list(
            "pk", flat=True
        )
    )
    offline = list(Device.objects.filter(pk__in=ids, online=False).values_list("pk", flat=True))
    with transaction.atomic():
        # as at the time: the simulator's devices were online; the commands' outcomes are
        # recorded (from the simulation below) before commit, so nothing is published now
        Device.objects.filter(pk__in=offline).update(online=True)
        _telemetry_before(community, start)
        for p in _event_periods(ev):
            services.event_dispatch_period(event=ev, now=p + timedelta(seconds=5))
        _simulate_response(community, ev)
        Device.objects.filter(pk__in=offline).update(online=False)
        Event.objects.filter(pk=ev.pk).update(status=Event.Status.COMPLETED)
    ev.refresh_from_db()
    services.event_settle(event=ev, now=end + timedelta(hours=1), actor=operator)
    return ev


def seed(*, community: Community, stdout=None) -> None:
    now = timezone.now()
    buyer, operator = _users(community)
    node = _node(community)
    if buyer is None or operator is None or node is None:
        if stdout:
            stdout.write("  vpp: no flex buyer / asset operator / network in this community; skipped")
        return
    if not Membership.objects.filter(community=community, user=buyer, role=Role.FLEX_BUYER).exists():
        return
    _sharing_rule(community, operator, now)
    enrolled = _enrol(community, now - timedelta(days=40))
    past = _past_event(community, buyer, operator, node, now)
    today = now.astimezone(LONDON).date()
    start, end = _peak(today)
    if start - now < timedelta(hours=2, minutes=5):
        start, end = _peak(today + timedelta(days=1))
    upcoming = _accepted(
        community, buyer, operator, node, f"PEAK-{start.astimezone(LONDON):%Y%m%d}", start, end, "40", now
    )
    if stdout is None:
        return
    homes = Enrolment.objects.filter(community=community, left_at=None).order_by().values("site").distinct().count()
    stdout.write(
        f"  vpp: {enrolled} new enrolments ({homes} homes enrolled); next event {upcoming.requirement.reference}"
    )
    if past is not None and hasattr(past, "settlement"):
        s = past.settlement
        per_event = s.households / max(homes, 1)
        gross = s.revenue / max(homes, 1)
        stdout.write(
            f"  vpp: {past.requirement.reference} delivered {s.delivered_wh / 1000:.1f} kWh for £{s.revenue} "
            f"(households £{s.households}, fund £{s.fund}, fee £{s.fee}); per enrolled home: "
            f"£{per_event:.2f} an event, £{per_event * EVENTS_PER_YEAR:.2f} a year to the household "
            f"(£{gross * EVENTS_PER_YEAR:.2f} gross) at {EVENTS_PER_YEAR} events a year (seed 002: £6-100)"
        )
