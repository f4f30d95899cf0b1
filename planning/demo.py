"""Demo data: Bramley Green's plan in progress (idempotent).

Current state from the community's sites (and their meters where the assets
demo has readings) plus a street of imported older homes; DNO peaks on the
feeders; two computed scenarios; one past workshop with attendance, ideas and
preferences (online and paper); a roadmap; and a published version with PDF.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from community.models import Community, NetworkNode, Role
from planning import services
from planning.models import NodeLoad, Plan, Preference, Scenario

PLAN_TITLE = "Bramley Green Local Energy Plan"
PEAKS = {"PRI-BRG": 1180, "SS-BRG-01": 171, "SS-BRG-02": 148, "SS-BRG-03": 196}


def _imported_csv(feeder_code: str) -> str:
    rng = random.Random(7)
    lines = [
        "ref,address,postcode,lat,lon,building_type,floor_area_m2,epc_band,heating_fuel,annual_elec_kwh,"
        "annual_heating_fuel_kwh,roof_area_m2,roof_tilt_deg,roof_azimuth_deg,existing_pv_kwp,network_node"
    ]
    for i in range(1, 25):
        band = rng.choice("DDEEEFG")
        az = rng.choice([135, 180, 225, 90, 270])
        lines.append(
            f"vic-{i:02d},{i} Victoria Terrace,B30 4VT,{52.4296 + i * 0.00007:.6f},{-1.9318 + (i % 6) * 0.0002:.6f},"
            f"house,{rng.randint(70, 115)},{band},gas,,,{rng.randint(18, 32)},{rng.choice([30, 35, 40])},{az},0,"
            f"{feeder_code}"
        )
    lines.append("chapel,Bramley Chapel,B30 4CH,52.43120,-1.93050,community,260,F,oil,,14000,120,25,180,0,SS-BRG-02")
    return "\n".join(lines) + "\n"


def seed(*, community: Community, stdout=None) -> Plan:
    def say(msg):
        if stdout is not None:
            stdout.write(msg)

    existing = Plan.objects.filter(community=community, title=PLAN_TITLE).first()
    if existing is not None and existing.versions.exists():
        say(f"planning: {PLAN_TITLE} already there")
        return existing
    User = get_user_model()
    convenor = (
        User.objects.filter(memberships__community=community, memberships__role=Role.CONVENOR).first()
        or User.objects.filter(is_superuser=True).first()
    )
    plan = existing or services.plan_create(
        community=community,
        title=PLAN_TITLE,
        actor=convenor,
        area_description="Sixty homes on three streets, Victoria Terrace's older houses, the primary school, "
        "the community centre and the chapel. We want warmer homes, lower bills and more of our "
        "energy made here, without overloading the streets' substations.",
    )
    services.plan_sync_sites(plan=plan, actor=convenor)
    feeders = list(NetworkNode.objects.filter(community=community, kind="feeder").order_by("code"))
    if feeders:
        services.plan_buildings_import(plan=plan, text=_imported_csv(feeders[0].code), dry_run=False, actor=convenor)
    for code, peak in PEAKS.items():
        node = NetworkNode.objects.filter(community=community, code=code).first()
        if node is not None:
            NodeLoad.objects.update_or_create(
                node=node,
                defaults={"peak_kw": peak, "source": "WPD/NGED open data, network capacity map (demo figures)"},
            )
    services.plan_set_assumptions(plan=plan, values={"grid_decline_per_year": "0.05"}, actor=convenor)

    year = timezone.now().year
    scenarios = []
    specs = [
        (
            "Rooftop solar first",
            "Solar on every suitable roof by 2032, batteries following; heat pumps where homes are ready.",
            [
                ("rooftop_pv", {year: 10, year + 3: 40, year + 6: 60}, {}),
                ("battery", {year + 1: 5, year + 8: 30}, {}),
                ("heat_pump", {year + 2: 5, 2040: 35}, {}),
                ("ev_charger", {year: 10, 2040: 60}, {"smart": "1"}),
            ],
        ),
        (
            "Warm homes and shared heat",
            "Retrofit the leakiest homes to band C, then a shared ground loop on "
            "Victoria Terrace and a community solar array on the school field.",
            [
                ("retrofit", {year: 10, year + 5: 50, 2040: 80}, {"target_band": "C"}),
                ("ground_loop", {year + 3: 20, 2040: 40}, {}),
                ("heat_pump", {year + 2: 10, 2040: 40}, {}),
                ("community_solar", {year + 2: 100}, {"kwp": "250", "node": "SS-BRG-01"}),
                ("ev_charger", {year: 10, 2040: 70}, {}),
            ],
        ),
    ]
    for name, description, options in specs:
        s = Scenario.objects.filter(plan=plan, name=name).first() or services.scenario_create(
            plan=plan, name=name, description=description, start_year=year, end_year=2040, actor=convenor
        )
        for kind, take_up, params in options:
            key = f"{kind}-1"
            services.scenario_option_save(
                scenario=s, kind=kind, take_up=take_up, params=params, key=key, actor=convenor
            )
        Scenario.objects.filter(pk=s.pk).update(status=Scenario.Status.QUEUED)
        scenarios.append(services.scenario_compute(scenario_id=s.pk))
        say(f"planning: computed scenario {name}: {scenarios[-1].status}")

    # a past workshop with attendance, ideas and preferences
    workshop = plan.workshops.filter(title="Our energy, our street").first()
    if workshop is None:
        workshop = services.workshop_create(
            plan=plan,
            title="Our energy, our street",
            starts_at=(timezone.now() - timedelta(days=21)).replace(hour=18, minute=30, second=0, microsecond=0),
            location="Bramley Green Community Centre",
            actor=convenor,
            description="What do we have, what do we want, what worries us? Maps, sticky notes and tea.",
        )
        members = [m.user for m in community.memberships.select_related("user").filter(role=Role.MEMBER)]
        services.workshop_invite(workshop=workshop, users=members, actor=convenor)
        rng = random.Random(11)
        came = rng.sample(members, min(len(members), 18))
        for u in came:
            services.attendance_record(workshop=workshop, user=u, actor=convenor)
        walk_ins = ("Mrs P. Dhillon", "Ken (Chapel)", "Sheet 7")
        for name in walk_ins:
            services.attendance_record(workshop=workshop, name=name, actor=convenor)
        services.workshop_record(
            workshop=workshop,
            held=True,
            actor=convenor,
            notes=(
                f"{len(came) + len(walk_ins)} people signed in. Strong interest in solar and in cutting bills; worries about the cost of heat pumps and "
                "about disruption on Victoria Terrace. The school would host a solar array if the community owns it. "
                "Wind turbine split the room: some love it, the houses nearest the field do not."
            ),
        )
        ideas = [
            ("Bulk-buy solar panels together to get a better price", "Amira", "rooftop_pv"),
            ("Solar on the school roof and field, owned by a community co-op", "Head teacher", "community_solar"),
            ("Insulate the Victoria Terrace houses first — they are the coldest", "Ken", "retrofit"),
            ("A small wind turbine on the ridge", "Tariq", "wind_turbine"),
            ("Shared EV chargers at the community centre", "Grace", "ev_charger"),
            ("Improve the park path lighting with solar lamps", "Sheet 7", ""),
        ]
        for text, who, kind in ideas:
            services.idea_add(plan=plan, workshop=workshop, text=text, raised_by=who, option_kind=kind, actor=convenor)
        # preferences: members online, plus paper sheets; wind deliberately divided
        views = {
            "rooftop_pv": [5, 5, 4, 4, 5, 3, 4],
            "community_solar": [5, 4, 4, 5, 3, 4, 5],
            "retrofit": [4, 5, 4, 3, 4, 5, 4],
            "heat_pump": [3, 2, 4, 3, 2, 3, 4],
            "wind_turbine": [5, 1, 1, 5, 4, 1, 5],
            "ev_charger": [3, 4, 3, 2, 4, 3, 3],
            "battery": [3, 4, 3, 4, 3, 3, 2],
            "ground_loop": [3, 4, 2, 3, 4, 3, 3],
        }
        for i, u in enumerate(came):
            for kind, scores in views.items():
                base = scores[i % len(scores)]
                services.preference_record(
                    plan=plan,
                    user=u,
                    option_kind=kind,
                    criterion="overall",
                    score=min(5, max(1, base + rng.choice([0, 0, 0, -1, 1]))),
                    actor=u,
                )
            services.preference_record(
                plan=plan,
                user=u,
                option_kind="wind_turbine",
                criterion="landscape",
                score=rng.choice([1, 1, 2, 4, 5]),
                actor=u,
            )
            services.preference_record(
                plan=plan,
                user=u,
                option_kind="retrofit",
                criterion="disruption",
                score=rng.choice([2, 2, 3, 3, 4]),
                actor=u,
            )
        for j in range(1, 6):
            for kind in ("rooftop_pv", "wind_turbine", "retrofit"):
                services.preference_record(
                    plan=plan,
                    participant=f"Paper sheet {j}",
                    option_kind=kind,
                    criterion="overall",
                    score=[5, 2, 4, 1, 4][(j + len(kind)) % 5],
                    source=Preference.Source.PAPER,
                    workshop=workshop,
                    actor=convenor,
                )
    if not plan.milestones.exists():
        for y, title, block, kind in [
            (year, "Solar Together-style group purchase for rooftop PV", "purchasing", "rooftop_pv"),
            (year + 1, "Retrofit survey of Victoria Terrace", "purchasing", "retrofit"),
            (year + 2, "Community solar array on the school field (co-op share offer)", "anchor", "community_solar"),
            (year + 3, "Homes with batteries join the flexibility VPP", "vpp", "battery"),
            (year + 4, "Local energy market for the array's output", "lem", ""),
            (2035, "Shared ground loop on Victoria Terrace", "anchor", "ground_loop"),
        ]:
            services.milestone_add(
                plan=plan, year=y, title=title, building_block=block, option_kind=kind, actor=convenor
            )
    done = [s for s in scenarios if s.status == Scenario.Status.DONE]
    if done and plan.agreed_scenario_id is None:
        services.plan_agree_target(
            plan=plan,
            scenario=done[-1],
            actor=convenor,
            statement=(
                "By 2040: every home warm and at least band C, half our electricity made in Bramley Green, and "
                "the streets' substations never overloaded - phased so that nobody is left behind."
            ),
        )
    version = services.plan_publish(plan=plan, actor=convenor)
    say(f"planning: published {PLAN_TITLE} v{version.number}")
    return plan
