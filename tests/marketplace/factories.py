"""Builders for marketplace tests: a funded benefit fund, a call with its rubric,
a submitted proposal, a campaign. Plain functions over the real services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from assets.coop import services as coop
from planning.marketplace import services
from planning.marketplace.models import Call

BUDGET = "Equipment | Battery and inverter | 4000.00\nLabour | Installer | 1000.00"
MILESTONES = "Battery installed | {d1} | 3000.00\nFirst year report | {d2} | 2000.00"


def fund(world, amount="50000"):
    f = coop.corporate_fund_create(
        community=world.community,
        name="Test Wind benefit fund",
        company_name="Test Wind Ltd",
        asset_name="Test Wind",
        capacity_kw=Decimal(6000),
        pounds_per_mw_year=Decimal(5000),
    )
    coop.fund_payment_record(fund=f, amount=Decimal(amount), received_on=date(2026, 4, 1), description="Annual")
    return f


def call(world, *, the_fund=None, stages=Call.Stages.SINGLE, community_review=False, now=None, **kw):
    now = now or timezone.now()
    the_fund = the_fund or fund(world)
    args = dict(
        community=world.community,
        fund=the_fund,
        funder=world.users["funder"],
        title="Warm homes 2027",
        objectives="Cut fuel poverty and carbon in Test Green homes.",
        budget="20000",
        max_award="8000",
        opens_at=now - timedelta(days=10),
        deadline=now + timedelta(days=20),
        full_deadline=now + timedelta(days=50) if stages == Call.Stages.TWO_STAGE else None,
        stages=stages,
        community_review=community_review,
        criteria=[
            {"name": "Carbon saved", "weight": 3, "scale_max": 5},
            {"name": "Community benefit", "weight": 2, "scale_max": 5},
            {"name": "Deliverability", "weight": 1, "scale_max": 10},
        ],
        eligibility=[{"text": "Is the project in Test Green?", "must_be": True}],
        support=["money", "mentoring"],
        second_approval_over="2500",
        actor=world.users["funder"],
    )
    args.update(kw)
    return services.call_create(**args)


def filled_proposal(world, the_call, *, applicant=None, title="Battery for the scout hut", submit=True, **values):
    applicant = applicant or world.users["member"]
    today = timezone.localdate()
    p = services.proposal_create(call=the_call, applicant=applicant, title=title)
    data = {
        "description": "A 10 kWh battery stores the hut's solar for evening use.",
        "summary": "Evening solar for the scouts",
        "organisation": "1st Test Scouts",
        "team": "Ann Leader | project lead",
        "requested": "5000",
        "budget_text": BUDGET,
        "milestones_text": MILESTONES.format(d1=today + timedelta(days=60), d2=today + timedelta(days=400)),
    }
    data.update(values)
    q = the_call.eligibility[0]["id"] if the_call.eligibility else None
    services.proposal_save_draft(proposal=p, actor=applicant, values=data, answers={q: True} if q else {})
    if submit:
        services.proposal_submit(proposal=p, actor=applicant)
    p.refresh_from_db()
    return p


def reviewed(world, proposal, scores=None):
    a = services.reviewer_assign(proposal=proposal, reviewer=world.users["reviewer"], actor=world.users["funder"])
    crit = list(proposal.call.criteria.all())
    scores = scores or {str(c.pk): c.scale_max - 1 for c in crit}
    services.review_submit(assignment=a, scores=scores, recommendation="fund", actor=world.users["reviewer"])
    proposal.refresh_from_db()
    return a


def approved(world, proposal, amount=None):
    reviewed(world, proposal)
    services.proposal_decide(
        proposal=proposal,
        decision="approve",
        reasons="Strong carbon case.",
        message="Well done!",
        amount=amount,
        actor=world.users["funder"],
    )
    proposal.refresh_from_db()
    return proposal.grant
