"""The frozen content of a published plan version (JSON, rendered as page and PDF)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.utils import timezone

from planning import selectors
from planning.domain.modelling import OPTION_LABELS
from planning.domain.reference import CIBSE_SOURCE, COP_SOURCE, EPC_SOURCE, OFGEM_TDCV_SOURCE, SAP_SOURCE
from planning.models import Milestone, Plan

METHOD_NOTES = [
    (
        "Demand where not metered",
        f"{OFGEM_TDCV_SOURCE}, scaled by floor area and EPC band ({EPC_SOURCE}); non-domestic: {CIBSE_SOURCE}.",
    ),
    (
        "Solar PV yield",
        "pvlib clear-sky + sun position for each roof's location, tilt and orientation, scaled month "
        f"by month to {SAP_SOURCE}; Erbs beam/diffuse split, Hay-Davies transposition, PVWatts.",
    ),
    ("Heat pumps", f"Hourly COP from outdoor temperature: {COP_SOURCE}."),
    (
        "Hourly profiles",
        "8,760-hour year; BDEW H25/G25 electricity shapes (demandlib); heating degree-hours at "
        "15.5 degC from SAP Table U1 temperatures.",
    ),
]


def _spread(s) -> dict | None:
    return None if s is None else asdict(s)


def plan_snapshot(plan: Plan, *, version: int, published_by: Any = None) -> dict:
    cs = selectors.plan_current_state(plan)
    scenarios = []
    for s in selectors.computed_scenarios(plan):
        scenarios.append(
            {
                "id": s.pk,
                "name": s.name,
                "description": s.description,
                "start_year": s.start_year,
                "end_year": s.end_year,
                "result": s.result,
                "options": [
                    {"kind": o.kind, "label": o.label, "take_up": o.take_up, "params": o.params}
                    for o in s.options.all()
                ],
            }
        )
    workshops = []
    for w in selectors.workshops(plan).order_by("starts_at"):
        workshops.append(
            {
                "title": w.title,
                "starts_at": timezone.localtime(w.starts_at).strftime("%d %b %Y %H:%M"),
                "location": w.location,
                "held": w.held,
                "notes": w.notes,
                "invited": w.n_invited,
                "attended": w.n_attended,
                "ideas": [
                    {"text": i.text, "raised_by": i.raised_by, "option": OPTION_LABELS.get(i.option_kind, "")}
                    for i in w.ideas.all()
                ],
            }
        )
    loose_ideas = [
        {"text": i.text, "raised_by": i.raised_by, "option": OPTION_LABELS.get(i.option_kind, "")}
        for i in plan.ideas.filter(workshop__isnull=True)
    ]
    prefs = [
        {
            "kind": r["kind"],
            "label": r["label"],
            "overall": _spread(r["overall"]),
            "criteria": [[label, _spread(s)] for label, s in r["criteria"]],
        }
        for r in selectors.preference_summary(plan)
    ]
    blocks = dict(Milestone.Block.choices)
    milestones = [
        {
            "year": m.year,
            "title": m.title,
            "description": m.description,
            "done": m.done,
            "building_block": blocks.get(m.building_block, m.building_block),
            "option": OPTION_LABELS.get(m.option_kind, ""),
        }
        for m in plan.milestones.all()
    ]
    return {
        "version": version,
        "title": plan.title,
        "community": plan.community.name,
        "area_description": plan.area_description,
        "published_at": timezone.now().isoformat(),
        "published_by": (published_by.get_full_name() or published_by.username)
        if getattr(published_by, "is_authenticated", False)
        else "",
        "target_statement": plan.target_statement,
        "agreed_scenario": plan.agreed_scenario.name if plan.agreed_scenario_id else "",
        "current_state": asdict(cs) if cs else None,
        "buildings": plan.buildings.count(),
        "headroom": [
            {
                "name": r["node"].name,
                "kind": r["node"].get_kind_display(),
                "capacity_kw": float(r["node"].import_capacity_kw),
                "peak_kw": None if r["peak_kw"] is None else float(r["peak_kw"]),
                "headroom_kw": None if r["headroom_kw"] is None else float(r["headroom_kw"]),
            }
            for r in selectors.headroom_rows(plan)
        ],
        "scenarios": scenarios,
        "assumptions": [{k: v for k, v in row.items()} for row in selectors.assumption_rows(plan)],
        "methods": [list(m) for m in METHOD_NOTES],
        "workshops": workshops,
        "ideas": loose_ideas,
        "preferences": prefs,
        "milestones": milestones,
    }
