"""Crowdfunding: pledges held in escrow until the deadline, then either passed to
the project (less the platform fee, plus any match funding) or refunded.

Ledger (all idempotent by key):
- pledge:  Dr escrow bank / Cr pledges held for backers
- success: Dr pledges held / Cr due to project (less fee) / Cr platform fees;
           match: Dr fund balance / Cr due to project (``fund_grant_commit``);
           payout: Dr due to project / Cr escrow bank / Cr fund bank
- missed all-or-nothing target: per pledge Dr pledges held / Cr escrow bank (refund)
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from assets.coop.models import BenefitFund
from assets.coop.services.marketplace_grants import fund_available, fund_bank, fund_grant_commit
from community.errors import DomainError
from community.models import Community, Membership, Role
from community.services.audit import audit_record
from community.services.ledger import EntrySpec, ledger_post, ledger_post_many

from ..domain import rules
from ..models import Campaign, MatchVote, Pledge, Proposal
from ._common import (
    SOURCE,
    campaign_payable_account,
    display_name,
    escrow_account,
    fees_account,
    pledges_account,
    rule_errors,
    status_change,
)


@transaction.atomic
def campaign_create(
    *,
    community: Community,
    owner: Any,
    title: str,
    story: str,
    target: Any,
    deadline: datetime,
    mode: str = Campaign.Mode.ALL_OR_NOTHING,
    fee_rate: Any = Decimal("0.04"),
    proposal: Proposal | None = None,
    match_fund: BenefitFund | None = None,
    match_ratio: Any = Decimal("1"),
    match_cap: Any = Decimal("0"),
    match_rule: str = Campaign.MatchRule.PER_POUND,
    actor: Any | None = None,
    now: datetime | None = None,
) -> Campaign:
    from ..tasks import campaign_close_task

    now = now or timezone.now()
    title = (title or "").strip()
    if not title or not (story or "").strip():
        raise DomainError("A crowdfunding page needs a title and the project's story.", field="title")
    if deadline <= now:
        raise DomainError("The deadline must be in the future.", field="deadline")
    if mode not in Campaign.Mode.values:
        raise DomainError("Choose all-or-nothing or keep-what-you-raise.", field="mode")
    if match_rule not in Campaign.MatchRule.values:
        raise DomainError("Choose how match funding is released.", field="match_rule")
    with rule_errors():
        target = rules.pounds(target, what="target", field="target")
        try:
            fee_rate = Decimal(str(fee_rate))
        except (ArithmeticError, ValueError):
            raise rules.RuleError("The fee is a rate such as 0.04.", "fee_rate") from None
        rules.platform_fee(Decimal(0), fee_rate)
        match_cap = rules.pounds(match_cap, what="match cap", field="match_cap", allow_zero=True)
        try:
            match_ratio = Decimal(str(match_ratio))
        except (ArithmeticError, ValueError):
            raise rules.RuleError("The match ratio is a number such as 1 (£1 for each £1).", "match_ratio") from None
    if match_ratio < 0 or match_ratio > 10:
        raise DomainError("The match ratio is between 0 and 10 (£ per £1 pledged).", field="match_ratio")
    if match_fund is not None:
        if match_fund.community_id != community.pk:
            raise DomainError("That fund belongs to another community.", field="match_fund")
        if match_cap <= 0:
            raise DomainError("Set the most the fund will match.", field="match_cap")
        available = fund_available(match_fund)
        if match_cap > available:
            raise DomainError(
                f"{match_fund.name} holds £{available:,}; it cannot promise £{match_cap:,}.", field="match_cap"
            )
    elif match_cap > 0:
        raise DomainError("Choose the fund that matches pledges.", field="match_fund")
    campaign = Campaign.objects.create(
        community=community,
        owner=owner,
        proposal=proposal,
        title=title[:200],
        story=story.strip(),
        target=target,
        deadline=deadline,
        mode=mode,
        fee_rate=fee_rate,
        match_fund=match_fund,
        match_ratio=match_ratio,
        match_cap=match_cap if match_fund else Decimal("0.00"),
        match_rule=match_rule,
    )
    audit_record(
        actor=actor or owner,
        action="marketplace.campaign_create",
        summary=f"Crowdfunding '{campaign.title}' for £{target:,} by {deadline:%Y-%m-%d}",
        community=community,
        obj=campaign,
    )
    # the close runs at the deadline; the periodic sweep catches any the broker lost
    transaction.on_commit(lambda: campaign_close_task.apply_async(args=[campaign.pk], eta=deadline))
    return campaign


@transaction.atomic
def pledge_create(*, campaign: Campaign, backer: Any, amount: Any, token: str, now: datetime | None = None) -> Pledge:
    """Record a pledge (its money held in escrow). The same form token twice pledges once."""
    now = now or timezone.now()
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    token = (token or "").strip()[:64]
    if not token:
        raise DomainError("The pledge form has expired; reload the page.")
    existing = Pledge.objects.filter(campaign=locked, token=token).first()
    if existing is not None:
        return existing
    if locked.status != Campaign.Status.LIVE or now >= locked.deadline:
        raise DomainError(
            f"Pledges closed at the deadline ({timezone.localtime(locked.deadline):%-d %b %Y %H:%M}).", field="amount"
        )
    if not Membership.objects.filter(community=locked.community, user=backer).exists():
        raise DomainError("Only people in the community can pledge here.")
    with rule_errors():
        amount = rules.pounds(amount, what="pledge", field="amount")
    if amount < 1:
        raise DomainError("The smallest pledge is £1.", field="amount")
    if amount > 10000:
        raise DomainError("Pledges above £10,000 are taken by the treasurer directly.", field="amount")
    pledge = Pledge.objects.create(campaign=locked, backer=backer, amount=amount, token=token)
    pledge.journal_entry = ledger_post(
        community=locked.community,
        lines=[(escrow_account(locked.community), amount), (pledges_account(locked), -amount)],
        memo=f"Pledge from {display_name(backer)} to '{locked.title}'",
        source=SOURCE,
        idempotency_key=f"mkt:pledge:{pledge.pk}",
        reference=f"campaign:{locked.pk}",
        effective_at=now,
        actor=backer,
    )
    pledge.save(update_fields=["journal_entry"])
    locked.raised += amount
    locked.save(update_fields=["raised"])
    audit_record(
        actor=backer,
        action="marketplace.pledge",
        summary=f"£{amount:,} pledged to '{locked.title}'",
        community=locked.community,
        obj=pledge,
    )
    return pledge


@transaction.atomic
def match_vote_cast(*, campaign: Campaign, voter: Any, release: bool, now: datetime | None = None) -> MatchVote:
    now = now or timezone.now()
    if campaign.match_fund_id is None or campaign.match_rule != Campaign.MatchRule.MEMBER_VOTE:
        raise DomainError("This page's match funding is not put to a vote.")
    if campaign.status != Campaign.Status.LIVE or now >= campaign.deadline:
        raise DomainError("The vote closed at the deadline.")
    if not Membership.objects.filter(community=campaign.community, user=voter, role=Role.MEMBER).exists():
        raise DomainError("Only members vote: one member, one vote.")
    vote, _ = MatchVote.objects.update_or_create(campaign=campaign, voter=voter, defaults={"release": release})
    return vote


def match_votes(campaign: Campaign) -> tuple[int, int]:
    agg = campaign.match_votes.aggregate(y=Count("id", filter=Q(release=True)), n=Count("id", filter=Q(release=False)))
    return agg["y"], agg["n"]


def match_projection(campaign: Campaign, *, available: Decimal | None = None) -> Decimal:
    """What the fund would add now (shown live on the page; posted at the close)."""
    if campaign.match_fund_id is None:
        return Decimal("0.00")
    if campaign.match_rule == Campaign.MatchRule.MEMBER_VOTE and not rules.vote_passes(*match_votes(campaign)):
        return Decimal("0.00")
    if available is None:
        available = fund_available(campaign.match_fund)
    return rules.match_amount(
        raised=campaign.raised, ratio=campaign.match_ratio, cap=campaign.match_cap, available=available
    )


@transaction.atomic
def campaign_close(*, campaign_id: int, now: datetime | None = None, actor: Any | None = None) -> Campaign:
    """At the deadline: fund the project or refund every pledge. Running it twice changes nothing."""
    now = now or timezone.now()
    c = Campaign.objects.select_for_update().get(pk=campaign_id)
    if c.status != Campaign.Status.LIVE:
        return c
    if now < c.deadline:
        raise DomainError("This campaign is still live; it closes at its deadline.")
    community = c.community
    pledges = list(c.pledges.filter(status=Pledge.Status.HELD).select_related("backer"))
    raised = sum((p.amount for p in pledges), Decimal("0.00"))
    match = match_projection(c)
    if rules.campaign_succeeds(mode=c.mode, raised=raised + match, target=c.target):
        fee = rules.platform_fee(raised, c.fee_rate)
        payable = campaign_payable_account(c)
        entries = [
            EntrySpec(
                lines=[(pledges_account(c), raised), (payable, -(raised - fee)), (fees_account(community), -fee)],
                memo=f"'{c.title}' funded: £{raised:,} raised, platform fee £{fee:,}",
                source=SOURCE,
                idempotency_key=f"mkt:campaign:{c.pk}:collect",
                reference=f"campaign:{c.pk}",
                effective_at=c.deadline,
            )
        ]
        ledger_post_many(community=community, entries=entries, actor=actor)
        if match > 0:
            c.match_grant = fund_grant_commit(
                fund=c.match_fund,
                project=c.title,
                recipient=display_name(c.owner),
                amount=match,
                decided_on=timezone.localdate(c.deadline),
                payable=payable,
                idempotency_key=f"mkt:campaign:{c.pk}:match",
                panel_note=f"Match funding for crowdfunding '{c.title}'",
                actor=actor,
            )
        payout_lines = [(payable, raised - fee + match), (escrow_account(community), -(raised - fee))]
        if match > 0:
            payout_lines.append((fund_bank(c.match_fund), -match))
        ledger_post(
            community=community,
            lines=payout_lines,
            memo=f"Paid to '{c.title}': £{raised - fee + match:,}",
            source=SOURCE,
            idempotency_key=f"mkt:campaign:{c.pk}:payout",
            reference=f"campaign:{c.pk}",
            effective_at=c.deadline,
            actor=actor,
        )
        Pledge.objects.filter(pk__in=[p.pk for p in pledges]).update(status=Pledge.Status.COLLECTED)
        c.status, c.fee, c.matched = Campaign.Status.SUCCEEDED, fee, match
    else:
        specs = [
            EntrySpec(
                lines=[(pledges_account(c), p.amount), (escrow_account(community), -p.amount)],
                memo=f"Refund to {display_name(p.backer)}: '{c.title}' missed its target",
                source=SOURCE,
                idempotency_key=f"mkt:pledge:{p.pk}:refund",
                reference=f"campaign:{c.pk}",
                effective_at=c.deadline,
            )
            for p in pledges
        ]
        posted = ledger_post_many(community=community, entries=specs, actor=actor) if specs else []
        for p, entry in zip(pledges, posted, strict=True):
            p.status, p.refund_entry = Pledge.Status.REFUNDED, entry
        Pledge.objects.bulk_update(pledges, ["status", "refund_entry"])
        c.status = Campaign.Status.FAILED
    c.raised = raised
    c.closed_at = now
    c.save(update_fields=["status", "fee", "matched", "raised", "closed_at", "match_grant"])
    status_change(
        actor=actor,
        obj=c,
        community=community,
        before="live",
        after=c.status,
        summary=(
            f"'{c.title}' funded: £{raised:,} + £{match:,} match, fee £{c.fee:,}"
            if c.status == Campaign.Status.SUCCEEDED
            else f"'{c.title}' missed its £{c.target:,} target: {len(pledges)} pledges (£{raised:,}) refunded"
        ),
    )
    return c


def campaigns_close_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    ids = list(Campaign.objects.filter(status=Campaign.Status.LIVE, deadline__lte=now).values_list("pk", flat=True))
    for pk in ids:
        campaign_close(campaign_id=pk, now=now)
    return len(ids)
