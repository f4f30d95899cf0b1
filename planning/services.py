"""Write paths of the Local Area Energy Plan: one function per use case,
keyword-only, one transaction, DomainError with a message a person can act on."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from community import services as community_services
from community.errors import DomainError
from community.models import Community, Site
from community.models import NetworkNode as CommunityNode
from planning import selectors
from planning.domain import csvio
from planning.domain.errors import PlanningError
from planning.domain.modelling import BUILDING_OPTIONS, OPTION_KINDS, OPTION_LABELS, run_scenario, take_up_by_year
from planning.domain.preferences import CRITERIA, ranking_to_scores, validate_score
from planning.domain.reference import ASSUMPTIONS_BY_KEY, EPC_BANDS, merged_assumptions
from planning.models import (
    Attendance,
    Idea,
    Milestone,
    NodeLoad,
    Plan,
    PlanBuilding,
    PlanVersion,
    Preference,
    Scenario,
    ScenarioOption,
    Workshop,
)

audit = community_services.audit_record

SCENARIO_COMPUTE_TASK = "planning.tasks.scenario_compute"


def _domain(exc: PlanningError, field: str | None = None) -> DomainError:
    return DomainError(str(exc), field=field)


def _this_year() -> int:
    return timezone.now().year


# --- plans --------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, community: Community, title: str, area_description: str = "", actor: Any = None) -> Plan:
    title = (title or "").strip()
    if not title:
        raise DomainError("A plan needs a title.", field="title")
    plan = Plan.objects.create(
        community=community,
        title=title,
        area_description=area_description.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit(actor=actor, action="plan.create", summary=f"Started plan {title}", community=community, obj=plan)
    return plan


@transaction.atomic
def plan_set_assumptions(*, plan: Plan, values: dict[str, Any], actor: Any = None) -> Plan:
    """Override defaults; a blank value (or the default itself) removes the override."""
    overrides = dict(plan.assumptions)
    for key, raw in values.items():
        if key not in ASSUMPTIONS_BY_KEY:
            raise DomainError(f"Unknown assumption {key!r}.", field=key)
        text = str(raw).strip() if raw is not None else ""
        if text == "":
            overrides.pop(key, None)
            continue
        try:
            v = float(Decimal(text))
        except (InvalidOperation, ValueError):
            raise DomainError(f"{ASSUMPTIONS_BY_KEY[key].label}: {text!r} is not a number.", field=key) from None
        if v == ASSUMPTIONS_BY_KEY[key].value:
            overrides.pop(key, None)
        else:
            overrides[key] = v
    try:
        merged_assumptions(overrides)
    except PlanningError as exc:
        raise _domain(exc) from None
    before = plan.assumptions
    plan.assumptions = overrides
    plan.save(update_fields=["assumptions", "updated_at"])
    audit(
        actor=actor,
        action="plan.assumptions",
        summary=f"Changed assumptions of {plan.title}",
        community=plan.community,
        obj=plan,
        changes={"before": before, "after": overrides},
    )
    return plan


# --- buildings --------------------------------------------------------------------------

SITE_TYPES = {
    Site.Kind.HOME: ("house", 90),
    Site.Kind.SCHOOL: ("school", 1800),
    Site.Kind.COMMUNITY_BUILDING: ("community", 400),
    Site.Kind.BUSINESS: ("office", 300),
}


@transaction.atomic
def plan_sync_sites(*, plan: Plan, actor: Any = None) -> int:
    """Bring the community's sites into the plan's area (idempotent).

    Known consumption comes from meter readings where the assets app has
    them, else from the site record; floor areas of sites are typical values
    (marked as assumed) until the convenor imports better ones.
    """
    sites = list(selectors.sites_for_plan(plan))
    metered = selectors.metered_annual_kwh([s.pk for s in sites])
    pv = selectors.site_pv_kwp([s.pk for s in sites])
    n = 0
    for site in sites:
        btype, area = SITE_TYPES.get(site.kind, ("house", 90))
        existing = PlanBuilding.objects.filter(plan=plan, site=site).first()
        if site.pk in metered:
            elec, source, note = metered[site.pk][0], PlanBuilding.Source.METER, metered[site.pk][1]
        elif site.annual_consumption_kwh:
            elec, source, note = site.annual_consumption_kwh, PlanBuilding.Source.SITE, "annual use on the site record"
        else:
            elec, source, note = None, PlanBuilding.Source.ESTIMATE, ""
        data = dict(
            address=site.address[:300],
            postcode=site.postcode,
            latitude=site.latitude,
            longitude=site.longitude,
            network_node=site.network_node,
            annual_elec_kwh=elec,
            consumption_source=source,
            consumption_note=note,
            existing_pv_kwp=Decimal(str(round(pv.get(site.pk, 0.0), 2))),
        )
        if existing is None:
            ref = f"site-{site.pk}"
            if PlanBuilding.objects.filter(plan=plan, ref=ref).exists():
                continue
            PlanBuilding.objects.create(
                plan=plan, site=site, ref=ref, building_type=btype, floor_area_m2=area, floor_area_assumed=True, **data
            )
        else:
            for k, v in data.items():
                setattr(existing, k, v)
            existing.save()
        n += 1
    audit(
        actor=actor,
        action="plan.sync_sites",
        summary=f"Brought {n} sites into {plan.title}",
        community=plan.community,
        obj=plan,
    )
    return n


@dataclass
class ImportOutcome:
    rows: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    saved: int = 0
    dry_run: bool = True

    @property
    def ok(self) -> bool:
        return not self.errors


def _dec(v, places="0.1"):
    return None if v is None else Decimal(str(v)).quantize(Decimal(places))


@transaction.atomic
def plan_buildings_import(*, plan: Plan, text: str, dry_run: bool, actor: Any = None) -> ImportOutcome:
    """Check (dry run) or save a buildings CSV.  Any bad row: nothing saved."""
    try:
        parsed = csvio.parse_buildings_csv(text)
    except PlanningError as exc:
        raise _domain(exc, "file") from None
    nodes = {n.code: n for n in CommunityNode.objects.filter(community=plan.community)}
    errors = list(parsed.errors)
    for r in parsed.rows:
        if r.building.node and r.building.node not in nodes:
            errors.append(
                csvio.RowError(
                    r.line,
                    f"network node {r.building.node!r} is not in the community's network (use the node's DNO code).",
                )
            )
    errors.sort(key=lambda e: e.line)
    outcome = ImportOutcome(rows=parsed.rows, errors=errors, dry_run=dry_run)
    if errors or dry_run:
        return outcome
    for r in parsed.rows:
        b = r.building
        defaults = dict(
            address=r.address[:300],
            postcode=r.postcode[:10],
            latitude=_dec(b.lat, "0.000001"),
            longitude=_dec(b.lon, "0.000001"),
            building_type=b.building_type,
            floor_area_m2=_dec(b.floor_area_m2),
            floor_area_assumed=False,
            epc_band=b.epc_band or "",
            heating_fuel=b.heating_fuel,
            annual_elec_kwh=None if b.annual_elec_kwh is None else int(round(b.annual_elec_kwh)),
            annual_heating_fuel_kwh=None
            if b.annual_heating_fuel_kwh is None
            else int(round(b.annual_heating_fuel_kwh)),
            consumption_source=PlanBuilding.Source.IMPORT
            if (b.annual_elec_kwh is not None or b.annual_heating_fuel_kwh is not None)
            else PlanBuilding.Source.ESTIMATE,
            consumption_note="",
            roof_area_m2=_dec(b.roof_area_m2),
            roof_tilt_deg=_dec(b.roof_tilt_deg),
            roof_azimuth_deg=_dec(b.roof_azimuth_deg),
            existing_pv_kwp=_dec(b.existing_pv_kwp, "0.01") or Decimal("0"),
            network_node=nodes.get(b.node) if b.node else None,
        )
        PlanBuilding.objects.update_or_create(plan=plan, ref=b.ref, defaults=defaults)
    outcome.saved = len(parsed.rows)
    audit(
        actor=actor,
        action="plan.buildings_import",
        summary=f"Imported {outcome.saved} buildings into {plan.title}",
        community=plan.community,
        obj=plan,
    )
    return outcome


@transaction.atomic
def plan_network_import(*, plan: Plan, text: str, dry_run: bool, source: str = "", actor: Any = None) -> ImportOutcome:
    """DNO open-data capacities and peaks into the community's network tree.

    New nodes and capacity changes go through the community's services (so
    they are validated and audited there); measured peaks are kept here as
    NodeLoad rows.  Node refs are the DNO codes.
    """
    existing = {n.code: n for n in CommunityNode.objects.filter(community=plan.community)}
    try:
        parsed = csvio.parse_network_csv(text, existing_refs=set(existing))
    except PlanningError as exc:
        raise _domain(exc, "file") from None
    outcome = ImportOutcome(rows=parsed.rows, errors=list(parsed.errors), dry_run=dry_run)
    if outcome.errors or dry_run:
        return outcome
    # parents before children
    pending = list(parsed.rows)
    done: dict[str, CommunityNode] = dict(existing)
    try:
        with transaction.atomic():
            while pending:
                progressed = False
                for r in list(pending):
                    if r.parent_ref is not None and r.parent_ref not in done:
                        continue
                    node = done.get(r.ref)
                    export = (
                        r.export_capacity_kw
                        if r.export_capacity_kw is not None
                        else (float(node.export_capacity_kw) if node else r.capacity_kw)
                    )
                    if node is None:
                        node = community_services.network_node_create(
                            community=plan.community,
                            kind=r.kind,
                            name=r.name,
                            code=r.ref,
                            import_capacity_kw=_dec(r.capacity_kw),
                            export_capacity_kw=_dec(export),
                            parent=done.get(r.parent_ref) if r.parent_ref else None,
                            actor=actor,
                        )
                    else:
                        community_services.network_node_update_capacity(
                            node=node,
                            import_capacity_kw=_dec(r.capacity_kw),
                            export_capacity_kw=_dec(export),
                            actor=actor,
                        )
                    if r.peak_kw is not None:
                        NodeLoad.objects.update_or_create(
                            node=node, defaults={"peak_kw": _dec(r.peak_kw), "source": source[:200]}
                        )
                    done[r.ref] = node
                    pending.remove(r)
                    progressed = True
                if not progressed:
                    raise DomainError("The file's parent links form a loop; nothing was saved.")
    except DomainError as exc:
        line = next((r.line for r in parsed.rows if r in pending), None)
        outcome.errors.append(csvio.RowError(line or 1, exc.message))
        transaction.set_rollback(True)
        return outcome
    outcome.saved = len(parsed.rows)
    audit(
        actor=actor,
        action="plan.network_import",
        summary=f"Imported {outcome.saved} network nodes",
        community=plan.community,
        obj=plan,
    )
    return outcome


# --- scenarios ------------------------------------------------------------------------


def _years(start_year: Any, end_year: Any) -> tuple[int, int]:
    try:
        s, e = int(start_year), int(end_year)
    except (TypeError, ValueError):
        raise DomainError("Years must be whole numbers such as 2026.", field="start_year") from None
    now = _this_year()
    if s < now:
        raise DomainError(f"The scenario cannot start in {s}: that is before this year ({now}).", field="start_year")
    if e < s:
        raise DomainError("The end year must not be before the start year.", field="end_year")
    if e > 2060:
        raise DomainError("Plans here run to 2060 at the latest.", field="end_year")
    return s, e


@transaction.atomic
def scenario_create(
    *,
    plan: Plan,
    name: str,
    start_year: Any,
    end_year: Any,
    description: str = "",
    copy_from: Scenario | None = None,
    pathway: str = "",
    actor: Any = None,
) -> Scenario:
    name = (name or "").strip()
    if not name:
        raise DomainError("A scenario needs a name.", field="name")
    if Scenario.objects.filter(plan=plan, name=name).exists():
        raise DomainError(f"This plan already has a scenario called {name!r}.", field="name")
    s, e = _years(start_year, end_year)
    scenario = Scenario.objects.create(
        plan=plan,
        name=name,
        start_year=s,
        end_year=e,
        description=description,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if pathway:
        from planning.domain.pathways import PATHWAYS_BY_KEY, pathway_take_up

        if pathway not in PATHWAYS_BY_KEY:
            raise DomainError(f"Unknown pathway {pathway!r}.", field="pathway")
        if copy_from is not None:
            raise DomainError("Start from a pathway or from a copy, not both.", field="pathway")
        p = PATHWAYS_BY_KEY[pathway]
        if not description:
            scenario.description = f"{p.label}: {p.story}"
            scenario.save(update_fields=["description"])
        for kind, take_up, params in pathway_take_up(p, s, e):
            ScenarioOption.objects.create(
                scenario=scenario,
                key=f"{kind}-1",
                kind=kind,
                label=OPTION_LABELS[kind],
                params=params,
                take_up={str(y): v for y, v in sorted(take_up.items())},
            )
    if copy_from is not None:
        for o in copy_from.options.all():
            ScenarioOption.objects.create(
                scenario=scenario, key=o.key, kind=o.kind, label=o.label, params=o.params, take_up=o.take_up
            )
    audit(
        actor=actor,
        action="scenario.create",
        summary=f"Created scenario {name}",
        community=plan.community,
        obj=scenario,
    )
    return scenario


TAKE_UP_RE = re.compile(r"^\s*(\d{4})\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*%?\s*$")


def parse_take_up(text: str) -> dict[int, float]:
    """'2026: 10, 2030: 40%' -> {2026: 10.0, 2030: 40.0} (percent)."""
    out: dict[int, float] = {}
    for part in re.split(r"[,;\n]+", text or ""):
        if not part.strip():
            continue
        m = TAKE_UP_RE.match(part)
        if not m:
            raise DomainError(f"Take-up {part.strip()!r} is not 'year: percent' (e.g. 2030: 40).", field="take_up")
        out[int(m.group(1))] = float(m.group(2))
    if not out:
        raise DomainError("Give the take-up for at least one year, e.g. 2026: 10, 2030: 40.", field="take_up")
    return out


PARAM_SPEC = {
    "community_solar": {"kwp": float, "tilt_deg": float, "azimuth_deg": float, "node": str},
    "wind_turbine": {"rated_kw": float, "mean_speed_ms": float, "node": str},
    "retrofit": {"target_band": str},
    "ev_charger": {"smart": float},
}


@transaction.atomic
def scenario_option_save(
    *,
    scenario: Scenario,
    kind: str,
    take_up: dict[int, float],
    params: dict | None = None,
    label: str = "",
    key: str | None = None,
    actor: Any = None,
) -> ScenarioOption:
    """Add or change an option of a scenario; take-up in percent by year."""
    if kind not in OPTION_KINDS:
        raise DomainError(f"Unknown option {kind!r}.", field="kind")
    if scenario.status in (Scenario.Status.QUEUED, Scenario.Status.RUNNING):
        raise DomainError("The scenario is being computed; change it when that has finished.")
    label = (label or "").strip() or OPTION_LABELS[kind]
    try:
        take_up_by_year(
            {y: p / 100.0 for y, p in take_up.items()},
            list(range(scenario.start_year, scenario.end_year + 1)),
            current_year=_this_year(),
            label=label,
        )
        for y in take_up:
            if not scenario.start_year <= y <= scenario.end_year:
                raise PlanningError(
                    f"{label}: {y} is outside the scenario's years {scenario.start_year}-{scenario.end_year}."
                )
    except PlanningError as exc:
        raise _domain(exc, "take_up") from None
    clean: dict[str, Any] = {}
    spec = PARAM_SPEC.get(kind, {})
    for k, v in (params or {}).items():
        if k not in spec:
            raise DomainError(f"{label}: unknown setting {k!r}.", field=k)
        if v in (None, ""):
            continue
        if spec[k] is float:
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise DomainError(f"{label}: {k} must be a number.", field=k) from None
            if fv < 0:
                raise DomainError(f"{label}: {k} cannot be negative.", field=k)
            clean[k] = fv
        else:
            clean[k] = str(v).strip()
    if kind == "community_solar" and not clean.get("kwp"):
        raise DomainError("Community solar array: give its size in kWp.", field="kwp")
    if kind == "wind_turbine" and not clean.get("rated_kw"):
        raise DomainError("Wind turbine: give its rated power in kW.", field="rated_kw")
    if kind == "retrofit":
        clean.setdefault("target_band", "C")
        if clean["target_band"] not in EPC_BANDS:
            raise DomainError("Retrofit target must be an EPC band A-G.", field="target_band")
    if kind in ("community_solar",) and "tilt_deg" in clean and clean["tilt_deg"] > 90:
        raise DomainError("Tilt must be between 0 and 90 degrees.", field="tilt_deg")
    if "node" in clean:
        node = CommunityNode.objects.filter(community=scenario.plan.community, code=clean["node"]).first()
        if node is None:
            raise DomainError(f"Network node {clean['node']!r} is not in the community's network.", field="node")
        clean["node"] = str(node.pk)
        clean["node_code"] = node.code
    if kind in BUILDING_OPTIONS:
        # one option of each building-level kind per scenario: saving the kind
        # again changes that option
        same = scenario.options.filter(kind=kind).exclude(key=key or "").first()
        if same is not None:
            if key:
                raise DomainError(f"The scenario already has {same.label}; change that option instead.", field="kind")
            key = same.key
    key = key or slugify(f"{kind}-{scenario.options.filter(kind=kind).count() + 1}")[:40]
    option, _ = ScenarioOption.objects.update_or_create(
        scenario=scenario,
        key=key,
        defaults={
            "kind": kind,
            "label": label,
            "params": clean,
            "take_up": {str(y): p for y, p in sorted(take_up.items())},
        },
    )
    if scenario.status == Scenario.Status.FAILED:
        Scenario.objects.filter(pk=scenario.pk).update(status=Scenario.Status.DRAFT, error="")
    audit(
        actor=actor,
        action="scenario.option",
        summary=f"Set {label} in {scenario.name}",
        community=scenario.plan.community,
        obj=option,
        changes={"take_up": option.take_up, "params": clean},
    )
    return option


@transaction.atomic
def scenario_option_delete(*, option: ScenarioOption, actor: Any = None) -> None:
    scenario = option.scenario
    if scenario.status in (Scenario.Status.QUEUED, Scenario.Status.RUNNING):
        raise DomainError("The scenario is being computed; change it when that has finished.")
    audit(
        actor=actor,
        action="scenario.option_delete",
        summary=f"Removed {option} from {scenario.name}",
        community=scenario.plan.community,
        obj=scenario,
    )
    option.delete()


@transaction.atomic
def scenario_request_compute(*, scenario: Scenario, actor: Any = None) -> Scenario:
    """Queue the computation (once: a second request while queued changes nothing)."""
    if not scenario.plan.buildings.exists():
        raise DomainError("The plan has no buildings yet: bring in the community's sites or import a CSV first.")
    claimed = (
        Scenario.objects.filter(pk=scenario.pk)
        .exclude(status__in=[Scenario.Status.QUEUED, Scenario.Status.RUNNING])
        .update(status=Scenario.Status.QUEUED, progress=0.0, progress_message="Waiting for a worker", error="")
    )
    scenario.refresh_from_db()
    if claimed:
        # by name through Celery's registry: planning.tasks imports this
        # module, never the other way round (issue 14 item 17)
        transaction.on_commit(lambda: current_app.tasks[SCENARIO_COMPUTE_TASK].delay(scenario.pk))
        audit(
            actor=actor,
            action="scenario.compute",
            summary=f"Asked to compute {scenario.name}",
            community=scenario.plan.community,
            obj=scenario,
        )
    return scenario


def scenario_compute(*, scenario_id: int) -> Scenario:
    """Run the model (the Celery task calls this).  Idempotent: a scenario that
    is not queued is left as it is; the claim is a compare-and-set so two
    workers never both compute it."""
    if not Scenario.objects.filter(pk=scenario_id, status=Scenario.Status.QUEUED).update(
        status=Scenario.Status.RUNNING, progress=0.01, progress_message="Starting"
    ):
        return Scenario.objects.get(pk=scenario_id)
    scenario = Scenario.objects.select_related("plan").get(pk=scenario_id)
    plan = scenario.plan
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        if fraction - last[0] >= 0.04 or fraction >= 0.99:
            last[0] = fraction
            Scenario.objects.filter(pk=scenario_id).update(
                progress=min(max(fraction, 0.0), 0.99), progress_message=message[:120]
            )

    try:
        digest = selectors.scenario_digest(scenario)
        result = run_scenario(
            selectors.plan_buildings(plan),
            selectors.plan_nodes(plan),
            selectors.scenario_options(scenario),
            start_year=scenario.start_year,
            end_year=scenario.end_year,
            current_year=min(_this_year(), scenario.start_year),
            assumptions=selectors.plan_assumptions(plan),
            seed=scenario.pk,
            progress=progress,
        )
    except PlanningError as exc:
        Scenario.objects.filter(pk=scenario_id).update(
            status=Scenario.Status.FAILED, error=str(exc), progress=0.0, progress_message=""
        )
        return Scenario.objects.get(pk=scenario_id)
    except Exception:
        Scenario.objects.filter(pk=scenario_id).update(
            status=Scenario.Status.FAILED,
            progress=0.0,
            progress_message="",
            error="The model hit an internal error; the operators have the details.",
        )
        raise
    with transaction.atomic():
        Scenario.objects.filter(pk=scenario_id).update(
            status=Scenario.Status.DONE,
            progress=1.0,
            progress_message="Done",
            result=result.to_dict(),
            inputs_digest=digest,
            computed_at=timezone.now(),
            error="",
        )
    return Scenario.objects.get(pk=scenario_id)


# --- engagement ------------------------------------------------------------------------


@transaction.atomic
def workshop_create(
    *, plan: Plan, title: str, starts_at: datetime, location: str = "", description: str = "", actor: Any = None
) -> Workshop:
    title = (title or "").strip()
    if not title:
        raise DomainError("A workshop needs a title.", field="title")
    if starts_at is None or timezone.is_naive(starts_at):
        raise DomainError("Give the workshop's date and time.", field="starts_at")
    w = Workshop.objects.create(
        plan=plan,
        title=title,
        starts_at=starts_at,
        location=location.strip(),
        description=description.strip(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit(actor=actor, action="workshop.create", summary=f"Scheduled {title}", community=plan.community, obj=w)
    return w


@transaction.atomic
def workshop_record(*, workshop: Workshop, notes: str, held: bool, actor: Any = None) -> Workshop:
    if held and workshop.starts_at > timezone.now():
        raise DomainError("A workshop cannot be marked as held before it has started.", field="held")
    workshop.notes = notes
    workshop.held = held
    workshop.save(update_fields=["notes", "held"])
    audit(
        actor=actor,
        action="workshop.record",
        summary=f"Recorded notes for {workshop.title}",
        community=workshop.plan.community,
        obj=workshop,
    )
    return workshop


@transaction.atomic
def workshop_invite(*, workshop: Workshop, users: list, actor: Any = None) -> int:
    members = set(workshop.plan.community.memberships.values_list("user_id", flat=True))
    outsiders = [u.username for u in users if u.pk not in members]
    if outsiders:
        raise DomainError(f"Only members can be invited: {', '.join(outsiders)}.", field="users")
    n = 0
    for u in users:
        a, created = Attendance.objects.get_or_create(workshop=workshop, user=u, defaults={"invited": True})
        if not a.invited:
            a.invited = True
            a.save(update_fields=["invited"])
        n += 1
    audit(
        actor=actor,
        action="workshop.invite",
        summary=f"Invited {n} people to {workshop.title}",
        community=workshop.plan.community,
        obj=workshop,
    )
    return n


@transaction.atomic
def attendance_record(
    *, workshop: Workshop, attended: bool = True, user: Any = None, name: str = "", actor: Any = None
) -> Attendance:
    name = (name or "").strip()
    if user is None and not name:
        raise DomainError("Give the person's name (or pick a member).", field="name")
    if user is not None:
        if not workshop.plan.community.memberships.filter(user=user).exists():
            raise DomainError("That person is not a member of the community.", field="user")
        a, _ = Attendance.objects.get_or_create(workshop=workshop, user=user)
    else:
        a = Attendance.objects.filter(workshop=workshop, user__isnull=True, name=name).first() or Attendance(
            workshop=workshop, name=name
        )
    a.attended = attended
    a.save()
    return a


@transaction.atomic
def idea_add(
    *,
    plan: Plan,
    text: str,
    workshop: Workshop | None = None,
    raised_by: str = "",
    option_kind: str = "",
    actor: Any = None,
) -> Idea:
    text = (text or "").strip()
    if not text:
        raise DomainError("Write the idea down first.", field="text")
    if option_kind and option_kind not in OPTION_KINDS:
        raise DomainError(f"Unknown option {option_kind!r}.", field="option_kind")
    if workshop is not None and workshop.plan_id != plan.pk:
        raise DomainError("That workshop belongs to another plan.", field="workshop")
    idea = Idea.objects.create(
        plan=plan, workshop=workshop, text=text, raised_by=raised_by.strip(), option_kind=option_kind
    )
    audit(actor=actor, action="idea.add", summary=f"Idea: {text[:80]}", community=plan.community, obj=idea)
    return idea


@transaction.atomic
def idea_link(*, idea: Idea, option_kind: str, actor: Any = None) -> Idea:
    if option_kind and option_kind not in OPTION_KINDS:
        raise DomainError(f"Unknown option {option_kind!r}.", field="option_kind")
    idea.option_kind = option_kind
    idea.save(update_fields=["option_kind"])
    return idea


@transaction.atomic
def preference_record(
    *,
    plan: Plan,
    option_kind: str,
    criterion: str,
    score: Any,
    user: Any = None,
    participant: str = "",
    source: str = Preference.Source.ONLINE,
    workshop: Workshop | None = None,
    actor: Any = None,
) -> Preference:
    """A member's own score (replaces their earlier one), or one entered by the
    convenor from a paper session (named participant)."""
    if option_kind not in OPTION_KINDS:
        raise DomainError(f"Unknown option {option_kind!r}.", field="option_kind")
    if criterion not in CRITERIA:
        raise DomainError(f"Unknown criterion {criterion!r}.", field="criterion")
    try:
        score = validate_score(score)
    except PlanningError as exc:
        raise _domain(exc, "score") from None
    participant = (participant or "").strip()
    if user is None and not participant:
        raise DomainError("Say whose score this is (name or sheet number).", field="participant")
    entered_by = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None:
        pref, _ = Preference.objects.update_or_create(
            plan=plan,
            user=user,
            option_kind=option_kind,
            criterion=criterion,
            defaults={"score": score, "source": source, "workshop": workshop, "entered_by": entered_by},
        )
    else:
        pref = Preference.objects.create(
            plan=plan,
            participant=participant,
            option_kind=option_kind,
            criterion=criterion,
            score=score,
            source=Preference.Source.PAPER,
            workshop=workshop,
            entered_by=entered_by,
        )
    return pref


@transaction.atomic
def preference_rank(*, plan: Plan, user: Any, ranking: list[str], actor: Any = None) -> list[Preference]:
    """A member's ranking (best first) stored as overall scores by Borda count:
    first 5 ... last 1 (rounded to whole points)."""
    unknown = [k for k in ranking if k not in OPTION_KINDS]
    if unknown:
        raise DomainError(f"Unknown option {unknown[0]!r}.", field="ranking")
    if len(ranking) < 2:
        raise DomainError("Rank at least two options (or score them instead).", field="ranking")
    try:
        scores = ranking_to_scores(ranking)
    except PlanningError as exc:
        raise _domain(exc, "ranking") from None
    return [
        preference_record(plan=plan, user=user, option_kind=k, criterion="overall", score=int(round(v)), actor=actor)
        for k, v in scores.items()
    ]


# --- target and roadmap -----------------------------------------------------------------------


@transaction.atomic
def plan_agree_target(*, plan: Plan, scenario: Scenario | None, statement: str, actor: Any = None) -> Plan:
    if scenario is not None and scenario.plan_id != plan.pk:
        raise DomainError("That scenario belongs to another plan.", field="scenario")
    if scenario is not None and scenario.status != Scenario.Status.DONE:
        raise DomainError("Compute the scenario before agreeing it as the target.", field="scenario")
    plan.agreed_scenario = scenario
    plan.target_statement = (statement or "").strip()
    plan.save(update_fields=["agreed_scenario", "target_statement", "updated_at"])
    audit(
        actor=actor,
        action="plan.target",
        summary=f"Agreed target: {scenario.name if scenario else 'none'}",
        community=plan.community,
        obj=plan,
    )
    return plan


@transaction.atomic
def milestone_add(
    *,
    plan: Plan,
    year: Any,
    title: str,
    building_block: str,
    option_kind: str = "",
    description: str = "",
    actor: Any = None,
) -> Milestone:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise DomainError("The year must be a whole number such as 2028.", field="year") from None
    if year < _this_year():
        raise DomainError(f"{year} is before this year ({_this_year()}); a roadmap looks forward.", field="year")
    if year > 2060:
        raise DomainError("Roadmaps here run to 2060 at the latest.", field="year")
    title = (title or "").strip()
    if not title:
        raise DomainError("A milestone needs a title.", field="title")
    if building_block not in Milestone.Block.values:
        raise DomainError("Pick the building block that delivers the milestone.", field="building_block")
    if option_kind and option_kind not in OPTION_KINDS:
        raise DomainError(f"Unknown option {option_kind!r}.", field="option_kind")
    m = Milestone.objects.create(
        plan=plan,
        year=year,
        title=title,
        building_block=building_block,
        option_kind=option_kind,
        description=description.strip(),
    )
    audit(actor=actor, action="milestone.add", summary=f"Milestone {year}: {title}", community=plan.community, obj=m)
    return m


@transaction.atomic
def milestone_delete(*, milestone: Milestone, actor: Any = None) -> None:
    audit(
        actor=actor,
        action="milestone.delete",
        summary=f"Removed milestone {milestone.title}",
        community=milestone.plan.community,
        obj=milestone,
    )
    milestone.delete()


# --- publishing ------------------------------------------------------------------------------


@transaction.atomic
def plan_publish(*, plan: Plan, actor: Any = None) -> PlanVersion:
    """Freeze the plan as the next version: snapshot + PDF, never changed after."""
    from planning.pdf import render_plan_pdf
    from planning.snapshot import plan_snapshot

    Plan.objects.select_for_update().filter(pk=plan.pk).first()
    if not plan.buildings.exists():
        raise DomainError("Add the area's buildings before publishing the plan.")
    last = plan.versions.order_by("-number").values_list("number", flat=True).first() or 0
    snapshot = plan_snapshot(plan, version=last + 1, published_by=actor)
    pdf = render_plan_pdf(snapshot)
    version = PlanVersion.objects.create(
        plan=plan,
        number=last + 1,
        title=plan.title,
        snapshot=snapshot,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        published_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit(
        actor=actor,
        action="plan.publish",
        summary=f"Published {plan.title} v{version.number}",
        community=plan.community,
        obj=version,
        changes={"sha256": version.pdf_sha256},
    )
    return version


@transaction.atomic
def milestone_mark_delivered(*, milestone: Milestone, delivered_by: str, actor: Any = None) -> Milestone:
    """Mark a roadmap action done because a project delivered it (the marketplace calls this). Idempotent."""
    updated = Milestone.objects.filter(pk=milestone.pk, done=False).update(done=True)
    milestone.done = True
    if updated:
        audit(
            actor=actor,
            action="milestone.delivered",
            summary=f"Delivered: {milestone.title} (by {delivered_by})"[:300],
            community=milestone.plan.community,
            obj=milestone,
        )
    return milestone
