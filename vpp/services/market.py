"""Requirements from flex buyers, the platform's bids, events, the sharing rule's vote."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.access import has_role
from community.errors import DomainError
from community.models import Community, Membership, NetworkNode, Role
from community.services.audit import audit_record
from vpp import selectors
from vpp.models import Bid, Event, Requirement, SharingRule, SharingVote

MAX_WINDOW = timedelta(hours=24)


def _dec(value, name: str, field: str, *, positive: bool = False) -> Decimal:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(f"{name} must be a number.", field=field) from None
    if not d.is_finite():
        raise DomainError(f"{name} must be a number.", field=field)
    if d < 0 or (positive and d == 0):
        raise DomainError(f"{name} must be {'more than zero' if positive else 'zero or more'}.", field=field)
    return d


def requirement_create(
    *,
    community: Community,
    buyer: Any,
    buyer_name: str,
    reference: str,
    node: NetworkNode,
    starts_at: datetime,
    ends_at: datetime,
    kw_wanted,
    utilisation_gbp_per_mwh,
    availability_gbp_per_mw_h=0,
    direction: str = Requirement.Direction.DOWN,
    product: str = Requirement.Product.PEAK_REDUCTION,
    notice_minutes: int = 60,
    baseline_method: str = Requirement.Baseline.DFS,
    openadr_event_id: str = "",
    now: datetime | None = None,
) -> Requirement:
    """A buyer's requirement. Refused (nothing stored) when it is in the past,
    has no volume, a window not on period boundaries or longer than a day, or
    gives less notice than it asks for."""
    now = now or timezone.now()
    if not (has_role(buyer, community, Role.FLEX_BUYER) or getattr(buyer, "is_superuser", False)):
        raise DomainError("Only a flexibility buyer can publish requirements.", code="forbidden")
    kw = _dec(kw_wanted, "The volume wanted (kW)", "kw_wanted", positive=True)
    util = _dec(utilisation_gbp_per_mwh, "The utilisation price", "utilisation_gbp_per_mwh")
    avail = _dec(availability_gbp_per_mw_h, "The availability price", "availability_gbp_per_mw_h")
    if node.community_id != community.pk:
        raise DomainError("That network node is not in this community.", field="node")
    if direction not in Requirement.Direction.values:
        raise DomainError("Direction must be turn down or turn up.", field="direction")
    if product not in Requirement.Product.values:
        raise DomainError("Unknown product.", field="product")
    if baseline_method not in Requirement.Baseline.values:
        raise DomainError("Unknown baseline method.", field="baseline_method")
    if starts_at is None or ends_at is None:
        raise DomainError("The window needs a start and an end.", field="starts_at")
    if starts_at <= now:
        raise DomainError("The window starts in the past; requirements are for future periods.", field="starts_at")
    if ends_at <= starts_at:
        raise DomainError("The window must end after it starts.", field="ends_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise DomainError("A window can be at most 24 hours long.", field="ends_at")
    minutes = community.settlement_period_minutes
    for t, f in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if t.second or t.microsecond or t.minute % minutes:
            raise DomainError(f"The window must start and end on {minutes}-minute period boundaries.", field=f)
    try:
        notice_minutes = int(notice_minutes)
    except (TypeError, ValueError):
        raise DomainError("Notice must be a whole number of minutes.", field="notice_minutes") from None
    if notice_minutes < 0:
        raise DomainError("Notice cannot be negative.", field="notice_minutes")
    if starts_at - now < timedelta(minutes=notice_minutes):
        raise DomainError(
            f"The window starts in {int((starts_at - now).total_seconds() // 60)} minutes, less than the "
            f"{notice_minutes} minutes' notice the requirement promises households.",
            field="starts_at",
        )
    reference = (reference or "").strip()
    if not reference:
        raise DomainError("Give the requirement a reference.", field="reference")
    with transaction.atomic():
        if Requirement.objects.filter(community=community, reference=reference).exists():
            raise DomainError(f"There is already a requirement {reference}.", field="reference")
        req = Requirement.objects.create(
            community=community,
            buyer=buyer,
            buyer_name=(buyer_name or "").strip()[:120] or str(buyer),
            reference=reference[:80],
            node=node,
            product=product,
            direction=direction,
            starts_at=starts_at,
            ends_at=ends_at,
            kw_wanted=kw,
            notice_minutes=notice_minutes,
            availability_gbp_per_mw_h=avail,
            utilisation_gbp_per_mwh=util,
            baseline_method=baseline_method,
            openadr_event_id=openadr_event_id[:120],
        )
        audit_record(
            actor=buyer,
            action="vpp.requirement_create",
            community=community,
            obj=req,
            summary=f"{req.buyer_name} asked for {kw} kW {req.get_direction_display()} at {node.name}",
        )
    return req


def bid_propose(*, requirement: Requirement, now: datetime | None = None) -> Bid:
    """The platform's proposal: the P10 of the portfolio's forecast at the node
    (what is there on 9 days in 10), capped at the volume wanted, at the buyer's price."""
    now = now or timezone.now()
    if requirement.status != Requirement.Status.OPEN:
        raise DomainError("This requirement is no longer open for bids.", field="requirement")
    minutes = requirement.community.settlement_period_minutes
    n = int((requirement.ends_at - requirement.starts_at) / timedelta(minutes=minutes))
    f = selectors.flexibility_forecast(
        requirement.community,
        start=requirement.starts_at,
        n=n,
        node=requirement.node,
        direction=requirement.direction,
        at=now,
    )
    p10 = min(f.p10) if f.p10 else 0
    volume = min(Decimal(p10) / 1000, requirement.kw_wanted).quantize(Decimal("0.1"))
    if volume <= 0:
        raise DomainError(
            "The households enrolled at this node cannot offer any flexibility in this window.", field="requirement"
        )
    with transaction.atomic():
        bid = Bid.objects.create(
            requirement=requirement,
            volume_kw=volume,
            utilisation_gbp_per_mwh=requirement.utilisation_gbp_per_mwh,
            availability_gbp_per_mw_h=requirement.availability_gbp_per_mw_h,
            forecast={"p10": f.p10, "p50": f.p50, "p90": f.p90, "units": len(f.units), "priors": f.priors},
            created_at=now,
        )
    return bid


def bid_submit(*, bid: Bid, actor: Any, volume_kw=None, utilisation_gbp_per_mwh=None, now=None) -> Bid:
    """The operator submits the proposal as it is or with their own volume and price."""
    now = now or timezone.now()
    community = bid.requirement.community
    if not selectors.is_operator(actor, community):
        raise DomainError("Only the VPP's operator submits bids.", code="forbidden")
    if bid.status not in (Bid.Status.PROPOSED, Bid.Status.SUBMITTED):
        raise DomainError("This bid has already been decided.", field="bid")
    if volume_kw not in (None, ""):
        v = _dec(volume_kw, "The volume (kW)", "volume_kw", positive=True)
        if v > bid.requirement.kw_wanted:
            raise DomainError(f"The buyer wants at most {bid.requirement.kw_wanted} kW.", field="volume_kw")
        bid.volume_kw = v
    if utilisation_gbp_per_mwh not in (None, ""):
        bid.utilisation_gbp_per_mwh = _dec(utilisation_gbp_per_mwh, "The price", "utilisation_gbp_per_mwh")
    with transaction.atomic():
        bid.status = Bid.Status.SUBMITTED
        bid.submitted_by = actor
        bid.save(update_fields=["status", "submitted_by", "volume_kw", "utilisation_gbp_per_mwh"])
        audit_record(
            actor=actor,
            action="vpp.bid_submit",
            community=community,
            obj=bid,
            summary=f"Bid {bid.volume_kw} kW at £{bid.utilisation_gbp_per_mwh}/MWh for {bid.requirement.reference}",
        )
    return bid


def bid_accept(*, bid: Bid, actor: Any, now: datetime | None = None) -> Event:
    """The buyer accepts a submitted bid: it becomes an event (idempotent)."""
    now = now or timezone.now()
    req = bid.requirement
    if req.buyer_id != getattr(actor, "pk", None) and not getattr(actor, "is_superuser", False):
        raise DomainError("Only the buyer who published the requirement can accept its bids.", code="forbidden")
    with transaction.atomic():
        req = Requirement.objects.select_for_update().get(pk=req.pk)
        existing = Event.objects.filter(requirement=req).first()
        if existing is not None:
            if existing.bid_id == bid.pk:
                return existing
            raise DomainError("Another bid was already accepted for this requirement.", field="bid")
        if bid.status != Bid.Status.SUBMITTED:
            raise DomainError("Only a submitted bid can be accepted.", field="bid")
        if req.starts_at <= now:
            raise DomainError("The window has started; it is too late to accept.", field="bid")
        Bid.objects.filter(pk=bid.pk).update(status=Bid.Status.ACCEPTED, decided_at=now)
        req.bids.exclude(pk=bid.pk).update(status=Bid.Status.REJECTED, decided_at=now)
        req.status = Requirement.Status.AWARDED
        req.save(update_fields=["status"])
        bid.refresh_from_db()
        event = Event.objects.create(
            community=req.community,
            requirement=req,
            bid=bid,
            starts_at=req.starts_at,
            ends_at=req.ends_at,
            target_w=int(bid.volume_kw * 1000),
            created_at=now,
        )
        audit_record(
            actor=actor,
            action="vpp.bid_accept",
            community=req.community,
            obj=event,
            summary=f"{req.buyer_name} accepted {bid.volume_kw} kW for {req.reference}",
        )
    return event


def event_cancel(*, event: Event, actor: Any, now: datetime | None = None) -> Event:
    """The buyer cancels: outstanding commands are withdrawn (devices handed back)."""
    from vpp.services.dispatch import event_release

    now = now or timezone.now()
    req = event.requirement
    if req.buyer_id != getattr(actor, "pk", None) and not selectors.is_operator(actor, event.community):
        raise DomainError("Only the buyer or the VPP operator can cancel an event.", code="forbidden")
    with transaction.atomic():
        n = Event.objects.filter(pk=event.pk, status__in=[Event.Status.SCHEDULED, Event.Status.ACTIVE]).update(
            status=Event.Status.CANCELLED, cancelled_at=now
        )
        event.refresh_from_db()
        if n == 0:
            if event.status == Event.Status.CANCELLED:
                return event
            raise DomainError("This event has finished; it can no longer be cancelled.", field="event")
        Requirement.objects.filter(pk=req.pk).update(status=Requirement.Status.CANCELLED)
        audit_record(
            actor=actor,
            action="vpp.event_cancel",
            community=event.community,
            obj=event,
            summary=f"Cancelled {req.reference}",
        )
        event_release(event=event, now=now, rule="cancel")
    return event


# --- the sharing rule (member vote, as the market's rules) --------------------------


def sharing_rule_propose(
    *,
    community: Community,
    actor: Any,
    values: dict,
    effective_from: datetime | None = None,
    reason: str = "",
    now=None,
) -> SharingRule:
    now = now or timezone.now()
    if not (has_role(actor, community, Role.MEMBER) or selectors.is_operator(actor, community)):
        raise DomainError("Only members and the VPP operator can propose a sharing rule.", code="forbidden")
    clean = {}
    for name, label in (("fee_pct", "The aggregator's fee"), ("fund_pct", "The community fund's share")):
        v = _dec(values.get(name, 0), label, name)
        if v > 100:
            raise DomainError(f"{label} must be between 0 and 100 %.", field=name)
        clean[name] = v
    clean["availability_credit_gbp_per_kw"] = _dec(
        values.get("availability_credit_gbp_per_kw", 0), "The availability credit", "availability_credit_gbp_per_kw"
    )
    clean["floor_gbp"] = _dec(values.get("floor_gbp", 0), "The floor", "floor_gbp")
    with transaction.atomic():
        number = (
            SharingRule.objects.filter(community=community).order_by("-number").values_list("number", flat=True).first()
            or 0
        ) + 1
        rule = SharingRule.objects.create(
            community=community,
            number=number,
            effective_from=effective_from or now,
            reason=reason[:300],
            proposed_by=actor if getattr(actor, "is_authenticated", False) else None,
            **clean,
        )
        audit_record(
            actor=actor,
            action="vpp.rule_propose",
            community=community,
            obj=rule,
            summary=f"Proposed sharing rule v{number}",
            changes={k: str(v) for k, v in clean.items()},
        )
    return rule


def sharing_rule_vote(*, rule: SharingRule, voter: Any, choice: str) -> SharingVote:
    if rule.status != SharingRule.Status.PROPOSED:
        raise DomainError("Voting on this rule has closed.", field="rule")
    if choice not in ("yes", "no"):
        raise DomainError("Vote yes or no.", field="choice")
    if not has_role(voter, rule.community, Role.MEMBER):
        raise DomainError("Only members of the community vote on its sharing rule.", code="forbidden")
    vote, _ = SharingVote.objects.update_or_create(rule=rule, voter=voter, defaults={"choice": choice})
    return vote


def sharing_rule_decide(*, rule: SharingRule, actor: Any, now: datetime | None = None) -> SharingRule:
    """Approved when yes > no and turnout reaches the quorum (one member, one vote)."""
    now = now or timezone.now()
    if not selectors.is_operator(actor, rule.community) and not getattr(actor, "is_superuser", False):
        raise DomainError("Only the VPP operator closes a vote.", code="forbidden")
    with transaction.atomic():
        rule = SharingRule.objects.select_for_update().get(pk=rule.pk)
        if rule.status != SharingRule.Status.PROPOSED:
            return rule
        members = (
            Membership.objects.filter(community=rule.community, role=Role.MEMBER).values("user").distinct().count()
        )
        yes = rule.votes.filter(choice="yes").count()
        no = rule.votes.filter(choice="no").count()
        ok = yes > no and (yes + no) >= members * rule.quorum_pct / 100
        rule.status = SharingRule.Status.APPROVED if ok else SharingRule.Status.REJECTED
        rule.effective_from = max(rule.effective_from, now) if ok else rule.effective_from
        rule.decided_at = now
        rule.save(update_fields=["status", "effective_from", "decided_at"])
        audit_record(
            actor=actor,
            action="vpp.rule_decide",
            community=rule.community,
            obj=rule,
            summary=f"Sharing rule v{rule.number} {rule.status} ({yes} yes, {no} no, {members} members)",
        )
    return rule


def sharing_rule_default(community: Community, now: datetime) -> SharingRule:
    """Until members vote, the platform's default (15 % fee, 10 % fund, 5p/kW, 25p floor)."""
    rule = selectors.rule_in_force(community, now)
    if rule is not None:
        return rule
    with transaction.atomic():
        rule = SharingRule.objects.filter(community=community, number=0).first()
        if rule is None:
            rule = SharingRule.objects.create(
                community=community,
                number=0,
                status=SharingRule.Status.APPROVED,
                effective_from=now - timedelta(days=3650),
                reason="The platform's default until members vote on their own.",
                decided_at=now,
            )
    return rule


# --- OpenADR 2.0b: an external VTN's event in, our answer out ------------------------


def requirement_from_openadr(
    *,
    community: Community,
    buyer: Any,
    node: NetworkNode,
    event_id: str,
    starts_at: datetime,
    ends_at: datetime,
    kw: Decimal,
    utilisation_gbp_per_mwh: Decimal,
    buyer_name: str = "OpenADR VTN",
    now: datetime | None = None,
) -> tuple[Event | None, str]:
    """An OpenADR event becomes a requirement, the platform's bid and (when the
    portfolio can deliver anything) an accepted event. Returns (event, "optIn")
    or (None, "optOut: why"). Idempotent by the VTN's event id: a redelivered
    event gets the same answer."""
    now = now or timezone.now()
    existing = Requirement.objects.filter(community=community, openadr_event_id=event_id).first()
    if existing is not None:
        ev = Event.objects.filter(requirement=existing).first()
        return (ev, "optIn") if ev is not None else (None, "optOut: already declined")
    minutes = community.settlement_period_minutes
    step = timedelta(minutes=minutes)
    # OpenADR windows need not fall on settlement periods: serve the whole periods inside it
    epoch = datetime(2000, 1, 1, tzinfo=starts_at.tzinfo)
    start = epoch + -(-(starts_at - epoch) // step) * step
    end = epoch + ((ends_at - epoch) // step) * step
    if end <= start:
        return None, f"optOut: the window holds no whole {minutes}-minute period"
    try:
        with transaction.atomic():
            req = requirement_create(
                community=community,
                buyer=buyer,
                buyer_name=buyer_name,
                reference=f"OADR-{event_id}"[:80],
                node=node,
                starts_at=start,
                ends_at=end,
                kw_wanted=kw,
                utilisation_gbp_per_mwh=utilisation_gbp_per_mwh,
                product=Requirement.Product.OPERATIONAL,
                notice_minutes=0,
                openadr_event_id=event_id,
                now=now,
            )
            bid = bid_propose(requirement=req, now=now)
            bid.status = Bid.Status.SUBMITTED
            bid.save(update_fields=["status"])
            return bid_accept(bid=bid, actor=buyer, now=now), "optIn"
    except DomainError as exc:
        with transaction.atomic():  # remember the refusal, so a redelivery gets the same answer
            Requirement.objects.create(
                community=community,
                buyer=buyer,
                buyer_name=buyer_name,
                reference=f"OADR-{event_id}"[:80],
                node=node,
                product=Requirement.Product.OPERATIONAL,
                starts_at=start,
                ends_at=end,
                kw_wanted=max(kw, Decimal("0.1")),
                notice_minutes=0,
                utilisation_gbp_per_mwh=utilisation_gbp_per_mwh,
                status=Requirement.Status.CANCELLED,
                openadr_event_id=event_id,
            )
        return None, f"optOut: {exc.message}"
