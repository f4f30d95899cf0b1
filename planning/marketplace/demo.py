"""Demo data for the project marketplace (``manage.py seed_demo`` calls ``seed``; idempotent).

The Kitwell Wind Farm's benefit fund (from the co-op demo) grants through calls
here: an open call with three proposals at different stages (a draft, one in
review with a reviewer's score and community votes, one approved and in delivery
with its first payment made, linked to the plan's retrofit survey), a completed
grant from last year's call with its outcomes, and a live crowdfunding page with
£1-for-£1 match funding from the fund.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from assets.coop.models import BenefitFund
from community.models import Community, Role
from planning.models import Milestone as PlanAction

from . import services
from .models import Call, Campaign

OPEN_CALL = "Kitwell Wind community projects 2027"
PAST_CALL = "Kitwell Wind small grants 2025"
CROWD = "Solar canopy for the community centre car park"
CRITERIA = [
    {"name": "Carbon saved", "weight": 3, "scale_max": 5, "guidance": "tCO2e a year, with the working shown"},
    {
        "name": "Benefit to Bramley Green",
        "weight": 3,
        "scale_max": 5,
        "guidance": "Who gains, especially the fuel poor",
    },
    {"name": "Can they deliver it?", "weight": 2, "scale_max": 5},
    {"name": "Value for money", "weight": 2, "scale_max": 5},
]
ELIGIBILITY = [
    {"text": "Does the project take place in Bramley Green?", "must_be": True},
    {"text": "Is it run by a not-for-profit group?", "must_be": True},
]


def _say(stdout, msg: str) -> None:
    if stdout is not None:
        stdout.write(f"marketplace: {msg}")


def _user(community, role: str, n: int = 0):
    User = get_user_model()
    return User.objects.filter(memberships__community=community, memberships__role=role).distinct().order_by("pk")[n]


def _household(community, i: int):
    return get_user_model().objects.get(username=f"household{i}")


def _fill(p, who, *, description, summary, organisation, requested, budget, milestones, plan_action=None):
    services.proposal_save_draft(
        proposal=p,
        actor=who,
        values={
            "description": description,
            "summary": summary,
            "organisation": organisation,
            "team": f"{who.get_full_name()} | project lead",
            "requested": requested,
            "budget_text": budget,
            "milestones_text": milestones,
        },
        answers={"q1": True, "q2": True},
        plan_action=plan_action if plan_action is not None else "unchanged",
    )


def _scores(call, values):
    return {str(c.pk): v for c, v in zip(call.criteria.all(), values, strict=True)}


def seed(*, community: Community, stdout=None) -> Call | None:
    if Call.objects.filter(community=community, title=OPEN_CALL).exists():
        _say(stdout, "already there")
        return Call.objects.get(community=community, title=OPEN_CALL)
    fund = BenefitFund.objects.filter(community=community, kind=BenefitFund.Kind.CORPORATE).order_by("pk").first()
    if fund is None:
        _say(stdout, "skipped: no corporate benefit fund (run the co-op demo first)")
        return None
    funder, reviewer = _user(community, Role.FUNDER), _user(community, Role.REVIEWER)
    treasurer = _user(community, Role.TREASURER)
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        # --- last year's call: a completed grant with its outcomes ------------------------
        past = services.call_create(
            community=community,
            fund=fund,
            funder=funder,
            title=PAST_CALL,
            objectives="Small grants for projects that cut energy bills in Bramley Green homes and halls.",
            budget="15000",
            max_award="5000",
            opens_at=now - timedelta(days=540),
            deadline=now - timedelta(days=480),
            criteria=CRITERIA,
            eligibility=ELIGIBILITY,
            support=["money", "mentoring"],
            second_approval_over="2500",
            actor=funder,
        )
        h3 = _household(community, 3)
        old = services.proposal_create(
            call=past,
            applicant=h3,
            title="Draught-proofing 40 Victorian terraces",
            now=past.opens_at + timedelta(days=5),
        )
        _fill(
            old,
            h3,
            description="Volunteers trained by the Energy Champions fit draught strips, letterbox brushes "
            "and chimney balloons in 40 homes on Victoria Terrace.",
            summary="Warmer terraces for 40 households",
            organisation="Bramley Green Energy Champions",
            requested="4200",
            budget="Materials | Strips, brushes, balloons for 40 homes | 2600\nTraining | Two volunteer training days | 900\n"
            "Insurance | Volunteer cover | 700",
            milestones=f"Volunteers trained | {today - timedelta(days=400)} | 1600\n"
            f"40 homes done | {today - timedelta(days=300)} | 2600",
        )
        services.proposal_submit(proposal=old, actor=h3, now=past.deadline - timedelta(days=1))
        a = services.reviewer_assign(proposal=old, reviewer=reviewer, actor=funder)
        services.review_submit(
            assignment=a,
            scores=_scores(past, [4, 5, 4, 5]),
            recommendation="fund",
            comment_panel="Cheap, proven measures; strong volunteer base.",
            comment_applicant="Please record before/after temperatures.",
            actor=reviewer,
        )
        services.proposal_decide(
            proposal=old,
            decision="approve",
            reasons="Top score; low cost per home.",
            message="Congratulations: the panel funds your project in full.",
            actor=funder,
            now=past.deadline + timedelta(days=14),
        )
        g = old.grant
        services.grant_accept(grant=g, actor=h3, now=past.deadline + timedelta(days=16))
        for m in g.milestone_rows.all():
            services.milestone_complete(milestone=m, evidence="Photos and sign-off sheet", actor=h3)
            r = services.payment_request_create(grant=g, amount=m.amount, milestone=m, actor=h3)
            services.payment_approve(request=r, actor=funder)
            if r.amount > past.second_approval_over:
                services.payment_approve(request=r, actor=treasurer)
        for rep, spend in zip(g.reports.all(), ["1550.00", "4200.00", "4200.00"], strict=False):
            services.report_submit(report=rep, progress="On plan; see photos.", spend_to_date=spend, actor=h3)
        services.grant_complete(
            grant=g,
            actor=funder,
            outcomes="40 homes draught-proofed; average living-room temperature up 1.6 °C; estimated 52 tCO2e and "
            "£6,900 of gas saved a year.",
            lessons="Book the volunteers' training before ordering materials; chimney balloons need a follow-up visit.",
        )
        services.call_close(call=past, actor=funder)

        # --- the open call: three proposals at different stages ----------------------------
        call = services.call_create(
            community=community,
            fund=fund,
            funder=funder,
            title=OPEN_CALL,
            objectives="Projects that deliver Bramley Green's energy plan: retrofit, community renewables and "
            "energy advice. The fund also offers mentoring and an hour of an installer's time.",
            budget="40000",
            max_award="12000",
            opens_at=now - timedelta(days=20),
            deadline=now + timedelta(days=40),
            criteria=CRITERIA,
            eligibility=ELIGIBILITY,
            community_review=True,
            support=["money", "mentoring", "expert time", "installer match"],
            second_approval_over="5000",
            actor=funder,
        )
        survey = PlanAction.objects.filter(plan__community=community, title__icontains="retrofit survey").first()
        h7 = _household(community, 7)
        funded = services.proposal_create(call=call, applicant=h7, title="Retrofit survey of Victoria Terrace")
        _fill(
            funded,
            h7,
            description="A retrofit coordinator surveys all 64 homes on Victoria Terrace and writes a "
            "whole-house plan for each, as the plan's roadmap asks.",
            summary="A whole-house plan for every home",
            organisation="Victoria Terrace Residents' Association",
            requested="9600",
            budget="Surveys | 64 PAS 2035 assessments at £120 | 7680\nCoordinator | Reports and residents' evening | 1920",
            milestones=f"First 32 surveys | {today + timedelta(days=60)} | 4800\nAll 64 plans | {today + timedelta(days=150)} | 4800",
            plan_action=survey,
        )
        services.proposal_submit(proposal=funded, actor=h7)
        a = services.reviewer_assign(proposal=funded, reviewer=reviewer, actor=funder)
        services.review_submit(
            assignment=a,
            scores=_scores(call, [4, 5, 5, 4]),
            recommendation="fund",
            comment_panel="Delivers the plan's next roadmap step.",
            actor=reviewer,
        )
        for i in (1, 2, 4, 5, 6):
            services.community_vote_cast(proposal=funded, voter=_household(community, i), support=i != 6)
        services.proposal_decide(
            proposal=funded,
            decision="approve",
            reasons="Delivers the plan; strong support.",
            message="Funded in full. Please sign the agreement to start.",
            actor=funder,
        )
        g2 = funded.grant
        services.grant_accept(grant=g2, actor=h7)
        first = g2.milestone_rows.order_by("due_on").first()
        r = services.payment_request_create(
            grant=g2, amount=first.amount, milestone=first, note="Upfront for surveys", actor=h7
        )
        services.payment_approve(request=r, actor=funder)

        h11 = _household(community, 11)
        review = services.proposal_create(call=call, applicant=h11, title="Heat pump for St Mary's church hall")
        _fill(
            review,
            h11,
            description="Replace the hall's 1990s gas boiler with a 16 kW air-source heat pump and "
            "radiators sized for it; the hall hosts the warm space on winter weekdays.",
            summary="A low-carbon warm space",
            organisation="St Mary's Hall Committee",
            requested="11800",
            budget="Heat pump | 16 kW ASHP installed | 9200\nRadiators | Six larger radiators | 2100\nDesign | Heat-loss survey | 500",
            milestones=f"Installed | {today + timedelta(days=120)} | 11800",
        )
        services.proposal_submit(proposal=review, actor=h11)
        services.reviewer_assign(proposal=review, reviewer=reviewer, actor=funder)
        for i in (1, 2, 3):
            services.community_vote_cast(proposal=review, voter=_household(community, i), support=True)

        h15 = _household(community, 15)
        draft = services.proposal_create(call=call, applicant=h15, title="Community e-cargo bike share")
        services.proposal_save_draft(
            proposal=draft,
            actor=h15,
            values={
                "description": "Two e-cargo bikes charged from the school's solar, shared through the app.",
                "requested": "7000",
                "budget_text": "Bikes | Two e-cargo bikes | 6400",
            },
        )

        # --- live crowdfunding with match funding -------------------------------------------
        h20 = _household(community, 20)
        camp = services.campaign_create(
            community=community,
            owner=h20,
            title=CROWD,
            story="A 30 kW solar canopy over the community centre's car park: shade for the summer fair, power for "
            "the centre and two EV chargers. The Kitwell fund adds £1 for every £1 you pledge, up to £3,000.",
            target="9000",
            deadline=now + timedelta(days=21),
            mode=Campaign.Mode.ALL_OR_NOTHING,
            fee_rate="0.04",
            match_fund=fund,
            match_ratio="1",
            match_cap="3000",
            actor=h20,
        )
        for i, amount in zip(
            range(21, 41),
            [50, 25, 100, 40, 250, 20, 75, 30, 150, 60, 45, 200, 35, 80, 25, 120, 55, 90, 65, 110],
            strict=True,
        ):
            services.pledge_create(
                campaign=camp, backer=_household(community, i), amount=amount, token=secrets.token_hex(8)
            )
    _say(stdout, f"'{OPEN_CALL}' with 3 proposals, a completed grant, '{CROWD}' with {camp.pledges.count()} pledges")
    return call
