"""Market rules: proposals, votes, decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from community.errors import DomainError
from community.models import Membership, Role
from community.services import audit_record
from lem.models import (
    Market,
    Mechanism,
    RuleVersion,
    RuleVote,
)
from lem.services.base import _decimal, _is_operator

RULE_FIELDS = (
    "mechanism",
    "match_tariff",
    "import_price",
    "peak_import_price",
    "export_price",
    "fee_per_trade_pence",
    "fee_pct",
    "membership_fee",
    "membership_fee_cap_pct",
    "social_discount_pct",
    "tolerance_band_pct",
    "fund_share_pct",
)


def _clean_rules(values: dict) -> dict:
    out: dict[str, Any] = {}
    mech = values.get("mechanism", Mechanism.UNIFORM)
    if mech not in Mechanism.values:
        raise DomainError(f"'{mech}' is not a clearing mechanism ({', '.join(Mechanism.values)}).", field="mechanism")
    out["mechanism"] = mech
    for name, what in (
        ("match_tariff", "The match tariff"),
        ("import_price", "The import price"),
        ("export_price", "The export price"),
        ("fee_per_trade_pence", "The fee per trade"),
        ("fee_pct", "The fee percentage"),
        ("membership_fee", "The membership fee"),
        ("social_discount_pct", "The social tariff discount"),
        ("tolerance_band_pct", "The tolerance band"),
        ("fund_share_pct", "The fund's share of fees"),
    ):
        if name in values and values[name] not in (None, ""):
            d = _decimal(values[name], what, name)
            if d < 0:
                raise DomainError(f"{what} cannot be negative.", field=name)
            if name.endswith("_pct") and d > 100:
                raise DomainError(f"{what} cannot be above 100%.", field=name)
            out[name] = d
    cap = values.get("membership_fee_cap_pct")
    if cap not in (None, ""):
        d = _decimal(cap, "The membership fee's cap", "membership_fee_cap_pct")
        if not 0 <= d <= 100:
            raise DomainError(
                "The membership fee's cap is a share of what trading saved the household: 0-100%.",
                field="membership_fee_cap_pct",
            )
        out["membership_fee_cap_pct"] = d
    if values.get("peak_import_price") not in (None, ""):
        out["peak_import_price"] = _decimal(values["peak_import_price"], "The peak import price", "peak_import_price")
    if "import_price" not in out or "export_price" not in out:
        raise DomainError("The rules need the supplier's import and export prices.", field="import_price")
    if out["export_price"] > out["import_price"]:
        raise DomainError("The export price cannot be above the import price.", field="export_price")
    return out


@transaction.atomic
def rule_propose(
    *, market: Market, actor: Any, values: dict, effective_from: datetime, reason: str = "", now: datetime | None = None
) -> RuleVersion:
    """A new rule version. Applies at ``effective_from`` once approved: at
    once when the market needs no vote and the operator proposes it, else
    after the members' vote (``rule_decide``)."""
    now = now or timezone.now()
    community = market.community
    is_op = _is_operator(actor, community) or getattr(actor, "is_superuser", False)
    is_member = Membership.objects.filter(community=community, user=actor, role=Role.MEMBER).exists()
    if not (is_op or is_member):
        raise DomainError("Only members and the market operator can propose rule changes.", code="forbidden")
    if not market.rules_need_vote and not is_op:
        raise DomainError("In this market only the operator changes the rules.", code="forbidden")
    if effective_from <= now:
        raise DomainError("A rule change must apply from a future time.", field="effective_from")
    cleaned = _clean_rules(values)
    number = (market.rule_versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    approve_now = not market.rules_need_vote
    rule = RuleVersion.objects.create(
        market=market,
        number=number,
        effective_from=effective_from,
        status=RuleVersion.Status.APPROVED if approve_now else RuleVersion.Status.PROPOSED,
        decided_at=now if approve_now else None,
        reason=reason[:300],
        proposed_by=actor if getattr(actor, "is_authenticated", False) else None,
        **cleaned,
    )
    audit_record(
        actor=actor,
        action="lem.rule_propose",
        summary=f"Proposed rules v{number} from {effective_from:%Y-%m-%d %H:%M}",
        community=community,
        obj=rule,
        changes={k: str(v) for k, v in cleaned.items()},
    )
    if rule.status == RuleVersion.Status.PROPOSED:
        # issue 17: the modelled effect on every household, ready before members vote
        transaction.on_commit(lambda: _model_proposal(rule.pk))
    return rule


def _model_proposal(rule_pk: int) -> None:
    from lem.services.value import value_report_request

    rule = RuleVersion.objects.select_related("market__community").get(pk=rule_pk)
    if rule.status != RuleVersion.Status.PROPOSED:
        return  # decided in the same transaction (the demo's history): nothing to vote on
    try:
        value_report_request(market=rule.market, rule=rule)
    except DomainError:
        pass  # nothing to model yet (no sites): the vote page offers "Model this change"


def vote_closes_at(rule: RuleVersion) -> datetime:
    """When the vote on a proposed change is due to close: the moment the
    change would take effect (the operator closes it then, or earlier, with
    ``rule_decide``; approved late, it applies from the decision, never in
    the past)."""
    return rule.effective_from


@transaction.atomic
def rule_vote(*, rule: RuleVersion, voter: Any, choice: str) -> RuleVote:
    if rule.status != RuleVersion.Status.PROPOSED:
        raise DomainError("Voting on this rule change has closed.")
    if choice not in RuleVote.Choice.values:
        raise DomainError("Vote yes or no.", field="choice")
    if not Membership.objects.filter(community=rule.market.community, user=voter, role=Role.MEMBER).exists():
        raise DomainError("Only members of the community can vote on its market rules.", code="forbidden")
    vote, _ = RuleVote.objects.update_or_create(rule=rule, voter=voter, defaults={"choice": choice})
    return vote


@transaction.atomic
def rule_decide(*, rule: RuleVersion, actor: Any, now: datetime | None = None) -> RuleVersion:
    """Close the vote: approved when yes > no and turnout reaches the quorum."""
    now = now or timezone.now()
    rule = RuleVersion.objects.select_for_update().get(pk=rule.pk)
    if rule.status != RuleVersion.Status.PROPOSED:
        return rule
    market = rule.market
    members = Membership.objects.filter(community=market.community, role=Role.MEMBER).values("user").distinct().count()
    yes = rule.votes.filter(choice=RuleVote.Choice.YES).count()
    no = rule.votes.filter(choice=RuleVote.Choice.NO).count()
    quorum = members * market.vote_quorum_pct / 100
    approved = yes > no and (yes + no) >= quorum
    rule.status = RuleVersion.Status.APPROVED if approved else RuleVersion.Status.REJECTED
    if approved and rule.effective_from < now:
        rule.effective_from = now  # never rewrite the past
    rule.decided_at = now
    rule.save(update_fields=["status", "effective_from", "decided_at"])
    audit_record(
        actor=actor,
        action="lem.rule_decide",
        summary=f"Rules v{rule.number} {rule.status} ({yes} yes, {no} no, {members} members)",
        community=market.community,
        obj=rule,
    )
    return rule
