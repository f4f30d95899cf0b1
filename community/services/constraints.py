"""Write path for network operators' constraint statements (seed 003, look-ahead zone).

A statement is a time-bound import/export limit on one network node, published
day-ahead or intraday. Statements are versioned by ``reference``: issuing a
statement with a reference already used creates the next version, and the
highest version not withdrawn is the one in force (``community.constraints``).
Nothing is ever edited in place, so every clearing and dispatch that recorded
a statement id can later show exactly what it obeyed.

Validation (a DomainError naming the field; nothing written):
- the node must belong to the community (``node``);
- limits are kW, zero or more (``import_limit_kw`` / ``export_limit_kw``);
- the window must end after it starts and must not lie in the past (``ends_at``);
  intraday statements must start within the next 24 h (``starts_at``);
- a revision keeps its node (``node``).
Every statement and withdrawal writes an audit row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from community.errors import DomainError
from community.models import Community, ConstraintStatement, NetworkNode
from community.services.audit import audit_record

MAX_LIMIT_KW = Decimal("1000000")
INTRADAY_AHEAD = timedelta(hours=24)


def _kw(value: Any, field: str) -> Decimal:
    try:
        kw = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError, TypeError):
        raise DomainError(f"{value!r} is not a number of kW.", field=field) from None
    if not kw.is_finite():
        raise DomainError("A limit must be a finite number of kW.", field=field)
    if kw < 0:
        raise DomainError(f"A limit cannot be below zero (got {kw} kW).", field=field)
    if kw > MAX_LIMIT_KW:
        raise DomainError(f"{kw} kW is beyond any node's capacity.", field=field)
    return kw


@transaction.atomic
def constraint_statement_issue(
    *,
    community: Community,
    node: NetworkNode | int,
    reference: str,
    starts_at: datetime,
    ends_at: datetime,
    import_limit_kw: Any,
    export_limit_kw: Any,
    horizon: str = ConstraintStatement.Horizon.DAY_AHEAD,
    reason: str = "",
    actor: Any = None,
    now: datetime | None = None,
) -> ConstraintStatement:
    """Publish a statement, or the next version of ``reference``. Returns the new row."""
    now = now or timezone.now()
    node_id = node.pk if isinstance(node, NetworkNode) else node
    node = NetworkNode.objects.filter(community=community, pk=node_id).first()
    if node is None:
        raise DomainError(f"There is no network node {node_id} in {community.name}.", field="node")
    reference = (reference or "").strip()
    if not reference:
        raise DomainError("A statement needs the network operator's reference.", field="reference")
    if len(reference) > 80:
        raise DomainError("A reference is at most 80 characters.", field="reference")
    if horizon not in ConstraintStatement.Horizon.values:
        raise DomainError(f"'{horizon}' is not a horizon; use day_ahead or intraday.", field="horizon")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise DomainError("Give the time with its time zone (UTC).", field=name)
    if ends_at <= starts_at:
        raise DomainError("The window must end after it starts.", field="ends_at")
    if ends_at <= now:
        raise DomainError("That window is already in the past.", field="ends_at")
    if horizon == ConstraintStatement.Horizon.INTRADAY and starts_at > now + INTRADAY_AHEAD:
        raise DomainError("An intraday statement starts within the next 24 hours; use day-ahead.", field="starts_at")
    imp = _kw(import_limit_kw, "import_limit_kw")
    exp = _kw(export_limit_kw, "export_limit_kw")
    # lock the reference's versions so two revisions cannot take the same number
    previous = list(
        ConstraintStatement.objects.select_for_update()
        .filter(community=community, reference=reference)
        .order_by("-version")
    )
    if previous and previous[0].node_id != node.pk:
        raise DomainError(
            f"Statement {reference} is about {previous[0].node.name}; a revision cannot move it to another node.",
            field="node",
        )
    version = (
        ConstraintStatement.objects.filter(community=community, reference=reference).aggregate(v=Max("version"))["v"]
        or 0
    ) + 1
    st = ConstraintStatement.objects.create(
        community=community,
        node=node,
        reference=reference,
        version=version,
        horizon=horizon,
        starts_at=starts_at,
        ends_at=ends_at,
        import_limit_kw=imp,
        export_limit_kw=exp,
        reason=(reason or "")[:300],
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="community.constraint_issue",
        community=community,
        obj=st,
        summary=f"{reference} v{version}: {node.name} import ≤ {imp} kW, export ≤ {exp} kW, "
        f"{starts_at:%Y-%m-%d %H:%M}–{ends_at:%H:%M} UTC",
        changes={"version": version, "import_limit_kw": str(imp), "export_limit_kw": str(exp)},
    )
    return st


@transaction.atomic
def constraint_statement_withdraw(
    *, statement: ConstraintStatement, actor: Any = None, now: datetime | None = None
) -> ConstraintStatement:
    """Withdraw a statement (every version of its reference stops applying). Idempotent."""
    now = now or timezone.now()
    rows = ConstraintStatement.objects.select_for_update().filter(
        community_id=statement.community_id, reference=statement.reference, withdrawn_at__isnull=True
    )
    changed = rows.update(withdrawn_at=now)
    statement.refresh_from_db()
    if changed:
        audit_record(
            actor=actor,
            action="community.constraint_withdraw",
            community=statement.community,
            obj=statement,
            summary=f"{statement.reference} withdrawn",
        )
    return statement
