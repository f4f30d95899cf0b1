"""Calls for projects: set up by a fund's funder, with their rubric."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from assets.coop.models import BenefitFund
from community.errors import DomainError
from community.models import Community
from community.services.audit import audit_record

from ..domain.rules import pounds
from ..models import Call, Criterion
from ._common import rule_errors, status_change


@transaction.atomic
def call_create(
    *,
    community: Community,
    fund: BenefitFund,
    funder: Any,
    title: str,
    objectives: str,
    budget: Any,
    max_award: Any,
    opens_at: datetime,
    deadline: datetime,
    criteria: Sequence[dict],
    eligibility: Sequence[dict] = (),
    support: Sequence[str] = (),
    stages: str = Call.Stages.SINGLE,
    full_deadline: datetime | None = None,
    community_review: bool = False,
    second_approval_over: Any = Decimal("5000"),
    actor: Any | None = None,
) -> Call:
    """``criteria``: [{"name", "weight", "scale_max", "guidance"}]; ``eligibility``: [{"text", "must_be"}]."""
    if fund.community_id != community.pk:
        raise DomainError("That fund belongs to another community.", field="fund")
    title = (title or "").strip()
    if not title:
        raise DomainError("A call needs a title.", field="title")
    if not (objectives or "").strip():
        raise DomainError("Say what the call is for: its objectives.", field="objectives")
    with rule_errors():
        budget = pounds(budget, what="call budget", field="budget")
        max_award = pounds(max_award, what="largest award", field="max_award")
        threshold = pounds(
            second_approval_over, what="two-approver threshold", field="second_approval_over", allow_zero=True
        )
    if max_award > budget:
        raise DomainError("The largest award cannot be more than the call's budget.", field="max_award")
    if deadline <= opens_at:
        raise DomainError("The deadline must be after the call opens.", field="deadline")
    if stages not in Call.Stages.values:
        raise DomainError("A call is single stage or concept → full proposal.", field="stages")
    if stages == Call.Stages.TWO_STAGE and (full_deadline is None or full_deadline <= deadline):
        raise DomainError(
            "A two-stage call needs a full-proposal deadline after the concept deadline.", field="full_deadline"
        )
    if not criteria:
        raise DomainError("Add at least one assessment criterion.", field="criteria")
    rows = []
    for n, c in enumerate(criteria, start=1):
        name = (c.get("name") or "").strip()
        try:
            weight, scale = int(c.get("weight", 0)), int(c.get("scale_max", 5))
        except (TypeError, ValueError):
            raise DomainError(f"Criterion {n}: weight and scale are whole numbers.", field="criteria") from None
        if not name or weight <= 0 or not 1 <= scale <= 100:
            raise DomainError(f"Criterion {n} needs a name, a weight above 0 and a scale of 1–100.", field="criteria")
        rows.append((name, weight, scale, c.get("guidance", "")))
    questions = []
    for n, q in enumerate(eligibility, start=1):
        text = (q.get("text") or "").strip()
        if not text:
            raise DomainError(f"Eligibility question {n} has no text.", field="eligibility")
        questions.append({"id": f"q{n}", "text": text, "must_be": bool(q.get("must_be", True))})
    call = Call.objects.create(
        community=community,
        fund=fund,
        funder=funder,
        title=title,
        objectives=objectives.strip(),
        budget=budget,
        max_award=max_award,
        opens_at=opens_at,
        deadline=deadline,
        full_deadline=full_deadline if stages == Call.Stages.TWO_STAGE else None,
        stages=stages,
        community_review=community_review,
        eligibility=questions,
        support=[s.strip() for s in support if s and s.strip()],
        second_approval_over=threshold,
        status=Call.Status.OPEN,
    )
    Criterion.objects.bulk_create(
        Criterion(call=call, name=n, weight=w, scale_max=s, guidance=g, order=i) for i, (n, w, s, g) in enumerate(rows)
    )
    audit_record(
        actor=actor,
        action="marketplace.call_create",
        summary=f"Opened call '{call.title}' (£{budget:,})",
        community=community,
        obj=call,
    )
    return call


@transaction.atomic
def call_close(*, call: Call, actor: Any | None = None) -> Call:
    if Call.objects.filter(pk=call.pk, status=Call.Status.OPEN).update(status=Call.Status.CLOSED):
        status_change(
            actor=actor,
            obj=call,
            community=call.community,
            before="open",
            after="closed",
            summary=f"Closed call '{call.title}'",
        )
    call.refresh_from_db()
    return call


def call_is_open(call: Call, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return call.status == Call.Status.OPEN and call.opens_at <= now
