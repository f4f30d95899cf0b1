"""Planner services, views and API against the database (the shared `world`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from community.errors import DomainError
from community.models import NetworkNode
from planning import selectors, services
from planning.models import NodeLoad, PlanBuilding, PlanVersion, Preference, Scenario

GOOD_CSV = (
    "ref,address,postcode,lat,lon,building_type,floor_area_m2,epc_band,heating_fuel,annual_elec_kwh,"
    "annual_heating_fuel_kwh,roof_area_m2,roof_tilt_deg,roof_azimuth_deg,existing_pv_kwp,network_node\n"
    "v1,1 Vic Tce,B30 4VT,52.10,-1.90,house,90,E,gas,,,25,35,180,0,F1\n"
    "v2,2 Vic Tce,B30 4VT,52.10,-1.90,house,85,F,gas,3100,14000,25,35,180,0,F2\n"
)


@pytest.fixture
def plan(world):
    p = services.plan_create(community=world.community, title="Our plan", actor=world.users["convenor"])
    services.plan_sync_sites(plan=p, actor=world.users["convenor"])
    return p


def computed(scenario):
    Scenario.objects.filter(pk=scenario.pk).update(status=Scenario.Status.QUEUED)
    return services.scenario_compute(scenario_id=scenario.pk)


def this_year():
    return timezone.now().year


# --- area ---------------------------------------------------------------------------


def test_sites_come_into_the_plan_once(plan, world):
    assert plan.buildings.count() == 3
    services.plan_sync_sites(plan=plan)
    assert plan.buildings.count() == 3
    school = plan.buildings.get(site=world.school)
    assert school.building_type == "school" and school.floor_area_assumed


def test_dry_run_reports_bad_rows_by_line_and_saves_nothing(plan):
    bad = GOOD_CSV + "v3,3 Vic Tce,B30,52.1,-1.9,house,-20,D,gas,,,,95,,,\nv4,,,52.1,-1.9,house,80,D,gas,,,,,,,NOPE\n"
    out = services.plan_buildings_import(plan=plan, text=bad, dry_run=False)
    assert {e.line for e in out.errors} == {4, 5}
    assert any("Floor area must be more than 0" in e.message for e in out.errors)
    assert any("NOPE" in e.message for e in out.errors)
    assert out.saved == 0 and plan.buildings.count() == 3

    dry = services.plan_buildings_import(plan=plan, text=GOOD_CSV, dry_run=True)
    assert dry.ok and dry.saved == 0 and plan.buildings.count() == 3


def test_import_saves_and_export_round_trips(plan, client_as):
    out = services.plan_buildings_import(plan=plan, text=GOOD_CSV, dry_run=False)
    assert out.saved == 2
    v2 = plan.buildings.get(ref="v2")
    assert v2.annual_elec_kwh == 3100 and v2.consumption_source == PlanBuilding.Source.IMPORT
    assert v2.network_node.code == "F2"
    response = client_as("convenor").get(
        reverse("planning:buildings_export", kwargs={"slug": plan.community.slug, "plan_id": plan.pk})
    )
    text = response.content.decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "v2,2 Vic Tce,B30 4VT,52.1,-1.9,house,85,F,gas,3100,14000,25,35,180,0,F2" in text
    again = services.plan_buildings_import(plan=plan, text=text, dry_run=True)
    assert again.ok


def test_dno_headroom_import_adds_nodes_through_community_and_keeps_peaks(plan, world):
    text = "node_ref,name,parent_ref,level,capacity_kw,peak_kw\nF1,Feeder A,P1,feeder,220,180\nF9,New feeder,P1,secondary,300,120\n"
    dry = services.plan_network_import(plan=plan, text=text, dry_run=True)
    assert dry.ok and not NetworkNode.objects.filter(code="F9").exists()
    out = services.plan_network_import(plan=plan, text=text, dry_run=False, source="DNO portal")
    assert out.saved == 2
    f9 = NetworkNode.objects.get(community=world.community, code="F9")
    assert f9.kind == "feeder" and f9.parent == world.primary
    world.feeder.refresh_from_db()
    assert world.feeder.import_capacity_kw == Decimal("220.0")
    assert NodeLoad.objects.get(node=world.feeder).peak_kw == Decimal("180.0")
    rows = {r["node"].code: r for r in selectors.headroom_rows(plan)}
    assert rows["F1"]["headroom_kw"] == Decimal("40.0")


def test_network_import_with_unknown_parent_saves_nothing(plan):
    out = services.plan_network_import(plan=plan, text="node_ref,parent_ref,capacity_kw\nZ1,NOPE,100\n", dry_run=False)
    assert out.errors[0].line == 2 and "NOPE" in out.errors[0].message
    assert not NetworkNode.objects.filter(code="Z1").exists()


def test_assumptions_are_validated_and_reset_by_blank(plan):
    services.plan_set_assumptions(plan=plan, values={"pv_cost_per_kw": "1100", "grid_kg_per_kwh": ""})
    assert plan.assumptions == {"pv_cost_per_kw": 1100.0}
    with pytest.raises(DomainError, match="between 0 and 1"):
        services.plan_set_assumptions(plan=plan, values={"boiler_efficiency": "1.5"})
    with pytest.raises(DomainError, match="not a number"):
        services.plan_set_assumptions(plan=plan, values={"pv_cost_per_kw": "lots"})
    services.plan_set_assumptions(plan=plan, values={"pv_cost_per_kw": ""})
    assert plan.assumptions == {}


# --- scenarios -------------------------------------------------------------------------


def test_impossible_take_up_and_past_years_are_refused(plan):
    y = this_year()
    s = services.scenario_create(plan=plan, name="S", start_year=y, end_year=y + 10)
    with pytest.raises(DomainError, match="between 0% and 100%"):
        services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y + 2: 120})
    with pytest.raises(DomainError, match="before the current year"):
        services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y - 1: 10})
    with pytest.raises(DomainError, match="before this year"):
        services.scenario_create(plan=plan, name="Old", start_year=y - 1, end_year=y + 5)
    with pytest.raises(DomainError, match="size in kWp"):
        services.scenario_option_save(scenario=s, kind="community_solar", take_up={y: 100})
    assert s.options.count() == 0


def test_compute_stores_results_once_and_notices_staleness(plan):
    y = this_year()
    s = services.scenario_create(plan=plan, name="Solar", start_year=y, end_year=y + 5)
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 50, y + 3: 100})
    services.scenario_option_save(scenario=s, kind="heat_pump", take_up={y + 1: 100})
    done = computed(s)
    assert done.status == Scenario.Status.DONE and done.progress == 1.0
    r = done.result
    assert len(r["years"]) == 6 and Decimal(r["total_capex_gbp"]) > 0
    assert r["years"][-1]["carbon_saved_kg"] > 0
    # a redelivered task finds nothing queued and changes nothing
    again = services.scenario_compute(scenario_id=s.pk)
    assert again.computed_at == done.computed_at
    assert not selectors.scenario_is_stale(again)
    services.scenario_option_save(scenario=s, kind="ev_charger", take_up={y + 2: 30})
    assert selectors.scenario_is_stale(Scenario.objects.get(pk=s.pk))


def test_a_scenario_that_cannot_be_computed_says_why(plan, world):
    PlanBuilding.objects.create(
        plan=plan, ref="paris", latitude=48.85, longitude=2.35, building_type="house", floor_area_m2=80
    )
    y = this_year()
    s = services.scenario_create(plan=plan, name="Abroad", start_year=y, end_year=y + 2)
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 50})
    failed = computed(s)
    assert failed.status == Scenario.Status.FAILED
    assert "outside the UK" in failed.error and "paris" in failed.error


def test_compute_request_queues_once_and_schedules_the_task(plan, django_capture_on_commit_callbacks):
    y = this_year()
    s = services.scenario_create(plan=plan, name="Q", start_year=y, end_year=y + 1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.scenario_request_compute(scenario=s)
        services.scenario_request_compute(scenario=s)
    assert len(callbacks) == 1
    assert Scenario.objects.get(pk=s.pk).status == Scenario.Status.QUEUED


def test_progress_fragment_shows_the_bar_then_asks_for_a_reload(plan, client_as):
    y = this_year()
    s = services.scenario_create(plan=plan, name="P", start_year=y, end_year=y + 1)
    Scenario.objects.filter(pk=s.pk).update(
        status=Scenario.Status.RUNNING, progress=0.42, progress_message="Simulating buildings"
    )
    url = reverse(
        "planning:scenario_progress", kwargs={"slug": plan.community.slug, "plan_id": plan.pk, "scenario_id": s.pk}
    )
    c = client_as("member")
    r = c.get(url, HTTP_HX_REQUEST="true")
    body = r.content.decode()
    assert 'aria-valuenow="42"' in body and "Simulating buildings" in body and "every 1s" in body
    assert "HX-Refresh" not in r
    Scenario.objects.filter(pk=s.pk).update(status=Scenario.Status.DONE, progress=1.0)
    r = c.get(url, HTTP_HX_REQUEST="true")
    assert r["HX-Refresh"] == "true"


def test_scenario_page_flags_an_overloaded_feeder(plan, world, client_as):
    services.plan_buildings_import(plan=plan, text=GOOD_CSV, dry_run=False)
    NodeLoad.objects.create(node=world.feeder2, peak_kw=Decimal("149"))
    y = this_year()
    s = services.scenario_create(plan=plan, name="All electric", start_year=y, end_year=y + 3)
    services.scenario_option_save(scenario=s, kind="heat_pump", take_up={y: 100})
    services.scenario_option_save(scenario=s, kind="ev_charger", take_up={y: 100})
    computed(s)
    page = client_as("member").get(
        reverse("planning:scenario", kwargs={"slug": plan.community.slug, "plan_id": plan.pk, "scenario_id": s.pk})
    )
    body = page.content.decode()
    assert "This scenario would overload" in body and "Feeder B" in body


def test_compare_shows_scenarios_side_by_side(plan, client_as):
    y = this_year()
    for name, kind in (("Solar", "rooftop_pv"), ("Heat", "heat_pump")):
        s = services.scenario_create(plan=plan, name=name, start_year=y, end_year=y + 2)
        services.scenario_option_save(scenario=s, kind=kind, take_up={y: 50})
        computed(s)
    body = (
        client_as("member")
        .get(reverse("planning:compare", kwargs={"slug": plan.community.slug, "plan_id": plan.pk}))
        .content.decode()
    )
    assert "Solar" in body and "Heat" in body and "Simple payback" in body and "plotly" in body.lower()


# --- engagement -------------------------------------------------------------------------


def test_a_members_second_score_replaces_the_first_and_paper_needs_a_name(plan, world):
    member = world.users["member"]
    services.preference_record(plan=plan, user=member, option_kind="wind_turbine", criterion="overall", score=2)
    services.preference_record(plan=plan, user=member, option_kind="wind_turbine", criterion="overall", score="5")
    assert Preference.objects.get(plan=plan, user=member).score == 5
    with pytest.raises(DomainError, match="whose score"):
        services.preference_record(plan=plan, option_kind="wind_turbine", criterion="overall", score=3)
    with pytest.raises(DomainError, match="1 to 5"):
        services.preference_record(plan=plan, user=member, option_kind="retrofit", criterion="overall", score=6)
    for i, score in enumerate([1, 1, 5, 5]):
        services.preference_record(
            plan=plan,
            participant=f"sheet {i}",
            option_kind="wind_turbine",
            criterion="overall",
            score=score,
            source=Preference.Source.PAPER,
        )
    wind = next(r for r in selectors.preference_summary(plan) if r["kind"] == "wind_turbine")["overall"]
    assert wind.n == 5 and wind.disagreement and wind.counts == [2, 0, 0, 0, 3]


def test_workshop_attendance_and_ideas_linked_to_options(plan, world):
    w = services.workshop_create(plan=plan, title="Evening", starts_at=timezone.now())
    services.workshop_invite(workshop=w, users=[world.users["member"], world.neighbour])
    services.attendance_record(workshop=w, user=world.users["member"])
    services.attendance_record(workshop=w, name="Mrs Paper")
    idea = services.idea_add(plan=plan, workshop=w, text="Solar on the chapel")
    services.idea_link(idea=idea, option_kind="community_solar")
    row = selectors.workshops(plan).get(pk=w.pk)
    assert (row.n_invited, row.n_attended, row.n_ideas) == (2, 2, 1)
    with pytest.raises(DomainError, match="Only members"):
        services.workshop_invite(workshop=w, users=[world.users["outsider"]])
    with pytest.raises(DomainError, match="before it has started"):
        future = services.workshop_create(
            plan=plan, title="Later", starts_at=timezone.now() + timezone.timedelta(days=3)
        )
        services.workshop_record(workshop=future, notes="", held=True)


def test_milestones_look_forward(plan):
    with pytest.raises(DomainError, match="before this year"):
        services.milestone_add(plan=plan, year=this_year() - 1, title="Too late", building_block="vpp")
    m = services.milestone_add(plan=plan, year=this_year() + 2, title="VPP", building_block="vpp")
    assert m.year == this_year() + 2


# --- publishing ------------------------------------------------------------------------------


def test_published_versions_never_change(plan, client_as):
    y = this_year()
    s = services.scenario_create(plan=plan, name="Solar", start_year=y, end_year=y + 2)
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 40})
    computed(s)
    v1 = services.plan_publish(plan=plan)
    assert bytes(v1.pdf).startswith(b"%PDF") and v1.snapshot["scenarios"][0]["name"] == "Solar"
    pdf1, sha1 = bytes(v1.pdf), v1.pdf_sha256
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 90}, key=s.options.first().key)
    plan.title = "Renamed"
    plan.save()
    v2 = services.plan_publish(plan=plan)
    assert v2.number == 2
    v1.refresh_from_db()
    assert bytes(v1.pdf) == pdf1 and v1.pdf_sha256 == sha1 and v1.title == "Our plan"
    v1.title = "tampered"
    with pytest.raises(ValueError, match="cannot be changed"):
        v1.save()
    r = client_as("member").get(
        reverse("planning:version_pdf", kwargs={"slug": plan.community.slug, "plan_id": plan.pk, "number": 1})
    )
    assert r["Content-Type"] == "application/pdf" and r.content == pdf1
    assert PlanVersion.objects.filter(plan=plan).count() == 2


def test_api_refuses_impossible_take_up_with_a_clear_400(plan, client_as):
    y = this_year()
    s = services.scenario_create(plan=plan, name="API", start_year=y, end_year=y + 3)
    url = reverse(
        "planning-api:scenario-option", kwargs={"slug": plan.community.slug, "plan_id": plan.pk, "scenario_id": s.pk}
    )
    r = client_as("convenor").post(
        url, {"kind": "rooftop_pv", "take_up": {str(y + 1): 150}}, content_type="application/json"
    )
    assert r.status_code == 400 and "100%" in r.json()["detail"]
    assert s.options.count() == 0
    r = client_as("convenor").post(
        url, {"kind": "rooftop_pv", "take_up": {str(y + 1): 50}}, content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["take_up"] == {str(y + 1): 50.0}


def test_demo_seed_is_idempotent(db):
    from community.demo import seed_community
    from planning import demo

    community = seed_community()
    plan = demo.seed(community=community)
    again = demo.seed(community=community)
    assert again.pk == plan.pk and plan.versions.count() == 1
    assert plan.scenarios.filter(status=Scenario.Status.DONE).count() == 2
    assert plan.workshops.get().ideas.count() >= 5 and plan.preferences.count() > 50
    assert plan.agreed_scenario is not None


def test_a_ranking_becomes_overall_scores(plan, world, client_as):
    c = client_as("member")
    url = reverse("planning:preferences", kwargs={"slug": plan.community.slug, "plan_id": plan.pk})
    r = c.post(
        url, {"action": "rank", "rank__community_solar": "1", "rank__rooftop_pv": "2", "rank__wind_turbine": "3"}
    )
    assert r.status_code == 302
    mine = selectors.my_preferences(plan, world.users["member"])
    assert mine == {("community_solar", "overall"): 5, ("rooftop_pv", "overall"): 3, ("wind_turbine", "overall"): 1}
    r = c.post(url, {"action": "rank", "rank__community_solar": "1", "rank__rooftop_pv": "1"})
    assert r.status_code == 400 and "different place" in r.content.decode()


def test_saving_a_building_option_again_changes_it(plan):
    y = this_year()
    s = services.scenario_create(plan=plan, name="Edit", start_year=y, end_year=y + 4)
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 10})
    services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={y: 30, y + 4: 60})
    assert s.options.count() == 1 and s.options.get().take_up == {str(y): 30, str(y + 4): 60}


def test_members_see_the_map_without_addresses(plan, client_as):
    url = reverse("planning:plan", kwargs={"slug": plan.community.slug, "plan_id": plan.pk})
    assert "1 Test Street" not in client_as("member").get(url).content.decode()
    assert "1 Test Street" in client_as("convenor").get(url).content.decode()


@pytest.mark.parametrize(
    "key", ["simple_vpp", "rooftop_pv", "advanced_vpp", "energy_share", "wind_dividend", "private_wire"]
)
def test_every_seed_pathway_starts_a_computable_scenario(plan, key):
    y = this_year()
    s = services.scenario_create(plan=plan, name=key, start_year=y, end_year=y + 8, pathway=key)
    assert s.options.exists() and s.description
    done = computed(s)
    assert done.status == Scenario.Status.DONE, done.error
    assert Decimal(done.result["total_capex_gbp"]) > 0


def test_api_import_reports_bad_lines_and_saves_nothing(plan, client_as):
    url = reverse("planning-api:buildings-import", kwargs={"slug": plan.community.slug, "plan_id": plan.pk})
    bad = GOOD_CSV + "v3,,,52.1,-1.9,house,90,D,gas,,,,120,,,\n"
    r = client_as("convenor").post(url, {"text": bad, "dry_run": False}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"line": 4, "message": "Roof tilt must be between 0 and 90 degrees, got 120."}]
    assert plan.buildings.count() == 3
    r = client_as("convenor").post(url, {"text": GOOD_CSV, "dry_run": False}, content_type="application/json")
    assert r.status_code == 201 and r.json()["saved"] == 2 and plan.buildings.count() == 5
    state = (
        client_as("member")
        .get(reverse("planning-api:current-state", kwargs={"slug": plan.community.slug, "plan_id": plan.pk}))
        .json()["current_state"]
    )
    assert state["buildings"] == 5 and state["gas_wh"] > 0


def test_emission_factors_are_editable_per_plan(plan):
    before = selectors.plan_current_state(plan).carbon_kg["gas"]
    services.plan_set_assumptions(plan=plan, values={"gas_kg_per_kwh": "0.366"})
    after = selectors.plan_current_state(plan).carbon_kg["gas"]
    assert after == pytest.approx(2 * before, rel=1e-3)


def test_workshop_list_queries_do_not_grow_with_workshops(plan, client_as, django_assert_max_num_queries):
    url = reverse("planning:workshops", kwargs={"slug": plan.community.slug, "plan_id": plan.pk})
    c = client_as("member")
    for i in range(2):
        services.workshop_create(plan=plan, title=f"W{i}", starts_at=timezone.now())
    with django_assert_max_num_queries(14) as few:
        c.get(url)
    for i in range(6):
        w = services.workshop_create(plan=plan, title=f"X{i}", starts_at=timezone.now())
        services.idea_add(plan=plan, workshop=w, text=f"idea {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get(url)
