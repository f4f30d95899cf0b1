"""Thin HTML views of the planner: resolve access, call a selector or a service, render.

Reading the plan is for everyone in the community (planning is participatory);
changing it is for the convenor; the building list (addresses) is the
convenor's only.  Members score options and add ideas themselves.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from community.access import OPERATOR_ROLES, community_view
from community.errors import DomainError
from community.forms import apply_domain_error
from community.models import Role
from planning import charts, selectors, services
from planning.domain.csvio import BUILDING_COLUMNS, NETWORK_COLUMNS, POWER_FACTOR
from planning.domain.modelling import OPTION_KINDS, OPTION_LABELS
from planning.domain.pathways import PATHWAYS
from planning.domain.preferences import CRITERIA, CRITERIA_LABELS
from planning.domain.reference import ASSUMPTIONS_BY_KEY, DEFAULT_ASSUMPTIONS
from planning.forms import (
    IdeaForm,
    ImportForm,
    MilestoneForm,
    NotesForm,
    OptionForm,
    PaperPreferenceForm,
    PlanForm,
    ScenarioForm,
    TargetForm,
    WorkshopForm,
)
from planning.models import Idea, Milestone, Preference, Scenario, ScenarioOption
from planning.snapshot import METHOD_NOTES

CONVENOR = (Role.CONVENOR,)
GROUPS = [
    ("prices", "Prices"),
    ("carbon", "Emission factors"),
    ("buildings", "Buildings"),
    ("rooftop_pv", "Rooftop solar PV"),
    ("battery", "Home batteries"),
    ("heat_pump", "Air-source heat pumps"),
    ("ground_loop", "Shared ground loop"),
    ("ev_charger", "EV chargers"),
    ("retrofit", "Retrofit"),
    ("community_solar", "Community solar array"),
    ("wind_turbine", "Wind turbine"),
]
OPTION_BLURBS = {
    "rooftop_pv": "Panels on homes and buildings; yield computed per roof from its location, tilt and orientation.",
    "battery": "Home batteries storing midday solar for the evening (only in homes with solar).",
    "heat_pump": "Replace gas, oil or electric heaters; hourly efficiency follows the outdoor temperature.",
    "ground_loop": "Shared boreholes feeding ground-source heat pumps: steadier efficiency, higher cost.",
    "ev_charger": "Home chargers for households switching from petrol; optional smart overnight charging.",
    "retrofit": "Insulation and glazing to lift homes to a target EPC band; cuts heat demand.",
    "community_solar": "A community-owned array (a field, a school roof) selling to members first.",
    "wind_turbine": "A community or corporate turbine; output from a power curve and a UK wind profile.",
}
BLOCK_URLS = {
    "purchasing": "assets:index",
    "anchor": "coop:index",
    "corporate": "coop:index",
    "vpp": "vpp:index",
    "lem": "lem:index",
    "balancing": "vpp:index",
    "marketplace": "planning:index",
    "plan": "planning:index",
}


def _is_convenor(request) -> bool:
    return Role.CONVENOR in request.roles


def _convenor_only(request) -> None:
    if not _is_convenor(request):
        raise PermissionDenied("Only the plan's convenor can change it.")


def _ctx(request, community, plan, tab: str, **extra) -> dict:
    ctx = {
        "community": community,
        "plan": plan,
        "tab": tab,
        "is_convenor": _is_convenor(request),
        "latest_version": selectors.latest_version(plan) if plan else None,
    }
    ctx.update(extra)
    return ctx


# --- plans ---------------------------------------------------------------------------


@community_view()
def index(request: HttpRequest, community) -> HttpResponse:
    plans = list(selectors.plans_for(community))
    form = PlanForm(request.POST or None)
    if request.method == "POST":
        _convenor_only(request)
        if form.is_valid():
            try:
                plan = services.plan_create(community=community, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                services.plan_sync_sites(plan=plan, actor=request.user)
                messages.success(request, f"Plan started with the community's {plan.buildings.count()} sites.")
                return redirect("planning:plan", slug=community.slug, plan_id=plan.pk)
        return render(
            request, "planning/index.html", _ctx(request, community, None, "", plans=plans, form=form), status=400
        )
    if len(plans) == 1 and "all" not in request.GET:
        return redirect("planning:plan", slug=community.slug, plan_id=plans[0].pk)
    return render(request, "planning/index.html", _ctx(request, community, None, "", plans=plans, form=form))


@community_view()
def plan_detail(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    cs = selectors.plan_current_state(plan)
    headroom = selectors.headroom_rows(plan)
    a = selectors.plan_assumptions(plan)
    ctx = _ctx(
        request,
        community,
        plan,
        "state",
        cs=cs,
        headroom=headroom,
        factors=[(ASSUMPTIONS_BY_KEY[k], a[k]) for k in ("grid_kg_per_kwh", "gas_kg_per_kwh", "oil_kg_per_kwh")],
        methods=METHOD_NOTES,
        buildings_total=plan.buildings.count(),
        metered=plan.buildings.filter(consumption_source="meter").count(),
        known=plan.buildings.exclude(consumption_source="").count(),
    )
    if cs:
        ctx.update(
            map_html=charts.area_map(selectors.area_points(plan, with_addresses=bool(request.roles & OPERATOR_ROLES))),
            end_use_html=charts.end_use_bars(cs),
            carbon_html=charts.carbon_pie(cs),
            monthly_html=charts.monthly_bars(cs.monthly_demand_kwh, cs.monthly_generation_kwh),
            headroom_html=charts.headroom_bars(headroom),
            carbon_total=sum(cs.carbon_kg.values()),
        )
    return render(request, "planning/plan.html", ctx)


# --- buildings and network -----------------------------------------------------------


@community_view(roles=CONVENOR)
def buildings(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    form.fields.pop("source")
    outcome = None
    status = 200
    if request.method == "POST" and form.is_valid():
        dry_run = "save" not in request.POST
        try:
            outcome = services.plan_buildings_import(
                plan=plan, text=form.csv_text(), dry_run=dry_run, actor=request.user
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
            status = 400
        else:
            if outcome.errors:
                status = 400
            elif outcome.saved:
                messages.success(request, f"Imported {outcome.saved} buildings.")
                return redirect("planning:buildings", slug=community.slug, plan_id=plan.pk)
    rows = plan.buildings.select_related("network_node")[:500]
    return render(
        request,
        "planning/buildings.html",
        _ctx(
            request,
            community,
            plan,
            "buildings",
            form=form,
            outcome=outcome,
            rows=rows,
            total=plan.buildings.count(),
            columns=BUILDING_COLUMNS,
            text=form.data.get("text", "") if form.is_bound else "",
        ),
        status=status,
    )


@community_view(roles=CONVENOR)
def buildings_export(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    from planning.domain.csvio import ParsedBuilding, buildings_to_csv

    plan = selectors.plan_for(community, plan_id)
    rows = []
    domain = {b.ref: b for b in selectors.plan_buildings(plan)}
    codes = {
        str(b.network_node_id): b.network_node.code
        for b in plan.buildings.select_related("network_node")
        if b.network_node_id
    }
    for b in plan.buildings.all():
        d = domain[b.ref]
        from dataclasses import replace

        rows.append(
            ParsedBuilding(
                line=0,
                building=replace(d, node=codes.get(d.node) if d.node else None),
                address=b.address,
                postcode=b.postcode,
            )
        )
    response = HttpResponse(buildings_to_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}-buildings.csv"'
    return response


@require_POST
@community_view(roles=CONVENOR)
def buildings_sync(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    n = services.plan_sync_sites(plan=plan, actor=request.user)
    messages.success(request, f"Brought in {n} of the community's sites (meter readings used where there are any).")
    return redirect("planning:buildings", slug=community.slug, plan_id=plan.pk)


@community_view()
def network(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    form = ImportForm(request.POST or None, request.FILES or None)
    outcome = None
    status = 200
    if request.method == "POST":
        _convenor_only(request)
        if form.is_valid():
            dry_run = "save" not in request.POST
            try:
                outcome = services.plan_network_import(
                    plan=plan,
                    text=form.csv_text(),
                    dry_run=dry_run,
                    source=form.cleaned_data.get("source", ""),
                    actor=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
                status = 400
            else:
                if outcome.errors:
                    status = 400
                elif outcome.saved:
                    messages.success(request, f"Updated {outcome.saved} network nodes.")
                    return redirect("planning:network", slug=community.slug, plan_id=plan.pk)
    headroom = selectors.headroom_rows(plan)
    return render(
        request,
        "planning/network.html",
        _ctx(
            request,
            community,
            plan,
            "network",
            form=form,
            outcome=outcome,
            headroom=headroom,
            chart_html=charts.headroom_bars(headroom),
            columns=NETWORK_COLUMNS,
            power_factor=POWER_FACTOR,
            text=form.data.get("text", "") if form.is_bound else "",
        ),
        status=status,
    )


# --- options library -----------------------------------------------------------------


@community_view()
def options(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    error = None
    status = 200
    if request.method == "POST":
        _convenor_only(request)
        values = {a.key: request.POST.get(a.key, "") for a in DEFAULT_ASSUMPTIONS if a.key in request.POST}
        try:
            services.plan_set_assumptions(plan=plan, values=values, actor=request.user)
        except DomainError as exc:
            error = exc.message
            status = 400
        else:
            messages.success(request, "Assumptions saved. Recompute scenarios to use them.")
            return redirect("planning:options", slug=community.slug, plan_id=plan.pk)
    rows = selectors.assumption_rows(plan)
    groups = [(label, OPTION_BLURBS.get(key, ""), [r for r in rows if r["group"] == key]) for key, label in GROUPS]
    return render(
        request,
        "planning/options.html",
        _ctx(request, community, plan, "options", groups=groups, error=error),
        status=status,
    )


# --- scenarios ------------------------------------------------------------------------


@community_view()
def scenarios(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    existing = list(plan.scenarios.all())
    form = ScenarioForm(request.POST or None, scenarios=existing)
    if request.method == "POST":
        _convenor_only(request)
        if form.is_valid():
            d = form.cleaned_data
            copy = plan.scenarios.filter(pk=d["copy_from"]).first() if d.get("copy_from") else None
            try:
                s = services.scenario_create(
                    plan=plan,
                    name=d["name"],
                    description=d["description"],
                    start_year=d["start_year"],
                    end_year=d["end_year"],
                    copy_from=copy,
                    pathway=d.get("pathway") or "",
                    actor=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return redirect("planning:scenario", slug=community.slug, plan_id=plan.pk, scenario_id=s.pk)
        return render(
            request,
            "planning/scenarios.html",
            _ctx(request, community, plan, "scenarios", scenarios=existing, form=form, pathways=PATHWAYS),
            status=400,
        )
    return render(
        request,
        "planning/scenarios.html",
        _ctx(request, community, plan, "scenarios", scenarios=existing, form=form, pathways=PATHWAYS),
    )


def _option_form(scenario, data=None) -> OptionForm:
    mid = (scenario.start_year + scenario.end_year) // 2
    example = f"{scenario.start_year}: 10, {mid}: 40, {scenario.end_year}: 70"
    return OptionForm(data, initial={"take_up": example})


def _scenario_context(request, community, plan, scenario, form=None):
    result = scenario.result if scenario.status == Scenario.Status.DONE else None
    ctx = _ctx(
        request,
        community,
        plan,
        "scenarios",
        scenario=scenario,
        form=form or _option_form(scenario),
        options=list(scenario.options.all()),
        stale=selectors.scenario_is_stale(scenario),
        result=result,
        running=scenario.status in (Scenario.Status.QUEUED, Scenario.Status.RUNNING),
        progress_pct=int(round(scenario.progress * 100)),
    )
    if result:
        ctx.update(
            years_html=charts.scenario_years(result),
            nodes_html=charts.node_peaks(result),
            monthly_html=charts.monthly_bars(
                result["monthly"]["end_demand"],
                result["monthly"]["end_generation"],
                {"demand today": result["monthly"]["baseline_demand"]},
            ),
            end=result["years"][-1],
            overloaded=[n for n in result["nodes"] if n["overloaded_years"]],
        )
    return ctx


@community_view()
def scenario_detail(request: HttpRequest, community, plan_id: int, scenario_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    scenario = selectors.scenario_for(plan, scenario_id)
    form = _option_form(scenario, request.POST or None)
    status = 200
    if request.method == "POST":
        _convenor_only(request)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.scenario_option_save(
                    scenario=scenario,
                    kind=d["kind"],
                    label=d["label"],
                    take_up=services.parse_take_up(d["take_up"]),
                    params=form.params(),
                    key=d.get("key") or None,
                    actor=request.user,
                )
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                messages.success(request, f"{d['label'] or OPTION_LABELS[d['kind']]} saved.")
                return redirect("planning:scenario", slug=community.slug, plan_id=plan.pk, scenario_id=scenario.pk)
        status = 400
    return render(
        request, "planning/scenario.html", _scenario_context(request, community, plan, scenario, form), status=status
    )


@require_POST
@community_view(roles=CONVENOR)
def option_delete(request: HttpRequest, community, plan_id: int, scenario_id: int, option_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    scenario = selectors.scenario_for(plan, scenario_id)
    option = get_object_or_404(ScenarioOption, scenario=scenario, pk=option_id)
    services.scenario_option_delete(option=option, actor=request.user)
    return redirect("planning:scenario", slug=community.slug, plan_id=plan.pk, scenario_id=scenario.pk)


@require_POST
@community_view(roles=CONVENOR)
def scenario_compute(request: HttpRequest, community, plan_id: int, scenario_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    scenario = selectors.scenario_for(plan, scenario_id)
    services.scenario_request_compute(scenario=scenario, actor=request.user)
    scenario.refresh_from_db()
    if request.htmx:
        ctx = _scenario_context(request, community, plan, scenario)
        response = render(request, "planning/scenario.html#progress", ctx)
        if not ctx["running"]:  # finished already (eager run): reload to show the results
            response["HX-Refresh"] = "true"
        return response
    return redirect("planning:scenario", slug=community.slug, plan_id=plan.pk, scenario_id=scenario.pk)


@community_view()
def scenario_progress(request: HttpRequest, community, plan_id: int, scenario_id: int) -> HttpResponse:
    """Polled by the progress bar; when the run ends it tells htmx to reload the page."""
    plan = selectors.plan_for(community, plan_id)
    scenario = selectors.scenario_for(plan, scenario_id)
    ctx = _scenario_context(request, community, plan, scenario)
    response = render(request, "planning/scenario.html#progress", ctx)
    if request.htmx and not ctx["running"]:
        response["HX-Refresh"] = "true"
    return response


@community_view()
def compare(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    done = selectors.computed_scenarios(plan)
    wanted = request.GET.getlist("s")
    chosen = [s for s in done if str(s.pk) in wanted] if wanted else done
    rows = selectors.comparison_rows(chosen)
    ctx = _ctx(
        request,
        community,
        plan,
        "compare",
        all_done=done,
        chosen=chosen,
        rows=rows,
        chosen_ids={str(s.pk) for s in chosen},
    )
    if rows:
        ctx.update(bars_html=charts.compare_bars(rows), carbon_html=charts.compare_carbon(chosen))
    return render(request, "planning/compare.html", ctx)


# --- engagement ------------------------------------------------------------------------


@community_view()
def workshops(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    form = WorkshopForm(request.POST or None)
    idea_form = IdeaForm()
    if request.method == "POST":
        _convenor_only(request)
        if form.is_valid():
            try:
                w = services.workshop_create(plan=plan, actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                apply_domain_error(form, exc)
            else:
                return redirect("planning:workshop", slug=community.slug, plan_id=plan.pk, workshop_id=w.pk)
    return render(
        request,
        "planning/workshops.html",
        _ctx(
            request,
            community,
            plan,
            "engage",
            workshops=selectors.workshops(plan),
            form=form,
            idea_form=idea_form,
            ideas=selectors.ideas(plan),
        ),
        status=400 if request.method == "POST" else 200,
    )


@community_view()
def workshop_detail(request: HttpRequest, community, plan_id: int, workshop_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    workshop = selectors.workshop_for(plan, workshop_id)
    notes_form = NotesForm(initial={"notes": workshop.notes, "held": workshop.held})
    idea_form = IdeaForm()
    status = 200
    if request.method == "POST":
        _convenor_only(request)
        action = request.POST.get("action")
        try:
            if action == "notes":
                notes_form = NotesForm(request.POST)
                if notes_form.is_valid():
                    services.workshop_record(workshop=workshop, actor=request.user, **notes_form.cleaned_data)
            elif action == "invite_all":
                users = [m.user for m in community.memberships.select_related("user")]
                n = services.workshop_invite(
                    workshop=workshop, users=list({u.pk: u for u in users}.values()), actor=request.user
                )
                messages.success(request, f"Invited {n} members.")
            elif action == "attend":
                user = None
                if request.POST.get("user"):
                    user = get_object_or_404(
                        community.memberships.model.objects.filter(community=community), user_id=request.POST["user"]
                    ).user
                services.attendance_record(
                    workshop=workshop,
                    user=user,
                    name=request.POST.get("name", ""),
                    attended=request.POST.get("attended", "1") == "1",
                    actor=request.user,
                )
            elif action == "idea":
                idea_form = IdeaForm(request.POST)
                if idea_form.is_valid():
                    services.idea_add(plan=plan, workshop=workshop, actor=request.user, **idea_form.cleaned_data)
                    idea_form = IdeaForm()
            elif action == "link":
                idea = get_object_or_404(Idea, plan=plan, pk=request.POST.get("idea"))
                services.idea_link(idea=idea, option_kind=request.POST.get("option_kind", ""), actor=request.user)
            else:
                raise DomainError("Unknown action.")
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            if not (notes_form.errors or idea_form.errors):
                return redirect("planning:workshop", slug=community.slug, plan_id=plan.pk, workshop_id=workshop.pk)
            status = 400
    members = {m.user_id: m.user for m in community.memberships.select_related("user")}
    return render(
        request,
        "planning/workshop.html",
        _ctx(
            request,
            community,
            plan,
            "engage",
            workshop=workshop,
            attendance=selectors.attendance(workshop),
            came=workshop.attendance.filter(attended=True).count(),
            invited=workshop.attendance.filter(invited=True).count(),
            notes_form=notes_form,
            idea_form=idea_form,
            ideas=workshop.ideas.all(),
            members=sorted(members.values(), key=lambda u: (u.last_name, u.first_name)),
            option_choices=[(k, OPTION_LABELS[k]) for k in OPTION_KINDS],
        ),
        status=status,
    )


@require_POST
@community_view()
def idea_add(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    """Any member can put an idea forward online."""
    plan = selectors.plan_for(community, plan_id)
    form = IdeaForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.idea_add(
                plan=plan,
                text=d["text"],
                option_kind=d["option_kind"],
                raised_by=d["raised_by"] or request.user.get_full_name() or request.user.username,
                actor=request.user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Thank you — your idea is on the list.")
            return redirect("planning:workshops", slug=community.slug, plan_id=plan.pk)
    else:
        messages.error(request, "Write the idea down first.")
    return render(
        request,
        "planning/workshops.html",
        _ctx(
            request,
            community,
            plan,
            "engage",
            workshops=selectors.workshops(plan),
            form=WorkshopForm(),
            idea_form=form,
            ideas=selectors.ideas(plan),
        ),
        status=400,
    )


@community_view()
def preferences(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    paper_form = PaperPreferenceForm()
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "rank":
                positions = {}
                for kind in OPTION_KINDS:
                    raw = request.POST.get(f"rank__{kind}", "")
                    if raw:
                        if raw in positions:
                            raise DomainError(f"Two options are both number {raw}; give each a different place.")
                        positions[raw] = kind
                ranking = [positions[k] for k in sorted(positions, key=int)]
                services.preference_rank(plan=plan, user=request.user, ranking=ranking, actor=request.user)
                messages.success(request, f"Thank you — your ranking of {len(ranking)} options is saved as scores.")
            elif request.POST.get("action") == "paper":
                _convenor_only(request)
                paper_form = PaperPreferenceForm(request.POST)
                if not paper_form.is_valid():
                    raise DomainError("Check the paper score: every field is needed and scores run 1-5.")
                services.preference_record(
                    plan=plan, source=Preference.Source.PAPER, actor=request.user, **paper_form.cleaned_data
                )
                messages.success(request, "Paper score recorded.")
            else:
                n = 0
                for kind in OPTION_KINDS:
                    for criterion in CRITERIA:
                        raw = request.POST.get(f"{kind}__{criterion}", "")
                        if raw:
                            services.preference_record(
                                plan=plan,
                                option_kind=kind,
                                criterion=criterion,
                                score=raw,
                                user=request.user,
                                actor=request.user,
                            )
                            n += 1
                if not n:
                    raise DomainError("Score at least one option.")
                messages.success(request, f"Thank you — {n} scores saved.")
        except DomainError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            return redirect("planning:preferences", slug=community.slug, plan_id=plan.pk)
    rows = selectors.preference_summary(plan)
    mine = selectors.my_preferences(plan, request.user)
    grid = [
        {
            "kind": k,
            "label": OPTION_LABELS[k],
            "cells": [{"criterion": c, "value": mine.get((k, c), "")} for c in CRITERIA],
        }
        for k in OPTION_KINDS
    ]
    return render(
        request,
        "planning/preferences.html",
        _ctx(
            request,
            community,
            plan,
            "prefs",
            rows=rows,
            spread_html=charts.preference_spread(rows),
            grid=grid,
            criteria=[(c, CRITERIA_LABELS[c]) for c in CRITERIA],
            paper_form=paper_form,
            divided=[r for r in rows if r["overall"] and r["overall"].disagreement],
            positions=[str(i) for i in range(1, len(OPTION_KINDS) + 1)],
        ),
        status=status,
    )


# --- roadmap and publishing -------------------------------------------------------------


@community_view()
def roadmap(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    done = selectors.computed_scenarios(plan)
    form = MilestoneForm(initial={"year": 2027})
    target_form = TargetForm(
        initial={"scenario": str(plan.agreed_scenario_id or ""), "statement": plan.target_statement}, scenarios=done
    )
    status = 200
    if request.method == "POST":
        _convenor_only(request)
        try:
            if request.POST.get("action") == "target":
                target_form = TargetForm(request.POST, scenarios=done)
                if target_form.is_valid():
                    d = target_form.cleaned_data
                    services.plan_agree_target(
                        plan=plan,
                        scenario=plan.scenarios.filter(pk=d["scenario"]).first() if d["scenario"] else None,
                        statement=d["statement"],
                        actor=request.user,
                    )
            else:
                form = MilestoneForm(request.POST)
                if form.is_valid():
                    services.milestone_add(plan=plan, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_domain_error(form if request.POST.get("action") != "target" else target_form, exc)
        if not (form.errors or target_form.errors):
            return redirect("planning:roadmap", slug=community.slug, plan_id=plan.pk)
        status = 400
    items = []
    for m in selectors.milestones(plan):
        try:
            url = reverse(BLOCK_URLS[m.building_block], kwargs={"slug": community.slug})
        except NoReverseMatch:
            url = ""
        items.append({"m": m, "url": url})
    years = sorted({i["m"].year for i in items})
    return render(
        request,
        "planning/roadmap.html",
        _ctx(request, community, plan, "roadmap", items=items, years=years, form=form, target_form=target_form),
        status=status,
    )


@require_POST
@community_view(roles=CONVENOR)
def milestone_delete(request: HttpRequest, community, plan_id: int, milestone_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    services.milestone_delete(milestone=get_object_or_404(Milestone, plan=plan, pk=milestone_id), actor=request.user)
    return redirect("planning:roadmap", slug=community.slug, plan_id=plan.pk)


@community_view(roles=CONVENOR)
def publish(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    """Publishing cannot be undone: GET (or a POST without ``confirm``) shows what this
    version changes since the last one and asks; a POST with ``confirm`` publishes."""
    plan = selectors.plan_for(community, plan_id)
    if request.method != "POST" or not request.POST.get("confirm"):
        from planning.domain.snapshot_diff import snapshot_changes
        from planning.snapshot import plan_snapshot

        latest = selectors.latest_version(plan)
        draft = plan_snapshot(plan, version=(latest.number + 1) if latest else 1, published_by=request.user)
        changes = snapshot_changes(latest.snapshot if latest else None, draft)
        return render(
            request, "planning/publish_confirm.html", _ctx(request, community, plan, "published", changes=changes)
        )
    try:
        version = services.plan_publish(plan=plan, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("planning:plan", slug=community.slug, plan_id=plan.pk)
    messages.success(request, f"Published version {version.number}. It will not change; publish again for a new one.")
    return redirect("planning:version", slug=community.slug, plan_id=plan.pk, number=version.number)


@community_view()
def published(request: HttpRequest, community, plan_id: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    latest = selectors.latest_version(plan)
    if latest is None:
        return render(
            request, "planning/version.html", _ctx(request, community, plan, "published", version=None, versions=[])
        )
    return redirect("planning:version", slug=community.slug, plan_id=plan.pk, number=latest.number)


@community_view()
def version_detail(request: HttpRequest, community, plan_id: int, number: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    version = selectors.version_for(plan, number)
    snap = version.snapshot
    ctx = _ctx(request, community, plan, "published", version=version, snap=snap, versions=selectors.versions(plan))
    cs = snap.get("current_state")
    if cs:
        ctx["monthly_html"] = charts.monthly_bars(cs["monthly_demand_kwh"], cs["monthly_generation_kwh"])
    return render(request, "planning/version.html", ctx)


@community_view()
def version_pdf(request: HttpRequest, community, plan_id: int, number: int) -> HttpResponse:
    plan = selectors.plan_for(community, plan_id)
    version = selectors.version_for(plan, number)
    response = HttpResponse(bytes(version.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{community.slug}-plan-v{version.number}.pdf"'
    response["ETag"] = f'"{version.pdf_sha256}"'
    return response
