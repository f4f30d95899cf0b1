"""Read paths shared by views, the API and tasks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from community.access import OPERATOR_ROLES, roles_in
from community.domain import ledger as chain
from community.models import (
    AuditEvent,
    Community,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    Membership,
    NetworkNode,
    Site,
)


@dataclass
class MemberRow:
    user_id: int
    name: str
    username: str
    roles: list[str]


def member_rows(community: Community) -> list[MemberRow]:
    rows: dict[int, MemberRow] = {}
    for m in (
        Membership.objects.filter(community=community)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ):
        row = rows.get(m.user_id)
        if row is None:
            row = rows[m.user_id] = MemberRow(m.user_id, m.user.get_full_name() or m.user.username, m.user.username, [])
        row.roles.append(m.get_role_display())
    return list(rows.values())


def role_counts(community: Community) -> dict[str, int]:
    return dict(
        Membership.objects.filter(community=community)
        .values_list("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )


@dataclass
class TreeNode:
    node: NetworkNode
    depth: int
    site_count: int
    children: list[TreeNode]


def network_tree(community: Community) -> list[TreeNode]:
    """The network as nested TreeNodes (roots first), with sites counted per feeder."""
    nodes = list(NetworkNode.objects.filter(community=community).annotate(site_count=Count("sites")).order_by("name"))
    children: dict[int | None, list[NetworkNode]] = defaultdict(list)
    for n in nodes:
        children[n.parent_id].append(n)

    def build(n: NetworkNode, depth: int) -> TreeNode:
        kids = [build(c, depth + 1) for c in children.get(n.pk, [])]
        return TreeNode(n, depth, n.site_count + sum(k.site_count for k in kids), kids)

    return [build(r, 0) for r in children.get(None, [])]


def flatten_tree(tree: list[TreeNode]) -> list[TreeNode]:
    out: list[TreeNode] = []

    def walk(t: TreeNode) -> None:
        out.append(t)
        for c in t.children:
            walk(c)

    for t in tree:
        walk(t)
    return out


def sites_visible_to(user: Any, community: Community) -> QuerySet[Site]:
    """Sites whose details (address, meter) this person may open."""
    qs = Site.objects.filter(community=community).select_related("network_node")
    if roles_in(user, community) & OPERATOR_ROLES:
        return qs
    return qs.filter(occupants=user)


def site_map_points(community: Community, user: Any) -> list[dict]:
    """Every site as a point; homes the person may not open are shown without name."""
    visible = set(sites_visible_to(user, community).values_list("pk", flat=True))
    points = []
    for s in Site.objects.filter(community=community).select_related("network_node").order_by("pk"):
        named = s.pk in visible or s.kind != Site.Kind.HOME
        points.append(
            {
                "id": s.pk,
                "lat": float(s.latitude),
                "lon": float(s.longitude),
                "kind": s.get_kind_display(),
                "label": s.name if named else "Home",
                "feeder": s.network_node.name,
                "mine": s.pk in visible,
            }
        )
    return points


def audit_events(community: Community, limit: int = 200) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(community=community).select_related("actor")[:limit]


# --- ledger reads ---------------------------------------------------------------


PENNY = Decimal("0.01")


def _pennies(total) -> Decimal:
    # SQLite sums decimals as floats (1e-16 noise); every line is whole pennies,
    # so rounding the sum to the penny gives the exact total back.
    return Decimal(total or 0).quantize(PENNY)


def account_balance(account: LedgerAccount) -> Decimal:
    """Debit-positive balance of one account."""
    return _pennies(JournalLine.objects.filter(account=account).aggregate(s=Sum("amount"))["s"])


def account_balances(community: Community, prefix: str = "") -> dict[str, Decimal]:
    rows = (
        JournalLine.objects.filter(account__community=community, account__code__startswith=prefix)
        .values_list("account__code")
        .annotate(s=Sum("amount"))
    )
    return {code: _pennies(s) for code, s in rows}


def account_lines(account: LedgerAccount) -> QuerySet[JournalLine]:
    return JournalLine.objects.filter(account=account).select_related("entry").order_by("entry__seq")


@dataclass
class LedgerVerification:
    entries: int
    lines: int
    total: Decimal
    problems: list[chain.ChainProblem]

    @property
    def ok(self) -> bool:
        return not self.problems and self.total == 0


def ledger_verify(community: Community, chunk: int = 20000) -> LedgerVerification:
    """Walk the community's chain from the first entry: every hash recomputed,
    every link checked, every entry balanced, and the grand total zero."""
    accounts = dict(LedgerAccount.objects.filter(community=community).values_list("pk", "code"))
    seq_of = {}
    problems: list[chain.ChainProblem] = []
    entries = lines = 0
    total = Decimal("0.00")
    prev_hash = chain.GENESIS_HASH
    expected = 1
    last_seq = 0
    while True:
        batch = list(
            JournalEntry.objects.filter(community=community, seq__gt=last_seq)
            .order_by("seq")
            .values(
                "id",
                "seq",
                "effective_at",
                "created_at",
                "source",
                "reference",
                "memo",
                "idempotency_key",
                "reverses_id",
                "prev_hash",
                "hash",
            )[:chunk]
        )
        if not batch:
            break
        ids = [e["id"] for e in batch]
        by_entry: dict[int, list[chain.Line]] = defaultdict(list)
        for entry_id, account_id, amount in JournalLine.objects.filter(entry_id__in=ids).values_list(
            "entry_id", "account_id", "amount"
        ):
            by_entry[entry_id].append(chain.Line(accounts[account_id], amount))
            total += amount
            lines += 1
        records = []
        for e in batch:
            seq_of[e["id"]] = e["seq"]
            records.append(
                chain.EntryRecord(
                    seq=e["seq"],
                    effective_at=chain.iso_utc(e["effective_at"]),
                    created_at=chain.iso_utc(e["created_at"]),
                    source=e["source"],
                    reference=e["reference"],
                    memo=e["memo"],
                    idempotency_key=e["idempotency_key"],
                    reverses_seq=seq_of.get(e["reverses_id"]) if e["reverses_id"] else None,
                    lines=tuple(by_entry.get(e["id"], ())),
                    prev_hash=e["prev_hash"],
                    hash=e["hash"],
                )
            )
        # verify this chunk as a continuation of the chain so far
        for p in chain.verify_chain_from(records, prev_hash=prev_hash, first_seq=expected):
            problems.append(p)
        prev_hash = records[-1].hash
        expected = records[-1].seq + 1
        last_seq = records[-1].seq
        entries += len(batch)
    return LedgerVerification(entries, lines, total, problems)
