"""Read paths shared by views, the API, tasks and the PDF."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from community.models import Community, Site
from community.models import NetworkNode as CommunityNode
from planning.domain.buildings import Building
from planning.domain.modelling import OPTION_LABELS, NetworkNode, current_state
from planning.domain.preferences import CRITERIA, CRITERIA_LABELS, preference_table
from planning.domain.reference import DEFAULT_ASSUMPTIONS, merged_assumptions
from planning.models import Attendance, Idea, Milestone, Plan, PlanBuilding, PlanVersion, Scenario, Workshop


def plans_for(community: Community) -> QuerySet[Plan]:
    return Plan.objects.filter(community=community).annotate(
        n_buildings=Count("buildings", distinct=True), n_scenarios=Count("scenarios", distinct=True)
    )


def plan_for(community: Community, plan_id: int) -> Plan:
    plan = Plan.objects.filter(community=community, pk=plan_id).first()
    if plan is None:
        raise Http404("No such plan.")
    return plan


def scenario_for(plan: Plan, scenario_id: int) -> Scenario:
    s = Scenario.objects.filter(plan=plan, pk=scenario_id).first()
    if s is None:
        raise Http404("No such scenario.")
    return s


def workshop_for(plan: Plan, workshop_id: int) -> Workshop:
    w = Workshop.objects.filter(plan=plan, pk=workshop_id).first()
    if w is None:
        raise Http404("No such workshop.")
    return w


def version_for(plan: Plan, number: int) -> PlanVersion:
    v = PlanVersion.objects.filter(plan=plan, number=number).first()
    if v is None:
        raise Http404("No such version.")
    return v


def plan_assumptions(plan: Plan) -> dict[str, float]:
    return merged_assumptions(plan.assumptions)


def assumption_rows(plan: Plan) -> list[dict]:
    values = plan_assumptions(plan)
    rows = []
    for a in DEFAULT_ASSUMPTIONS:
        rows.append(
            {
                "key": a.key,
                "label": a.label,
                "group": a.group,
                "value": values[a.key],
                "display": format(values[a.key], "g"),
                "default": format(a.value, "g"),
                "unit": a.unit,
                "source": a.source,
                "overridden": a.key in plan.assumptions,
            }
        )
    return rows


# --- area, network --------------------------------------------------------------


def _f(v) -> float | None:
    return None if v is None else float(v)


def plan_buildings(plan: Plan) -> list[Building]:
    out = []
    for b in plan.buildings.all().order_by("ref"):
        out.append(
            Building(
                ref=b.ref,
                building_type=b.building_type,
                floor_area_m2=float(b.floor_area_m2),
                lat=float(b.latitude),
                lon=float(b.longitude),
                epc_band=b.epc_band or None,
                heating_fuel=b.heating_fuel,
                annual_elec_kwh=_f(b.annual_elec_kwh),
                annual_heating_fuel_kwh=_f(b.annual_heating_fuel_kwh),
                roof_area_m2=_f(b.roof_area_m2),
                roof_tilt_deg=_f(b.roof_tilt_deg),
                roof_azimuth_deg=_f(b.roof_azimuth_deg),
                existing_pv_kwp=float(b.existing_pv_kwp),
                node=str(b.network_node_id) if b.network_node_id else None,
                consumption_source="meter" if b.consumption_source == PlanBuilding.Source.METER else "",
            )
        )
    return out


def plan_nodes(plan: Plan) -> list[NetworkNode]:
    nodes = (
        CommunityNode.objects.filter(community=plan.community).select_related("planning_load").order_by("kind", "name")
    )
    out = []
    for n in nodes:
        load = getattr(n, "planning_load", None)
        out.append(
            NetworkNode(
                ref=str(n.pk),
                parent=str(n.parent_id) if n.parent_id else None,
                capacity_kw=float(n.import_capacity_kw) or 0.001,
                export_capacity_kw=float(n.export_capacity_kw),
                existing_peak_kw=float(load.peak_kw) if load else None,
                name=n.name,
            )
        )
    return out


def headroom_rows(plan: Plan) -> list[dict]:
    rows = []
    for n in (
        CommunityNode.objects.filter(community=plan.community)
        .select_related("planning_load", "parent")
        .order_by("kind", "name")
    ):
        load = getattr(n, "planning_load", None)
        peak = load.peak_kw if load else None
        head = (n.import_capacity_kw - peak) if peak is not None else None
        rows.append(
            {
                "node": n,
                "peak_kw": peak,
                "headroom_kw": head,
                "headroom_pct": (head / n.import_capacity_kw * 100).quantize(Decimal("1"))
                if head is not None and n.import_capacity_kw
                else None,
                "source": load.source if load else "",
            }
        )
    return rows


def area_points(plan: Plan, *, with_addresses: bool = False) -> list[dict]:
    """Buildings for the map; addresses only for those who may see them
    (community charts are otherwise pseudonymous: type and feeder)."""
    return [
        {
            "lat": float(b.latitude),
            "lon": float(b.longitude),
            "type": b.building_type,
            "label": (b.address or b.ref) if with_addresses else b.get_building_type_display(),
            "node": b.network_node.name if b.network_node else "no feeder",
        }
        for b in plan.buildings.select_related("network_node")
    ]


def plan_current_state(plan: Plan):
    """Domain current state, or None when the plan has no buildings yet.

    Cached under a digest of its inputs (buildings, network, assumptions), so a
    page view does not rerun the 8,760-hour model unless something changed.
    """
    buildings = plan_buildings(plan)
    if not buildings:
        return None
    nodes = plan_nodes(plan)
    assumptions = plan_assumptions(plan)
    year = timezone.now().year
    payload = json.dumps(
        [[asdict(b) for b in buildings], [asdict(n) for n in nodes], assumptions, year], sort_keys=True, default=str
    )
    key = f"planning:current-state:{plan.pk}:{hashlib.sha256(payload.encode()).hexdigest()}"
    state = cache.get(key)
    if state is None:
        state = current_state(buildings, nodes, current_year=year, assumptions=assumptions)
        cache.set(key, state, timeout=24 * 3600)
    return state


def metered_annual_kwh(site_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Annual electricity use per site from its meter readings (assets app).

    Use = import - export + generation (generation meter, if any) per period.
    A site that exports without a generation meter has panels we cannot see,
    so its use is unknown and the estimate stays.  Annualised with the
    domestic load shape: a fortnight of January readings is a bigger share
    of the year than a fortnight of June.  Needs 3 days of readings in the
    last year; the note says how many days it rests on.
    """
    try:
        from assets.models import IntervalReading, Meter
    except ImportError:  # the assets app is optional for planning
        return {}
    from planning.domain.profiles import electricity_shape
    from planning.domain.weather import HOURS

    end = timezone.now()
    start = end - timedelta(days=365)
    shape = electricity_shape(True)
    rows = IntervalReading.objects.filter(
        meter__site_id__in=site_ids, period_start__gte=start, period_start__lt=end
    ).values_list("meter__site_id", "meter__kind", "period_start", "period_minutes", "import_wh", "export_wh")
    per_site: dict[int, dict] = {}
    for site_id, kind, ts, minutes, imp, exp in rows.iterator():
        d = per_site.setdefault(site_id, {"wh": 0, "export": 0, "gen": 0, "hours": set(), "minutes": 0})
        if kind == Meter.Kind.GENERATION:
            d["gen"] += exp or 0
            continue
        d["wh"] += (imp or 0) - (exp or 0)
        d["export"] += exp or 0
        d["minutes"] += minutes or 30
        year_start = ts.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        d["hours"].add(min(int((ts - year_start).total_seconds() // 3600), HOURS - 1))
    out: dict[int, tuple[int, str]] = {}
    for site_id, d in per_site.items():
        days = d["minutes"] / 1440
        if days < 3:
            continue
        if d["export"] > 0 and d["gen"] == 0:
            continue
        use_wh = d["wh"] + d["gen"]
        if use_wh <= 0:
            continue
        hours = np.fromiter(d["hours"], dtype=np.int64)
        share = float(shape[hours].sum())
        if share <= 0:
            continue
        annual = int(round(use_wh / 1000 / share))
        note = (
            f"annualised from {days:.0f} days of meter readings" if days < 360 else "last 12 months of meter readings"
        )
        out[site_id] = (annual, note)
    return out


def site_pv_kwp(site_ids: list[int]) -> dict[int, float]:
    """Solar already installed at each site (the assets app's device registry)."""
    try:
        from assets.models import Device
    except ImportError:
        return {}
    out: dict[int, float] = {}
    for site_id, watts in Device.objects.filter(site_id__in=site_ids, kind="pv").values_list(
        "site_id", "rated_power_w"
    ):
        out[site_id] = out.get(site_id, 0.0) + (watts or 0) / 1000.0
    return out


def sites_for_plan(plan: Plan) -> QuerySet[Site]:
    return Site.objects.filter(community=plan.community).select_related("network_node")


# --- scenarios ----------------------------------------------------------------


def scenario_options(scenario: Scenario) -> list:
    from planning.domain.modelling import OptionChoice

    return [
        OptionChoice(
            key=o.key,
            kind=o.kind,
            label=o.label,
            take_up={int(y): float(p) / 100.0 for y, p in o.take_up.items()},
            params=dict(o.params),
        )
        for o in scenario.options.all()
    ]


def scenario_digest(scenario: Scenario) -> str:
    """Hash of everything a result depends on; a stored result is stale when it differs."""
    plan = scenario.plan
    payload = {
        "years": [scenario.start_year, scenario.end_year],
        "options": [[o.key, o.kind, o.params, o.take_up] for o in scenario.options.all()],
        "assumptions": plan.assumptions,
        "buildings": [asdict(b) for b in plan_buildings(plan)],
        "nodes": [asdict(n) for n in plan_nodes(plan)],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def scenario_is_stale(scenario: Scenario) -> bool:
    return scenario.status == Scenario.Status.DONE and scenario.inputs_digest != scenario_digest(scenario)


def computed_scenarios(plan: Plan) -> list[Scenario]:
    return list(plan.scenarios.filter(status=Scenario.Status.DONE, result__isnull=False))


def comparison_rows(scenarios: list[Scenario]) -> list[dict]:
    rows = []
    for s in scenarios:
        r = s.result or {}
        end = (r.get("years") or [{}])[-1]
        rows.append(
            {
                "scenario": s,
                "capex": Decimal(r.get("total_capex_gbp", "0")),
                "benefit": Decimal(r.get("annual_net_benefit_gbp", "0")),
                "payback": r.get("simple_payback_years"),
                "carbon_t": round(r.get("carbon_saved_cumulative_kg", 0) / 1000),
                "carbon_end_t": round(end.get("carbon_saved_kg", 0) / 1000, 1),
                "self_suff": round(100 * r.get("self_sufficiency_end", 0)),
                "self_suff_base": round(100 * r.get("self_sufficiency_baseline", 0)),
                "overloaded": [n for n in r.get("nodes", []) if n.get("overloaded_years")],
                "bill_savings": Decimal(end.get("bill_savings_gbp", "0")),
            }
        )
    return rows


# --- engagement --------------------------------------------------------------


def workshops(plan: Plan) -> QuerySet[Workshop]:
    return plan.workshops.annotate(
        n_invited=Count("attendance", filter=Q(attendance__invited=True), distinct=True),
        n_attended=Count("attendance", filter=Q(attendance__attended=True), distinct=True),
        n_ideas=Count("ideas", distinct=True),
    )


def attendance(workshop: Workshop) -> QuerySet[Attendance]:
    return workshop.attendance.select_related("user").order_by(
        "-attended", "user__last_name", "user__first_name", "name"
    )


def ideas(plan: Plan) -> QuerySet[Idea]:
    return plan.ideas.select_related("workshop")


def preference_summary(plan: Plan) -> list[dict]:
    """Per option: overall spread and per-criterion spreads, most supported first."""
    records = []
    for p in plan.preferences.all():
        who = f"u{p.user_id}" if p.user_id else f"p:{p.participant}"
        records.append((who, p.option_kind, p.criterion, p.score))
    table = preference_table(records)
    rows = []
    for kind, crit in table.items():
        overall = crit.get("overall")
        rows.append(
            {
                "kind": kind,
                "label": OPTION_LABELS.get(kind, kind),
                "overall": overall,
                "criteria": [(CRITERIA_LABELS[c], crit[c]) for c in CRITERIA if c != "overall" and c in crit],
            }
        )
    rows.sort(key=lambda r: -(r["overall"].mean if r["overall"] else 0))
    return rows


def my_preferences(plan: Plan, user) -> dict[tuple[str, str], int]:
    return {(p.option_kind, p.criterion): p.score for p in plan.preferences.filter(user=user)}


def milestones(plan: Plan) -> QuerySet[Milestone]:
    return plan.milestones.all()


def latest_version(plan: Plan) -> PlanVersion | None:
    return plan.versions.defer("pdf").first()


def versions(plan: Plan) -> QuerySet[PlanVersion]:
    return plan.versions.defer("pdf", "snapshot")
