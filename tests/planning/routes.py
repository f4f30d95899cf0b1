"""Who may use each planning URL (walked by tests/test_permission_matrix.py).

Reading the plan is for everyone in the community; changing it is for the
convenor; the building list (addresses) is the convenor's only; members
score options and put ideas forward themselves.
"""

from community.models import Role
from tests.routes import ANY_ROLE, Route, roles

CONVENOR = roles(Role.CONVENOR)
TEXT_CSV = "ref,lat,lon,building_type,floor_area_m2\nx1,52.1,-1.9,house,90\n"


def _plan(w):
    if "plan" not in w.extra:
        from planning import services

        plan = services.plan_create(community=w.community, title="Test plan", actor=w.users["convenor"])
        services.plan_sync_sites(plan=plan)
        w.extra["plan"] = plan
    return w.extra["plan"]


def _scenario(w):
    if "scenario" not in w.extra:
        from planning import services

        s = services.scenario_create(plan=_plan(w), name="Solar", start_year=2026, end_year=2030)
        w.extra["option"] = services.scenario_option_save(scenario=s, kind="rooftop_pv", take_up={2026: 10, 2030: 50})
        w.extra["scenario"] = s
    return w.extra["scenario"]


def _workshop(w):
    if "workshop" not in w.extra:
        from django.utils import timezone

        from planning import services

        w.extra["workshop"] = services.workshop_create(plan=_plan(w), title="Kick-off", starts_at=timezone.now())
    return w.extra["workshop"]


def _milestone(w):
    if "milestone" not in w.extra:
        from django.utils import timezone

        from planning import services

        w.extra["milestone"] = services.milestone_add(
            plan=_plan(w), year=timezone.now().year + 1, title="Group purchase", building_block="purchasing"
        )
    return w.extra["milestone"]


def _version(w):
    if "version" not in w.extra:
        from planning import services

        w.extra["version"] = services.plan_publish(plan=_plan(w))
    return w.extra["version"]


def p(w):
    return {"slug": w.community.slug, "plan_id": _plan(w).pk}


def s(w):
    return {**p(w), "scenario_id": _scenario(w).pk}


def api_p(w):
    return {"slug": w.community.slug, "plan_id": _plan(w).pk}


ROUTES = [
    Route("planning:index", ANY_ROLE, query="?all=1"),
    Route(
        "planning:index",
        CONVENOR,
        method="post",
        data=lambda w: {"title": "Another plan"},
        label="POST planning:index (start a plan)",
    ),
    Route("planning:plan", ANY_ROLE, kwargs=p),
    Route("planning:buildings", CONVENOR, kwargs=p),
    Route(
        "planning:buildings",
        CONVENOR,
        kwargs=p,
        method="post",
        data=lambda w: {"text": TEXT_CSV, "check": "1"},
        label="POST planning:buildings (dry run)",
    ),
    Route("planning:buildings_export", CONVENOR, kwargs=p),
    Route("planning:buildings_sync", CONVENOR, kwargs=p, method="post"),
    Route("planning:network", ANY_ROLE, kwargs=p),
    Route(
        "planning:network",
        CONVENOR,
        kwargs=p,
        method="post",
        label="POST planning:network (dry run)",
        data=lambda w: {"text": "node_ref,parent_ref,level,capacity_kw,peak_kw\nF1,P1,feeder,220,150\n", "check": "1"},
    ),
    Route("planning:options", ANY_ROLE, kwargs=p),
    Route(
        "planning:options",
        CONVENOR,
        kwargs=p,
        method="post",
        data=lambda w: {"pv_cost_per_kw": "1000"},
        label="POST planning:options (assumptions)",
    ),
    Route("planning:scenarios", ANY_ROLE, kwargs=p),
    Route(
        "planning:scenarios",
        CONVENOR,
        kwargs=p,
        method="post",
        label="POST planning:scenarios (create)",
        data=lambda w: {"name": "New", "start_year": "2026", "end_year": "2035"},
    ),
    Route("planning:scenario", ANY_ROLE, kwargs=s),
    Route(
        "planning:scenario",
        CONVENOR,
        kwargs=s,
        method="post",
        label="POST planning:scenario (option)",
        data=lambda w: {"kind": "heat_pump", "take_up": "2027: 10, 2030: 30"},
    ),
    Route("planning:scenario_compute", CONVENOR, kwargs=s, method="post"),
    Route("planning:scenario_progress", ANY_ROLE, kwargs=s),
    Route(
        "planning:option_delete", CONVENOR, method="post", kwargs=lambda w: {**s(w), "option_id": w.extra["option"].pk}
    ),
    Route("planning:compare", ANY_ROLE, kwargs=p),
    Route("planning:workshops", ANY_ROLE, kwargs=p),
    Route(
        "planning:workshops",
        CONVENOR,
        kwargs=p,
        method="post",
        label="POST planning:workshops (schedule)",
        data=lambda w: {"title": "Open evening", "starts_at": "2026-12-01T19:00"},
    ),
    Route("planning:workshop", ANY_ROLE, kwargs=lambda w: {**p(w), "workshop_id": _workshop(w).pk}),
    Route(
        "planning:workshop",
        CONVENOR,
        method="post",
        label="POST planning:workshop (notes)",
        kwargs=lambda w: {**p(w), "workshop_id": _workshop(w).pk},
        data=lambda w: {"action": "notes", "notes": "Good turnout"},
    ),
    Route("planning:idea_add", ANY_ROLE, kwargs=p, method="post", data=lambda w: {"text": "Solar on the hall"}),
    Route("planning:preferences", ANY_ROLE, kwargs=p),
    Route(
        "planning:preferences",
        ANY_ROLE,
        kwargs=p,
        method="post",
        data=lambda w: {"rooftop_pv__overall": "4"},
        label="POST planning:preferences (own scores)",
    ),
    Route(
        "planning:preferences",
        CONVENOR,
        kwargs=p,
        method="post",
        label="POST planning:preferences (paper)",
        data=lambda w: {
            "action": "paper",
            "participant": "Sheet 1",
            "option_kind": "rooftop_pv",
            "criterion": "overall",
            "score": "5",
        },
    ),
    Route("planning:roadmap", ANY_ROLE, kwargs=p),
    Route(
        "planning:roadmap",
        CONVENOR,
        kwargs=p,
        method="post",
        label="POST planning:roadmap (milestone)",
        data=lambda w: {"year": "2030", "title": "Solar array", "building_block": "anchor"},
    ),
    Route(
        "planning:milestone_delete",
        CONVENOR,
        method="post",
        kwargs=lambda w: {**p(w), "milestone_id": _milestone(w).pk},
    ),
    Route("planning:publish", CONVENOR, kwargs=p, label="GET planning:publish (confirm first)"),
    Route("planning:publish", CONVENOR, kwargs=p, method="post", data=lambda w: {"confirm": "yes"}),
    Route("planning:published", ANY_ROLE, kwargs=p),
    Route("planning:version", ANY_ROLE, kwargs=lambda w: {**p(w), "number": _version(w).number}),
    Route("planning:version_pdf", ANY_ROLE, kwargs=lambda w: {**p(w), "number": _version(w).number}),
    # API
    Route("planning-api:plan-list", ANY_ROLE, kwargs=lambda w: {"slug": w.community.slug}, api=True, setup=_plan),
    Route(
        "planning-api:plan-list",
        CONVENOR,
        kwargs=lambda w: {"slug": w.community.slug},
        api=True,
        method="post",
        data=lambda w: {"title": "API plan"},
        label="POST planning-api:plan-list",
    ),
    Route("planning-api:scenario-list", ANY_ROLE, kwargs=api_p, api=True),
    Route(
        "planning-api:scenario-list",
        CONVENOR,
        kwargs=api_p,
        api=True,
        method="post",
        data=lambda w: {"name": "API scenario", "start_year": 2026, "end_year": 2030},
        label="POST planning-api:scenario-list",
    ),
    Route(
        "planning-api:scenario-detail",
        ANY_ROLE,
        kwargs=lambda w: {**api_p(w), "scenario_id": _scenario(w).pk},
        api=True,
    ),
    Route(
        "planning-api:scenario-option",
        CONVENOR,
        api=True,
        method="post",
        kwargs=lambda w: {**api_p(w), "scenario_id": _scenario(w).pk},
        data=lambda w: {"kind": "ev_charger", "take_up.2027": "20"},
    ),
    Route(
        "planning-api:scenario-compute",
        CONVENOR,
        api=True,
        method="post",
        kwargs=lambda w: {**api_p(w), "scenario_id": _scenario(w).pk},
    ),
    Route(
        "planning-api:preference-record",
        ANY_ROLE,
        kwargs=api_p,
        api=True,
        method="post",
        data=lambda w: {"option_kind": "wind_turbine", "score": 2},
    ),
    Route("planning-api:version-list", ANY_ROLE, kwargs=api_p, api=True),
    Route(
        "planning-api:buildings-import",
        CONVENOR,
        kwargs=api_p,
        api=True,
        method="post",
        data=lambda w: {"text": TEXT_CSV, "dry_run": "true"},
    ),
    Route("planning-api:current-state", ANY_ROLE, kwargs=api_p, api=True),
]
