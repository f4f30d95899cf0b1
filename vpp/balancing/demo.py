"""Demo: Orchard Road as a private-wire estate under the controller.

The ~20 homes on the Orchard Road substation (the community demo's first
feeder) become one segment with a shared connection limit of 45 kW import /
60 kW export. Every home gets rooftop PV and a home battery if the assets demo
did not give it one, and its household's consent to balancing control of the
battery. The network operator (login ``dso``) operates that feeder and the
primary, and has published an intraday constraint for tomorrow's evening peak.

History: the last 7 days of the estate under the controller, from the same
physics the simulator runs (``assets.domain.home``) and the same controller code
(``domain.mpc`` re-planned every 3 hours, ``domain.corrective`` every 5
minutes), recorded as the controller's one-minute steps would be (one row per 5
minutes), so the KPIs and charts have a week behind them. From ``make run`` on,
the live controller (Celery beat's ``balancing.tasks.control_all`` and the
``balancing_controller`` process) takes over with the simulator's telemetry.

Idempotent: devices by uid, consents and statements by scope/reference, the
history only where the week has no control records.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction

from assets import services as asset_services
from assets.domain import kinds
from assets.domain.home import SimSite, Weather
from assets.domain.payloads import Command
from assets.domain.profiles import INVERTER_EFFICIENCY, household_demand_mean_w, pv_clearsky_dc_w
from assets.models import Device
from assets.mqtt.simulator import load_secrets, save_secrets, site_spec
from community.models import Community, ConsentRecord, ConstraintStatement, Membership, NetworkNode, Role, Site
from community.services import constraint_statement_issue
from vpp.balancing import selectors, services
from vpp.balancing.domain import corrective, mpc
from vpp.balancing.domain import tariff as tariffs
from vpp.balancing.models import ControlStep, NodeOperator, Segment

FEEDER_CODE = "SS-BRG-01"
IMPORT_LIMIT_W = 45_000
EXPORT_LIMIT_W = 60_000
HISTORY_DAYS = 7
STEP = timedelta(minutes=5)
REPLAN_EVERY = 36  # steps (3 hours)
CONSENT_TEXT = (
    "I let the Orchard Road estate controller charge and discharge my home battery to keep the estate "
    "inside its connection limit, never below my reserve, and I can withdraw this at any time."
)
LONDON = ZoneInfo("Europe/London")


def _register(site, kind, uid, name, rated, secrets, **kw) -> Device:
    d = Device.objects.filter(community=site.community, uid=uid).first()
    if d is not None:
        return d
    d, creds = asset_services.device_register(site=site, kind=kind, uid=uid, name=name, rated_power_w=rated, **kw)
    secrets[str(d.pk)] = {"username": creds.username, "password": creds.password}
    return d


@transaction.atomic
def seed_estate(community: Community) -> tuple[Segment | None, int]:
    feeder = NetworkNode.objects.filter(community=community, code=FEEDER_CODE).first()
    if feeder is None:
        return None, 0
    secrets = load_secrets()
    homes = list(Site.objects.filter(community=community, network_node=feeder, kind=Site.Kind.HOME).order_by("pk"))
    rng = np.random.default_rng(11)
    added = 0
    for site in homes:
        have = set(Device.objects.filter(site=site).values_list("kind", flat=True))
        if kinds.SMART_METER not in have:
            _register(site, kinds.SMART_METER, f"pw{site.pk}-meter", "Smart meter", 24_000, secrets)
            added += 1
        if kinds.PV_INVERTER not in have:
            kwp = float(rng.choice([3.2, 3.6, 4.0, 4.4]))
            _register(
                site,
                kinds.PV_INVERTER,
                f"pw{site.pk}-pv",
                f"Rooftop PV {kwp} kWp",
                min(int(kwp * 900), 3680),
                secrets,
                specs={"dc_w": int(kwp * 1000), "tilt_deg": 35, "azimuth_deg": int(rng.choice([135, 180, 225]))},
            )
            added += 1
        if kinds.BATTERY not in have:
            _register(
                site,
                kinds.BATTERY,
                f"pw{site.pk}-battery",
                "Home battery",
                5_000,
                secrets,
                capacity_wh=int(rng.choice([9_500, 13_500])),
                limits={"reserve_pct": int(rng.choice([10, 15, 20]))},
            )
            added += 1
    save_secrets(secrets)
    now = datetime.now(UTC)
    for bat in Device.objects.filter(site__in=homes, kind=kinds.BATTERY).prefetch_related("site__occupants"):
        for user in bat.site.occupants.all():
            ConsentRecord.objects.get_or_create(
                community=community,
                user=user,
                purpose=ConsentRecord.Purpose.BALANCING,
                scope=f"device:{bat.pk}",
                defaults={"text": CONSENT_TEXT, "text_version": "2026-11", "granted_at": now - timedelta(days=60)},
            )
    seg = Segment.objects.filter(node=feeder).first()
    if seg is None:
        seg = services.segment_create(
            community=community,
            node=feeder,
            name="Orchard Road private wire",
            import_limit_w=IMPORT_LIMIT_W,
            export_limit_w=EXPORT_LIMIT_W,
            objective=Segment.Objective.COST,
        )
    dso = Membership.objects.filter(community=community, role=Role.NETWORK_OPERATOR).select_related("user").first()
    if dso is not None:
        for node in (feeder, feeder.parent):
            if node is not None and not NodeOperator.objects.filter(user=dso.user, node=node).exists():
                services.node_operator_assign(community=community, user=dso.user, node=node)
        tomorrow = (now.astimezone(LONDON) + timedelta(days=1)).date()
        ref = f"DSO-BRG-{tomorrow:%Y%m%d}-PEAK"
        if not ConstraintStatement.objects.filter(community=community, reference=ref).exists():
            start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16, 0, tzinfo=LONDON)
            constraint_statement_issue(
                community=community,
                node=feeder,
                reference=ref,
                horizon=ConstraintStatement.Horizon.DAY_AHEAD,
                starts_at=start.astimezone(UTC),
                ends_at=(start + timedelta(hours=3)).astimezone(UTC),
                import_limit_kw=40,
                export_limit_kw=60,
                reason="Evening peak on the Bramley Green primary: hold Orchard Road to 40 kW import.",
                actor=dso.user,
            )
    return seg, added


def _forecasts(sims: list[SimSite], starts: list[datetime]) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    times = pd.DatetimeIndex([s + timedelta(minutes=7.5) for s in starts])
    load = np.zeros(len(starts))
    pv = np.zeros(len(starts))
    for sim in sims:
        spec = sim.spec
        load += np.array([household_demand_mean_w(t.to_pydatetime(), spec.annual_kwh) for t in times])
        if spec.pv is not None:
            pv += np.minimum(
                pv_clearsky_dc_w(spec.pv, times) * selectors.MEAN_CLEARSKY_INDEX * INVERTER_EFFICIENCY,
                spec.pv.inverter_w,
            )
    return load, pv


def seed_history(segment: Segment, *, days: int = HISTORY_DAYS, now: datetime | None = None) -> int:
    """The last ``days`` days of the estate under the controller (see the module docstring)."""
    now = now or datetime.now(UTC)
    end = datetime.fromtimestamp(now.timestamp() // STEP.total_seconds() * STEP.total_seconds(), tz=UTC)
    start = end - timedelta(days=days)
    if ControlStep.objects.filter(segment=segment, at__gte=start).exists():
        return 0
    devices = selectors.segment_devices(segment)
    per_site: dict[int, list[Device]] = {}
    for d in devices:
        per_site.setdefault(d.site_id, []).append(d)
    sims = [SimSite(site_spec(devs[0].site, devs)) for devs in per_site.values()]
    bats = [s.devices[kinds.BATTERY] for s in sims if kinds.BATTERY in s.devices]
    pvs = [s.devices[kinds.PV_INVERTER] for s in sims if kinds.PV_INVERTER in s.devices]
    weather = Weather(seed=segment.community.pk + 99)
    imp, exp, margin = segment.import_limit_w, segment.export_limit_w, segment.margin_w
    rows: list[ControlStep] = []
    plan: mpc.Schedule | None = None
    plan_start = start
    t = start
    k = 0
    while t < end:
        if k % REPLAN_EVERY == 0:
            q0 = selectors.floor_quarter(t)
            starts = [q0 + i * timedelta(minutes=15) for i in range(96)]
            load, pv = _forecasts(sims, starts)
            imp_p, exp_p, _ = tariffs.prices([s.astimezone(LONDON) for s in starts])
            problem = mpc.Problem(
                step_h=0.25,
                load_w=load,
                pv_w=pv,
                import_limit_w=np.full(96, float(imp - margin)),
                export_limit_w=np.full(96, float(exp - margin)),
                import_price_p=imp_p,
                export_price_p=exp_p,
                outdoor_c=np.full(96, 8.0),
                batteries=mpc.Batteries(
                    capacity_wh=np.array([b.capacity_wh for b in bats], float),
                    stored_wh=np.array([b.stored_wh for b in bats], float),
                    reserve_wh=np.array([b.reserve_wh for b in bats], float),
                    max_charge_w=np.array([b.max_charge_w for b in bats], float),
                    max_discharge_w=np.array([b.max_discharge_w for b in bats], float),
                    efficiency=np.array([b.eta for b in bats], float),
                ),
                objective=segment.objective,
                capacity_charge_p_per_kw=float(services.CAPACITY_GBP_PER_KW_YEAR) * 100 * 24 / (365 * 24),
            )
            plan, _ = mpc.solve_fleet(problem, groups=4, direct_limit=0)
            plan_start = q0
        t += STEP
        k += 1
        weather.step(t, STEP.total_seconds())
        for sim in sims:
            sim.step(t, STEP.total_seconds(), weather)
        measured = int(sum(sim.meter.power_w for sim in sims))
        i = min(int((t - plan_start).total_seconds() // 900), 95)
        target = int(plan.net_w[i]) if plan is not None else measured
        fleet = corrective.Fleet(
            setpoint_w=np.array([b.power_w for b in bats], float),
            max_charge_w=np.array([b.max_charge_w for b in bats], float),
            max_discharge_w=np.array([b.max_discharge_w for b in bats], float),
            stored_wh=np.array([b.stored_wh for b in bats], float),
            capacity_wh=np.array([b.capacity_wh for b in bats], float),
            reserve_wh=np.array([b.reserve_wh for b in bats], float),
            efficiency=np.array([b.eta for b in bats], float),
            available=np.ones(len(bats), bool),
        )
        r = corrective.correct(
            measured_net_w=measured,
            target_net_w=target,
            import_limit_w=imp,
            export_limit_w=exp,
            fleet=fleet,
            horizon_s=STEP.total_seconds(),
            margin_w=margin,
            deadband_w=500,
        )
        for b, new in zip(bats, r.setpoint_w.tolist(), strict=True):
            b.handle(Command(uuid.uuid4().hex, "set_power", {"power_w": int(new)}, t + 2 * STEP), t)
        rows.append(
            ControlStep(
                segment=segment,
                at=t,
                measured_net_w=measured,
                target_net_w=r.target_w,
                predicted_net_w=r.predicted_net_w,
                import_limit_w=imp,
                export_limit_w=exp,
                battery_w=int(sum(b.power_w for b in bats)),
                pv_w=int(sum(max(-p.power_w, 0) for p in pvs)),
                correction_w=r.correction_w,
                outcome=ControlStep.Outcome.AT_LIMIT if r.at_limit else ControlStep.Outcome.CORRECTED,
                detail="demo history: simulated estate under the controller",
            )
        )
    ControlStep.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def seed(*, community: Community, stdout=None) -> None:
    seg, added = seed_estate(community)
    if seg is None:
        if stdout is not None:
            stdout.write("  no Orchard Road feeder: skipped the private-wire estate")
        return
    n = seed_history(seg)
    if stdout is not None:
        now = datetime.now(UTC)
        k = selectors.segment_kpis(seg, since=now - timedelta(days=HISTORY_DAYS), until=now)
        homes = selectors.segment_sites(seg).count()
        stdout.write(f"  {seg.name}: {homes} homes, {added} devices added, {n} control records for the last week")
        if k is not None:
            stdout.write(
                f"  last {k.days:.1f} days: self-sufficiency {k.self_sufficiency_pct or 0:.0f}%, "
                f"peak import {k.peak_import_w / 1000:.1f} kW (without storage {k.baseline_peak_import_w / 1000:.1f}), "
                f"avoided red-band DUoS £{k.avoided_duos_gbp_per_year}/yr + capacity £{k.avoided_capacity_gbp_per_year}/yr "
                f"= £{k.avoided_gbp_per_home_year} per home per year (seed 002 C.8: ~£75)"
            )
