"""General meetings, resolutions, one-member-one-vote voting, the board."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from community.errors import DomainError
from community.services.audit import audit_record

from ..domain import governance as dom
from ..models import BoardMember, Meeting, Member, Resolution, Society, Vote
from ..selectors import active_member_count
from ._common import domain_errors


@transaction.atomic
def meeting_create(
    *,
    society: Society,
    kind: str,
    title: str,
    held_at: datetime,
    notice_given_on: date,
    vote_opens: datetime,
    vote_closes: datetime,
    resolutions: list[tuple[str, str]],
    place: str = "",
    actor: Any | None = None,
) -> Meeting:
    if kind not in Meeting.Kind.values:
        raise DomainError("A meeting is an AGM or a general meeting.", field="kind")
    if not (title or "").strip():
        raise DomainError("A meeting needs a title.", field="title")
    if vote_closes <= vote_opens:
        raise DomainError("Voting must close after it opens.", field="vote_closes")
    if notice_given_on > held_at.date():
        raise DomainError("Notice must be given before the meeting.", field="notice_given_on")
    resolutions = [(t.strip(), k) for t, k in resolutions if t and t.strip()]
    if not resolutions:
        raise DomainError("A meeting needs at least one resolution to vote on.", field="resolutions")
    for _, k in resolutions:
        if k not in Resolution.Kind.values:
            raise DomainError("A resolution is ordinary or special.", field="resolutions")
    quorum = dom.quorum_needed(
        members=active_member_count(society),
        quorum_min=society.quorum_min,
        quorum_fraction=Decimal(society.quorum_fraction),
    )
    meeting = Meeting.objects.create(
        society=society,
        kind=kind,
        title=title.strip(),
        held_at=held_at,
        place=place,
        notice_given_on=notice_given_on,
        vote_opens=vote_opens,
        vote_closes=vote_closes,
        quorum=quorum,
    )
    Resolution.objects.bulk_create(
        [Resolution(meeting=meeting, number=i, text=t, kind=k) for i, (t, k) in enumerate(resolutions, start=1)]
    )
    audit_record(
        actor=actor,
        action="coop.meeting_create",
        summary=f"Called {meeting.title}",
        community=society.community,
        obj=meeting,
    )
    return meeting


@transaction.atomic
def vote_cast(
    *,
    resolution: Resolution,
    member: Member,
    choice: str,
    now: datetime,
    channel: str = Vote.Channel.ONLINE,
    actor: Any | None = None,
) -> Vote:
    """One member, one vote: online within the window, or entered by the secretary for in-person/proxy votes."""
    meeting = resolution.meeting
    if member.society_id != meeting.society_id:
        raise DomainError("Only members of the society may vote.")
    if channel not in Vote.Channel.values:
        raise DomainError("Unknown voting channel.", field="channel")
    already = Vote.objects.filter(resolution=resolution, member=member).exists()
    with domain_errors("choice"):
        dom.check_vote(
            member=member.pk,
            choice=choice,
            at=now,
            opens=meeting.vote_opens,
            closes=meeting.vote_closes,
            eligible=member.status == Member.Status.ACTIVE and member.admitted_on <= now.date(),
            already_voted=already,
            channel=channel,
        )
    try:
        with transaction.atomic():
            vote = Vote.objects.create(
                resolution=resolution,
                member=member,
                choice=choice,
                channel=channel,
                cast_at=now,
                entered_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError:
        raise DomainError("This member has already voted on this resolution: one member, one vote.") from None
    audit_record(
        actor=actor,
        action="coop.vote",
        summary=f"Vote recorded on resolution {resolution.number} "
        f"of {meeting.title} ({vote.get_channel_display().lower()})",
        community=meeting.society.community,
        obj=resolution,
    )  # the audit row records that a vote was cast, not how
    return vote


@transaction.atomic
def board_member_add(
    *, society: Society, member: Member, role: str, elected_on: date, term_ends_on: date, actor: Any | None = None
) -> BoardMember:
    if member.society_id != society.pk or member.status != Member.Status.ACTIVE:
        raise DomainError("Directors must be members of the society.")
    if term_ends_on <= elected_on:
        raise DomainError("A term must end after the election.", field="term_ends_on")
    b = BoardMember.objects.create(
        society=society, member=member, role=role or "Director", elected_on=elected_on, term_ends_on=term_ends_on
    )
    audit_record(
        actor=actor, action="coop.board_add", summary=f"{member} elected {b.role}", community=society.community, obj=b
    )
    return b
