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

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import transaction

from assets import services as asset_services
from assets.domain import kinds
from assets.domain.home import SimSite
from assets.models import Device
from assets.mqtt.simulator import load_secrets, save_secrets, site_spec
from community.models import Community, ConsentRecord, ConstraintStatement, Membership, NetworkNode, Role, Site
from community.services import constraint_statement_issue
from vpp.balancing import estate_sim, selectors, services
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
    imp, exp = segment.import_limit_w, segment.export_limit_w
    run = estate_sim.simulate(
        sims,
        start=start,
        end=end,
        import_limit_w=imp,
        export_limit_w=exp,
        margin_w=segment.margin_w,
        objective=segment.objective,
        weather_seed=segment.community.pk + 99,
        step=STEP,
        replan_every=REPLAN_EVERY,
    )
    rows = [
        ControlStep(
            segment=segment,
            at=t,
            measured_net_w=int(run.net_w[i]),
            target_net_w=int(run.target_w[i]),
            predicted_net_w=int(run.predicted_w[i]),
            import_limit_w=imp,
            export_limit_w=exp,
            battery_w=int(run.battery_w[i]),
            pv_w=int(run.pv_w[i]),
            correction_w=int(run.correction_w[i]),
            outcome=ControlStep.Outcome.AT_LIMIT if run.at_limit[i] else ControlStep.Outcome.CORRECTED,
            detail="demo history: simulated estate under the controller",
        )
        for i, t in enumerate(run.at)
    ]
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
