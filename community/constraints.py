"""Read path for network operators' constraint statements (seed 003, look-ahead zone).

The market's clearing, the VPP's dispatch and the balancing controller all call
``node_limits_in_force`` and record the statement ids it returns, so each run can
say which statement it obeyed. A node's effective limit over a window is the
tightest of its physical capacity and every statement in force during any part of
the window (latest version of each reference, not withdrawn).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Max, OuterRef, Subquery

from community.models import Community, ConstraintStatement, NetworkNode


@dataclass(frozen=True)
class NodeLimit:
    node_id: int
    import_limit_kw: Decimal
    export_limit_kw: Decimal
    statement_ids: tuple[int, ...] = field(default=())

    @property
    def constrained(self) -> bool:
        return bool(self.statement_ids)


def statements_in_force(*, community: Community, start: datetime, end: datetime):
    """The latest, unwithdrawn version of each statement overlapping ``[start, end)``."""
    latest = (
        ConstraintStatement.objects.filter(community=community, reference=OuterRef("reference"))
        .values("reference")
        .annotate(v=Max("version"))
        .values("v")
    )
    return (
        ConstraintStatement.objects.filter(
            community=community, starts_at__lt=end, ends_at__gt=start, withdrawn_at__isnull=True
        )
        .filter(version=Subquery(latest))
        .select_related("node")
        .order_by("node_id", "starts_at")
    )


def node_limits_in_force(*, community: Community, start: datetime, end: datetime) -> dict[int, NodeLimit]:
    """Every node of the community with its effective limits over ``[start, end)``."""
    limits = {
        n.pk: NodeLimit(n.pk, n.import_capacity_kw, n.export_capacity_kw)
        for n in NetworkNode.objects.filter(community=community)
    }
    for st in statements_in_force(community=community, start=start, end=end):
        cur = limits[st.node_id]
        limits[st.node_id] = NodeLimit(
            st.node_id,
            min(cur.import_limit_kw, st.import_limit_kw),
            min(cur.export_limit_kw, st.export_limit_kw),
            (*cur.statement_ids, st.pk),
        )
    return limits
