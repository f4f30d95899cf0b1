"""Monthly membership fees."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Sum

from community.models import JournalEntry
from community.services import EntrySpec, ledger_post_many
from lem.domain import settlement as sm
from lem.domain.fees import capped_fee_pence, fee_days, membership_fee_pence
from lem.domain.settlement import pence_to_gbp
from lem.models import (
    Market,
    MonthlyCharge,
    SettlementLine,
    Trade,
)
from lem.services.base import rules_in_force
from lem.services.orders import member_account
from lem.services.settlement import _account


def month_bounds(market: Market, month: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(market.community.timezone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), nxt.astimezone(ZoneInfo("UTC"))


def traded_days(market: Market, month: date) -> dict[int, set[date]]:
    """Per participant id, the local days of ``month`` on which it bought or sold locally."""
    tz = ZoneInfo(market.community.timezone)
    start, end = month_bounds(market, month)
    days: dict[int, set[date]] = {}
    rows = Trade.objects.filter(market=market, period_start__gte=start, period_start__lt=end).values_list(
        "buyer_id", "seller_id", "period_start"
    )
    for buyer, seller, t in rows:
        d = t.astimezone(tz).date()
        days.setdefault(buyer, set()).add(d)
        days.setdefault(seller, set()).add(d)
    return days


def month_savings_pence(market: Market, month: date) -> dict[int, int]:
    """Per participant id, what its settled trading saved in ``month`` against the
    supplier alone, after trade fees (before the social tariff discount), whole
    pence: the base of a shared-savings fee cap."""
    start, end = month_bounds(market, month)
    rows = (
        SettlementLine.objects.filter(
            run__market=market, run__status="settled", period_start__gte=start, period_start__lt=end
        )
        .values("participant_id")
        .annotate(
            so=Sum("supplier_only"),
            lc=Sum("local_cost"),
            li=Sum("local_income"),
            sc=Sum("supplier_cost"),
            si=Sum("supplier_income"),
            f=Sum("fees"),
        )
    )
    z = Decimal("0")
    out = {}
    for r in rows:
        paid = (r["lc"] or z) - (r["li"] or z) + (r["sc"] or z) - (r["si"] or z) + (r["f"] or z)
        out[r["participant_id"]] = int(((r["so"] - paid) * 100).to_integral_value())
    return out


@transaction.atomic
def membership_fees_post(*, market: Market, month: date, actor: Any = None) -> int:
    """Charge the monthly membership fee pro rata (issue 17): for the days of
    the month the household was a participant and traded, never for a day it
    was not a participant. Run during the month (the nightly task) or after
    it: the charge is trued up as traded days are added (and, where the rules
    cap the fee at a share of the month's trading saving, as the saving
    settles: `lem.domain.fees.capped_fee_pence`), each change a new
    ledger entry (append-only ledger, idempotency key per amount), so running
    it twice posts nothing the second time. Returns the number of charges
    created or changed."""
    month = month.replace(day=1)
    start, _ = month_bounds(market, month)
    rule = rules_in_force(market, start)
    tz = ZoneInfo(market.community.timezone)
    monthly_pence = int(rule.membership_fee * 100)
    days = traded_days(market, month)
    cap = rule.membership_fee_cap_pct
    savings = month_savings_pence(market, month) if cap is not None else {}
    existing = {c.participant_id: c for c in MonthlyCharge.objects.filter(participant__market=market, month=month)}
    cache: dict = {}
    specs, changed = [], 0
    for p in market.participants.order_by("pk"):
        traded = days.get(p.pk, set())
        # a household that traded was a participant that day (records imported
        # from before the platform's own enrolment date count from their first trade)
        joined = min([p.created_at.astimezone(tz).date(), *traded])
        n = fee_days(month=month, joined=joined, traded_days=traded)
        pence = membership_fee_pence(monthly_fee_pence=monthly_pence, month=month, days_charged=n)
        pence = capped_fee_pence(fee_pence=pence, saving_pence=savings.get(p.pk, 0), cap_pct=cap)
        amount = pence_to_gbp(pence)
        charge = existing.get(p.pk)
        adjusting = charge is not None
        before = charge.amount if adjusting else Decimal("0")
        if amount == before:
            continue
        if charge is None:
            charge = MonthlyCharge.objects.create(participant=p, month=month, amount=amount)
        else:
            charge.amount = amount
            charge.save(update_fields=["amount"])
        delta = amount - before
        key = f"lem:membership:{p.pk}:{month:%Y-%m}"
        if adjusting:
            # a fee can go down (a capped fee, as the month's saving settles) and up again: each change its own key
            k = JournalEntry.objects.filter(community=market.community, idempotency_key__startswith=key).count()
            key += f":{k}:{before}->{amount}"
        specs.append(
            EntrySpec(
                lines=[(member_account(p), delta), (_account(market, sm.OPERATOR, cache), -delta)],
                memo=f"Membership fee {month:%B %Y} ({p.pseudonym}): {n} day(s) traded"
                + (f", at most {cap.normalize():f}% of the month's saving" if cap is not None else "")
                + (" (adjusted)" if adjusting else ""),
                source="lem.fees",
                idempotency_key=key,
                effective_at=start,
            )
        )
        changed += 1
    if specs:
        ledger_post_many(community=market.community, entries=specs, actor=actor)
    return changed
