"""Marketplace write paths against the database: what a funder, applicant, reviewer or backer would check."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assets.coop.selectors import fund_totals
from community.errors import DomainError
from community.models import AuditEvent, JournalEntry, JournalLine, LedgerAccount
from community.selectors import ledger_verify
from planning.marketplace import services
from planning.marketplace.models import Campaign, Grant, PaymentRequest, Pledge, Proposal, ReviewAssignment
from planning.marketplace.tasks import campaign_close_task, marketplace_sweep
from tests.marketplace import factories as f

pytestmark = pytest.mark.django_db


def _balance(community, code) -> Decimal:
    acc = LedgerAccount.objects.get(community=community, code=code)
    return sum((line.amount for line in JournalLine.objects.filter(account=acc)), Decimal(0))


# --- proposals -------------------------------------------------------------------------


def test_a_late_submission_is_refused_and_the_draft_stays_a_draft(world):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False)
    with pytest.raises(DomainError, match="Too late"):
        services.proposal_submit(proposal=p, actor=world.users["member"], now=call.deadline + timedelta(seconds=1))
    p.refresh_from_db()
    assert p.status == Proposal.Status.DRAFT and p.submitted_at is None


def test_a_budget_that_does_not_add_up_is_refused(world):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False, requested="6000")
    with pytest.raises(DomainError, match="add up to £5,000.00 but you ask for £6,000.00") as exc:
        services.proposal_submit(proposal=p, actor=world.users["member"])
    assert exc.value.field == "budget_text"
    assert Proposal.objects.get(pk=p.pk).status == Proposal.Status.DRAFT


def test_an_ineligible_proposal_cannot_be_submitted(world):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False)
    services.proposal_save_draft(proposal=p, actor=world.users["member"], values={}, answers={"q1": False})
    with pytest.raises(DomainError, match="Not eligible: Is the project in Test Green"):
        services.proposal_submit(proposal=p, actor=world.users["member"])


def test_drafts_save_whatever_was_typed_and_submit_records_the_history(world):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False, budget_text="Kit | half-typed")
    assert Proposal.objects.get(pk=p.pk).budget_text == "Kit | half-typed"
    services.proposal_save_draft(proposal=p, actor=world.users["member"], values={"budget_text": f.BUDGET})
    services.proposal_submit(proposal=p, actor=world.users["member"])
    ev = AuditEvent.objects.get(action="marketplace.proposal_status", object_id=str(p.pk))
    assert ev.changes == {"status": ["draft", "submitted"]}


def test_attachments_are_limited_by_type_and_size(world):
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False)
    member = world.users["member"]
    with pytest.raises(DomainError, match="not a type we accept"):
        services.attachment_add(proposal=p, upload=SimpleUploadedFile("run.exe", b"MZ"), actor=member)
    with pytest.raises(DomainError, match="does not look like a .pdf"):
        services.attachment_add(proposal=p, upload=SimpleUploadedFile("plan.pdf", b"<html>"), actor=member)
    big = SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * (10 * 1024 * 1024))
    with pytest.raises(DomainError, match="the limit is 10 MB"):
        services.attachment_add(proposal=p, upload=big, actor=member)
    att = services.attachment_add(proposal=p, upload=SimpleUploadedFile("plan.pdf", b"%PDF-1.4 x"), actor=member)
    assert att.content_type == "application/pdf" and p.attachments.count() == 1


# --- review ----------------------------------------------------------------------------


def test_nobody_reviews_their_own_proposal(world):
    call = f.call(world)
    reviewer = world.users["reviewer"]
    p = f.filled_proposal(world, call, applicant=reviewer)
    with pytest.raises(DomainError, match="part of this proposal and can never review it"):
        services.reviewer_assign(proposal=p, reviewer=reviewer, actor=world.users["funder"])
    q = f.filled_proposal(world, call, submit=False, title="Team idea")
    services.proposal_save_draft(proposal=q, actor=world.users["member"], values={}, team_users=[reviewer])
    services.proposal_submit(proposal=q, actor=world.users["member"])
    with pytest.raises(DomainError, match="can never review it"):
        services.reviewer_assign(proposal=q, reviewer=reviewer, actor=world.users["funder"])
    assert not ReviewAssignment.objects.exists()


def test_a_conflicted_reviewer_cannot_score(world):
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    services.conflict_declare(assignment=a, reason="My neighbour", actor=world.users["reviewer"])
    scores = {str(c.pk): 3 for c in p.call.criteria.all()}
    with pytest.raises(DomainError, match="declared a conflict"):
        services.review_submit(assignment=a, scores=scores, recommendation="fund", actor=world.users["reviewer"])
    assert not p.reviews.exists()


def test_a_score_off_the_scale_is_refused_and_nothing_saved(world):
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    crit = list(p.call.criteria.all())
    scores = {str(c.pk): 3 for c in crit} | {str(crit[0].pk): 7}
    with pytest.raises(DomainError, match="off the scale"):
        services.review_submit(assignment=a, scores=scores, recommendation="fund", actor=world.users["reviewer"])
    a.refresh_from_db()
    assert a.status == ReviewAssignment.Status.PENDING and not p.reviews.exists()


def test_review_stores_the_weighted_total(world):
    p = f.filled_proposal(world, f.call(world))
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    c1, c2, c3 = p.call.criteria.all()
    # (3*5 + 2*5 + 1*0) / (15 + 10 + 10) = 71.4 %
    r = services.review_submit(
        assignment=a,
        scores={str(c1.pk): 5, str(c2.pk): 5, str(c3.pk): 0},
        recommendation="fund",
        actor=world.users["reviewer"],
    )
    assert r.weighted_total == Decimal("71.4")


def test_community_vote_is_one_member_one_vote(world):
    call = f.call(world, community_review=True)
    p = f.filled_proposal(world, call, applicant=world.users["convenor"])
    services.community_vote_cast(proposal=p, voter=world.users["member"], support=True)
    services.community_vote_cast(proposal=p, voter=world.users["member"], support=False)
    assert p.votes.count() == 1 and not p.votes.get().support
    with pytest.raises(DomainError, match="Only members vote"):
        services.community_vote_cast(proposal=p, voter=world.users["funder"], support=True)


def test_two_stage_concept_is_invited_then_submitted_in_full(world):
    call = f.call(world, stages="two_stage")
    p = f.filled_proposal(world, call, budget_text="", milestones_text="")
    assert p.stage == "concept" and p.status == "submitted"
    services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    with pytest.raises(DomainError, match="invited to a full proposal before any award"):
        services.proposal_decide(proposal=p, decision="approve", reasons="r", message="m", actor=world.users["funder"])
    services.proposal_decide(
        proposal=p,
        decision="invite",
        reasons="Promising",
        message="Please send the full proposal",
        actor=world.users["funder"],
    )
    p.refresh_from_db()
    assert (p.stage, p.status) == ("full", "draft")
    services.proposal_save_draft(
        proposal=p,
        actor=world.users["member"],
        values={"budget_text": f.BUDGET, "milestones_text": "All | 2030-01-01 | 5000"},
    )
    # after the concept deadline, before the full-proposal deadline
    services.proposal_submit(proposal=p, actor=world.users["member"], now=call.deadline + timedelta(days=1))
    # the same reviewer reviews the full proposal afresh
    a = services.reviewer_assign(proposal=p, reviewer=world.users["reviewer"], actor=world.users["funder"])
    assert a.stage == "full" and p.assignments.count() == 2


# --- decision and grant money -------------------------------------------------------------


def test_approval_commits_the_fund_and_the_decision_is_in_the_trail(world):
    call = f.call(world)
    before = fund_totals(call.fund)["balance"]
    p = f.filled_proposal(world, call)
    grant = f.approved(world, p, amount="4000")
    assert grant.amount == Decimal("4000") and grant.status == Grant.Status.OFFERED
    assert fund_totals(call.fund)["balance"] == before - Decimal("4000")
    # milestones scaled from 3000/2000 of 5000 to the 4000 awarded
    assert [m.amount for m in grant.milestone_rows.all()] == [Decimal("2400.00"), Decimal("1600.00")]
    assert _balance(world.community, f"mkt:grant:{grant.pk}:payable") == Decimal("-4000.00")
    trail = list(AuditEvent.objects.filter(action="marketplace.proposal_status", object_id=str(p.pk)).order_by("id"))
    assert [e.changes["status"] for e in trail] == [
        ["draft", "submitted"],
        ["submitted", "in_review"],
        ["in_review", "approved"],
    ]
    assert ledger_verify(world.community).ok


def test_an_award_beyond_the_fund_balance_is_refused_and_nothing_changes(world):
    call = f.call(world, the_fund=f.fund(world, amount="3000"))
    p = f.filled_proposal(world, call)
    f.reviewed(world, p)
    entries = JournalEntry.objects.count()
    with pytest.raises(DomainError, match="holds £3,000.00; it cannot grant £5,000.00"):
        services.proposal_decide(proposal=p, decision="approve", reasons="r", message="m", actor=world.users["funder"])
    p.refresh_from_db()
    assert p.status == Proposal.Status.IN_REVIEW and not Grant.objects.exists()
    assert JournalEntry.objects.count() == entries


def test_payment_beyond_the_award_is_refused(world):
    grant = f.approved(world, f.filled_proposal(world, f.call(world)))
    services.grant_accept(grant=grant, actor=world.users["member"])
    with pytest.raises(DomainError, match="£5,000.00 of the £5,000.00 is left"):
        services.payment_request_create(grant=grant, amount="5000.01", milestone=None, actor=world.users["member"])
    assert not PaymentRequest.objects.exists()


def test_large_payments_need_two_different_approvers_then_post_to_the_ledger(world):
    call = f.call(world)
    grant = f.approved(world, f.filled_proposal(world, call))
    services.grant_accept(grant=grant, actor=world.users["member"])
    ms = grant.milestone_rows.first()
    req = services.payment_request_create(grant=grant, amount="3000", milestone=ms, actor=world.users["member"])
    bank = f"fund:{call.fund.pk}:bank"
    before = _balance(world.community, bank)
    req = services.payment_approve(request=req, actor=world.users["funder"])
    assert req.status == PaymentRequest.Status.PARTLY
    with pytest.raises(DomainError, match="second, different person"):
        services.payment_approve(request=req, actor=world.users["funder"])
    req = services.payment_approve(request=req, actor=world.users["treasurer"])
    assert req.status == PaymentRequest.Status.PAID
    assert _balance(world.community, bank) == before - Decimal("3000")
    assert _balance(world.community, f"mkt:grant:{grant.pk}:payable") == Decimal("-2000.00")
    assert ledger_verify(world.community).ok


def test_the_requester_cannot_approve_their_own_payment(world):
    grant = f.approved(world, f.filled_proposal(world, f.call(world)))
    services.grant_accept(grant=grant, actor=world.users["member"])
    req = services.payment_request_create(grant=grant, amount="100", milestone=None, actor=world.users["member"])
    with pytest.raises(DomainError, match="Someone other than"):
        services.payment_approve(request=req, actor=world.users["member"])


def test_payment_beyond_the_funds_bank_is_refused(world):
    call = f.call(world, the_fund=f.fund(world, amount="5000"))
    grant = f.approved(world, f.filled_proposal(world, call))
    services.grant_accept(grant=grant, actor=world.users["member"])
    req = services.payment_request_create(grant=grant, amount="2000", milestone=None, actor=world.users["member"])
    # the co-op's panel spends the fund's bank directly meanwhile (a grant outside the call: possible, since the
    # corporate fund's page only checks the balance left after commitments, so pretend money left the bank)
    from community.services.ledger import ledger_account, ledger_post

    other = ledger_account(community=world.community, code="test:elsewhere", name="x", kind="asset")
    ledger_post(
        community=world.community,
        lines=[
            (other, Decimal("4500")),
            (LedgerAccount.objects.get(code=f"fund:{call.fund.pk}:bank"), Decimal("-4500")),
        ],
        memo="moved",
        source="test",
        idempotency_key="test:move",
    )
    with pytest.raises(DomainError, match="bank holds £500.00; it cannot pay £2,000.00"):
        services.payment_approve(request=req, actor=world.users["funder"])
    assert PaymentRequest.objects.get(pk=req.pk).status == PaymentRequest.Status.PENDING


def test_completing_a_grant_marks_its_plan_action_delivered(world):
    from planning.models import Milestone, Plan

    plan = Plan.objects.create(community=world.community, title="Test plan")
    action = Milestone.objects.create(
        plan=plan, year=2030, title="Battery at the scout hut", building_block="marketplace"
    )
    call = f.call(world)
    p = f.filled_proposal(world, call, submit=False)
    services.proposal_save_draft(proposal=p, actor=world.users["member"], values={}, plan_action=action)
    services.proposal_submit(proposal=p, actor=world.users["member"])
    grant = f.approved(world, p)
    services.grant_accept(grant=grant, actor=world.users["member"])
    with pytest.raises(DomainError, match="lessons"):
        services.grant_complete(grant=grant, outcomes="Fitted", lessons="", actor=world.users["funder"])
    services.grant_complete(
        grant=grant, outcomes="Battery fitted; 2 MWh shifted", lessons="Order early", actor=world.users["funder"]
    )
    action.refresh_from_db()
    assert action.done
    assert AuditEvent.objects.filter(action="milestone.delivered", object_id=str(action.pk)).count() == 1


def test_reminders_go_once_a_day_for_reports_due_within_a_week(world, django_capture_on_commit_callbacks):
    grant = f.approved(world, f.filled_proposal(world, f.call(world)))
    services.grant_accept(grant=grant, actor=world.users["member"])
    first = grant.reports.order_by("due_on").first()
    today = first.due_on - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send(today=today) == 1
        assert services.reminders_send(today=today) == 0
    assert services.reminders_send(today=today + timedelta(days=1)) == 0  # within the 7-day gap
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send(today=first.due_on) == 1  # and on the day it is due
    assert len(mail.outbox) == 2 and "Due soon" in mail.outbox[0].subject


# --- crowdfunding ------------------------------------------------------------------------


def _campaign(world, **kw):
    args = dict(
        community=world.community,
        owner=world.users["member"],
        title="Hut roof",
        story="Solar on the hut",
        target="1000",
        deadline=timezone.now() + timedelta(days=3),
    )
    args.update(kw)
    return services.campaign_create(**args)


def test_a_pledge_after_the_deadline_is_refused(world):
    c = _campaign(world)
    with pytest.raises(DomainError, match="Pledges closed"):
        services.pledge_create(
            campaign=c, backer=world.users["convenor"], amount="20", token="t", now=c.deadline + timedelta(seconds=1)
        )
    assert not Pledge.objects.exists()


def test_the_same_pledge_form_twice_pledges_once(world):
    c = _campaign(world)
    services.pledge_create(campaign=c, backer=world.users["convenor"], amount="20", token="abc")
    services.pledge_create(campaign=c, backer=world.users["convenor"], amount="20", token="abc")
    c.refresh_from_db()
    assert c.raised == Decimal("20") and c.pledges.count() == 1


def test_a_missed_all_or_nothing_target_refunds_every_pledge_once(world):
    c = _campaign(world)
    for who, amount in (("convenor", "200"), ("treasurer", "150.50")):
        services.pledge_create(campaign=c, backer=world.users[who], amount=amount, token=who)
    after = c.deadline + timedelta(minutes=1)
    services.campaign_close(campaign_id=c.pk, now=after)
    services.campaign_close(campaign_id=c.pk, now=after)  # the task delivered twice
    c.refresh_from_db()
    assert c.status == Campaign.Status.FAILED
    assert set(c.pledges.values_list("status", flat=True)) == {Pledge.Status.REFUNDED}
    assert _balance(world.community, "mkt:escrow") == Decimal("0")
    assert _balance(world.community, f"mkt:campaign:{c.pk}:pledges") == Decimal("0")
    assert JournalEntry.objects.filter(idempotency_key__endswith=":refund").count() == 2
    assert ledger_verify(world.community).ok


def test_closing_before_the_deadline_is_refused(world):
    c = _campaign(world)
    with pytest.raises(DomainError, match="still live"):
        services.campaign_close(campaign_id=c.pk)


def test_a_funded_campaign_takes_the_fee_and_the_match_from_the_fund(world):
    the_fund = f.fund(world, amount="10000")
    c = _campaign(world, match_fund=the_fund, match_cap="400", fee_rate="0.05")
    services.pledge_create(campaign=c, backer=world.users["convenor"], amount="300", token="a")
    services.pledge_create(campaign=c, backer=world.users["treasurer"], amount="400", token="b")
    c = services.campaign_close(campaign_id=c.pk, now=c.deadline)
    # 700 pledged + 400 match (capped) = 1100 ≥ 1000 target
    assert (c.status, c.raised, c.matched, c.fee) == ("succeeded", Decimal("700"), Decimal("400"), Decimal("35.00"))
    assert _balance(world.community, "mkt:fees") == Decimal("-35.00")
    assert _balance(world.community, "mkt:escrow") == Decimal("35.00")  # the fee stays with the platform
    assert _balance(world.community, f"mkt:campaign:{c.pk}:payable") == Decimal("0")
    assert fund_totals(the_fund)["balance"] == Decimal("9600")
    assert ledger_verify(world.community).ok


def test_a_vote_matched_campaign_gets_no_match_when_members_vote_no(world):
    the_fund = f.fund(world)
    c = _campaign(world, match_fund=the_fund, match_cap="500", match_rule="vote", mode="kwyr")
    services.pledge_create(campaign=c, backer=world.users["convenor"], amount="300", token="a")
    services.match_vote_cast(campaign=c, voter=world.users["member"], release=False)
    c = services.campaign_close(campaign_id=c.pk, now=c.deadline)
    assert (c.status, c.matched) == ("succeeded", Decimal("0"))


def test_match_cap_beyond_the_fund_is_refused(world):
    with pytest.raises(DomainError, match="cannot promise"):
        _campaign(world, match_fund=f.fund(world, amount="100"), match_cap="500")


def test_a_fee_outside_3_to_5_percent_is_refused(world):
    with pytest.raises(DomainError, match="3% and 5%"):
        _campaign(world, fee_rate="0.075")


def test_the_deadline_task_and_the_sweep_close_due_campaigns(world, monkeypatch):
    c = _campaign(world)
    services.pledge_create(campaign=c, backer=world.users["convenor"], amount="10", token="a")
    assert campaign_close_task(c.pk) == "not yet"
    Campaign.objects.filter(pk=c.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    assert marketplace_sweep()["campaigns_closed"] == 1
    assert marketplace_sweep()["campaigns_closed"] == 0
    assert campaign_close_task(c.pk) == "failed"
    assert Pledge.objects.get().status == Pledge.Status.REFUNDED


def test_committing_a_fund_twice_under_one_key_commits_once(world):
    from datetime import date

    from assets.coop.models import FundGrant
    from assets.coop.services.marketplace_grants import fund_grant_commit
    from community.services.ledger import ledger_account

    the_fund = f.fund(world, amount="1000")
    payable = ledger_account(community=world.community, code="mkt:test:payable", name="t", kind="liability")
    args = dict(
        fund=the_fund,
        project="Hut",
        recipient="Scouts",
        amount=Decimal("600"),
        decided_on=date(2026, 5, 1),
        payable=payable,
        idempotency_key="mkt:test:1",
    )
    first = fund_grant_commit(**args)
    again = fund_grant_commit(**args)
    assert first.pk == again.pk and FundGrant.objects.count() == 1
    assert fund_totals(the_fund)["balance"] == Decimal("400")
    with pytest.raises(DomainError, match="holds £400"):
        fund_grant_commit(**(args | {"idempotency_key": "mkt:test:2"}))
