"""Distribution runs: commit a previewed distribution, all or nothing; record the bank payment."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from community.errors import DomainError
from community.services.audit import audit_record
from community.services.ledger import EntrySpec, ledger_post, ledger_post_many

from ..models import Distribution, DistributionLine, FundPayment, Member, ShareTransaction, Society
from ..selectors import distribution_preview
from ._common import SOURCE, fund_balance_account, member_accounts, money, society_account


def _when(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time(12)))


@transaction.atomic
def distribution_commit(
    *,
    society: Society,
    start: date,
    end: date,
    interest_rate: Decimal,
    fund_contribution: Decimal = Decimal(0),
    dividend_total: Decimal = Decimal(0),
    today: date,
    actor: Any | None = None,
    dividend_basis: str = "holding",
    patronage: dict[int, int] | None = None,
) -> Distribution:
    """Recompute the distribution (never trust a stale preview) and write it in one transaction:
    the run, a line per member, new shares for reinvestment, the fund's receipts and the ledger
    entries. Any failure rolls all of it back: no partial payments."""
    Society.objects.select_for_update().filter(pk=society.pk).first()
    if Distribution.objects.filter(society=society, period_start=start).exists():
        raise DomainError(f"Interest for the year from {start:%d %b %Y} has already been distributed.")
    fund_contribution = money(fund_contribution, what="fund contribution", positive=False)
    dividend_total = money(dividend_total, what="dividend", positive=False)
    preview = distribution_preview(
        society=society,
        start=start,
        end=end,
        interest_rate=interest_rate,
        fund_contribution=fund_contribution,
        dividend_total=dividend_total,
        today=today,
        dividend_basis=dividend_basis,
        patronage=patronage,
    )
    t = preview.totals
    if t["interest"] + t["dividend"] == 0 and fund_contribution == 0:
        raise DomainError("There is nothing to distribute: no interest, dividend or fund contribution.")
    try:
        dist = Distribution.objects.create(
            society=society,
            period_start=start,
            period_end=end,
            surplus=preview.proposal.surplus,
            interest_rate=Decimal(interest_rate),
            fund_contribution=fund_contribution,
            dividend_total=dividend_total,
            interest_total=t["interest"],
            cash_total=t["cash"],
            reinvested_total=t["reinvested"],
            donated_total=t["donated"],
            committed_at=timezone.now(),
            declared_on=today,
            committed_by=actor if getattr(actor, "pk", None) else None,
            day_count=preview.day_count,
            dividend_basis=dividend_basis,
        )
    except IntegrityError:
        raise DomainError(f"Interest for the year from {start:%d %b %Y} has already been distributed.") from None
    DistributionLine.objects.bulk_create(
        [
            DistributionLine(
                distribution=dist,
                member=ln.member,
                penny_days=ln.penny_days,
                interest=ln.interest,
                dividend=ln.dividend,
                choice=ln.choice,
                cash=ln.cash,
                reinvested=ln.reinvested,
                new_shares=ln.new_shares,
                donated=ln.donated,
                note=ln.note[:300],
                patronage=ln.patronage,
            )
            for ln in preview.lines
        ],
        batch_size=2000,
    )

    when = _when(today)
    fund = society.funds.first()
    key = f"coop:dist:{dist.pk}"
    lines = []
    if t["interest"]:
        lines.append((society_account(society, "share-interest"), t["interest"]))
    if t["dividend"]:
        lines.append((society_account(society, "dividends"), t["dividend"]))
    if t["cash"]:
        lines.append((society_account(society, "interest-payable"), -t["cash"]))
    if t["donated"]:
        lines.append((fund_balance_account(fund), -t["donated"]))
    reinvest_rows = []
    accounts = member_accounts(society, [ln.member for ln in preview.lines if ln.new_shares])
    for ln in preview.lines:
        if ln.new_shares:
            lines.append((accounts[ln.member.pk], -ln.reinvested))
            reinvest_rows.append(
                ShareTransaction(
                    society=society,
                    member=ln.member,
                    day=today,
                    kind=ShareTransaction.Kind.REINVEST,
                    shares=ln.new_shares,
                    amount=ln.reinvested,
                    distribution=dist,
                    note=f"interest {start:%Y}",
                )
            )
    entries = []
    if len(lines) >= 2:
        entries.append(
            EntrySpec(
                lines=lines,
                memo=f"Interest on shares for {start:%d %b %Y}–{end:%d %b %Y} at {Decimal(interest_rate):.2%}",
                source=SOURCE,
                reference=f"dist-{dist.pk}",
                idempotency_key=f"{key}:members",
                effective_at=when,
            )
        )
    if fund_contribution:
        entries.append(
            EntrySpec(
                lines=[
                    (society_account(society, "fund-contribution"), fund_contribution),
                    (fund_balance_account(fund), -fund_contribution),
                ],
                memo=f"Contribution to {fund.name}",
                source=SOURCE,
                reference=f"dist-{dist.pk}",
                idempotency_key=f"{key}:fund",
                effective_at=when,
            )
        )
    posted = ledger_post_many(community=society.community, entries=entries, actor=actor)
    for row in reinvest_rows:
        row.journal_entry = posted[0]
    ShareTransaction.objects.bulk_create(reinvest_rows, batch_size=2000)
    receipts = []
    if t["donated"]:
        receipts.append(
            FundPayment(
                fund=fund,
                amount=t["donated"],
                received_on=today,
                distribution=dist,
                description=f"Members' donated interest {start:%Y}",
                journal_entry=posted[0],
            )
        )
    if fund_contribution:
        receipts.append(
            FundPayment(
                fund=fund,
                amount=fund_contribution,
                received_on=today,
                distribution=dist,
                description=f"{society.name} contribution {start:%Y}",
                journal_entry=posted[-1],
            )
        )
    FundPayment.objects.bulk_create(receipts)
    audit_record(
        actor=actor,
        action="coop.distribution_commit",
        summary=f"Distributed £{t['interest']:,} interest to {len(preview.lines)} members "
        f"(£{t['cash']:,} to pay, £{t['reinvested']:,} reinvested, £{t['donated']:,} donated)",
        community=society.community,
        obj=dist,
    )
    return dist


@transaction.atomic
def distribution_mark_paid(*, distribution: Distribution, paid_on: date, actor: Any | None = None) -> Distribution:
    """The bank has made the payments in the payment file."""
    if not Distribution.objects.filter(pk=distribution.pk, status=Distribution.Status.COMMITTED).update(
        status=Distribution.Status.PAID, paid_on=paid_on
    ):
        raise DomainError("This distribution's payments are already recorded as paid.")
    distribution.refresh_from_db()
    society = distribution.society
    if distribution.cash_total:
        ledger_post(
            community=society.community,
            lines=[
                (society_account(society, "interest-payable"), distribution.cash_total),
                (society_account(society, "bank"), -distribution.cash_total),
            ],
            memo=f"Interest paid to members' bank accounts ({distribution.period_start:%Y})",
            source=SOURCE,
            reference=f"dist-{distribution.pk}",
            idempotency_key=f"coop:dist:{distribution.pk}:paid",
            effective_at=_when(paid_on),
            actor=actor,
        )
    audit_record(
        actor=actor,
        action="coop.distribution_paid",
        summary=f"Payment file for {distribution} paid",
        community=society.community,
        obj=distribution,
    )
    return distribution


__all__ = ["Member", "distribution_commit", "distribution_mark_paid"]
