"""Measurement and verification, then the buyer's money through the sharing rule to households.

``event_settle`` (idempotent: a second call returns the stored settlement):
1. for every household that took part, its site meter's half-hours over the
   event and the 3 hours before, on the event day and the 20 days before;
2. baselines side by side (``vpp.domain.baseline``), the requirement's method
   settles; suspicious baselines flagged;
3. revenue = utilisation (delivered MWh, capped at the accepted volume, x price)
   + availability (accepted MW x hours x price);
4. the community's sharing rule in force (``vpp.domain.sharing``) splits it;
5. one balanced ledger entry (key ``vpp:settle:<event>``): the buyer owes the
   revenue; the aggregator's fee, the community fund and each household's
   earnings are credited. ``payouts_pay`` later moves each household's
   earnings out (key ``vpp:payout:<id>``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assets.models import IntervalReading, Meter
from community.errors import DomainError
from community.models import LedgerAccount
from community.services.audit import audit_record
from community.services.ledger import ledger_account, ledger_post
from vpp import selectors
from vpp.domain import baseline as bl
from vpp.domain import sharing
from vpp.models import Delivery, Enrolment, Event, Payout, Settlement, VppCommand
from vpp.services.market import sharing_rule_default

SETTLE_AFTER = timedelta(minutes=35)  # meter readings for the last half-hour have arrived by then
PRE_PERIODS = 6
HISTORY_DAYS = 20


def _gbp(p: int) -> Decimal:
    return (Decimal(p) / 100).quantize(Decimal("0.01"))


def _participants(event: Event) -> dict[int, list[Enrolment]]:
    ids = set(VppCommand.objects.filter(event=event, refused="").values_list("enrolment_id", flat=True))
    by_site: dict[int, list[Enrolment]] = defaultdict(list)
    for e in Enrolment.objects.filter(pk__in=ids).select_related("device", "site", "user"):
        by_site[e.site_id].append(e)
    return by_site


def _readings(site_ids: list[int], spans: list[tuple[datetime, datetime]]) -> dict:
    q = Q()
    for a, b in spans:
        q |= Q(period_start__gte=a, period_start__lt=b)
    out: dict = {}
    rows = IntervalReading.objects.filter(q, meter__site_id__in=site_ids, meter__kind=Meter.Kind.SITE).values_list(
        "meter__site_id", "period_start", "import_wh", "export_wh"
    )
    for sid, ps, imp, exp in rows:
        out[(sid, ps)] = out.get((sid, ps), 0) + imp - exp
    return out


def measure(event: Event) -> list[Delivery]:
    """Baselines and delivery for every participating household (rows not yet saved)."""
    minutes = event.community.settlement_period_minutes
    step = timedelta(minutes=minutes)
    starts = selectors.periods(event.starts_at, event.ends_at, minutes)
    n = len(starts)
    span0 = event.starts_at - PRE_PERIODS * step
    span = [span0 + k * step for k in range(PRE_PERIODS + n)]
    by_site = _participants(event)
    site_ids = list(by_site)
    spans = [(span0 - timedelta(days=d), event.ends_at - timedelta(days=d)) for d in range(HISTORY_DAYS + 1)]
    readings = _readings(site_ids, spans)
    tz = timezone.get_current_timezone()
    event_days = set()
    for s in (
        Event.objects.filter(community=event.community)
        .exclude(pk=event.pk)
        .exclude(status=Event.Status.CANCELLED)
        .values_list("starts_at", flat=True)
    ):
        event_days.add(timezone.localtime(s, tz).date())
    rows = []
    method = event.requirement.baseline_method
    for sid, enrolments in by_site.items():
        history = []
        for d in range(1, HISTORY_DAYS + 1):
            day_start = event.starts_at - timedelta(days=d)
            local = timezone.localtime(day_start, tz)
            history.append(
                bl.Day(
                    day=local.date(),
                    working=local.weekday() < 5,
                    had_event=local.date() in event_days,
                    wh=[readings.get((sid, t - timedelta(days=d))) for t in span],
                )
            )
        today = [readings.get((sid, t)) for t in span]
        res = bl.compute(history=history, today_wh=today, pre_periods=PRE_PERIODS, event_periods=n)
        actual = today[PRE_PERIODS:]
        delivered = bl.delivered_wh(res.baselines[method], actual, direction=event.requirement.direction)
        flags = list(res.flags)
        if any(a is None for a in actual):
            flags.append("missing meter readings in the event: those half-hours count as nothing delivered")
        devices = [e for e in enrolments if e.device_id]
        rows.append(
            Delivery(
                event=event,
                site_id=sid,
                user=enrolments[0].user,
                actual_wh=actual,
                baselines=res.baselines,
                settling_method=method,
                delivered_wh=delivered,
                enrolled_w=sum(e.device.rated_power_w for e in devices),
                has_assets=bool(devices),
                flags=flags,
            )
        )
    return rows


def revenue_for(event: Event, delivered_wh: int) -> Decimal:
    bid = event.bid
    hours = Decimal((event.ends_at - event.starts_at).total_seconds()) / 3600
    cap_wh = int(bid.volume_kw * 1000 * hours)
    mwh = Decimal(min(delivered_wh, cap_wh)) / 1_000_000
    utilisation = mwh * bid.utilisation_gbp_per_mwh
    availability = bid.volume_kw / 1000 * hours * bid.availability_gbp_per_mw_h
    return (utilisation + availability).quantize(Decimal("0.01"))


def _accounts(event: Event) -> dict[str, LedgerAccount]:
    c = event.community
    buyer = event.requirement.buyer
    return {
        "buyer": ledger_account(
            community=c,
            code=f"vpp:buyer:{buyer.pk}",
            name=f"Flexibility owed by {event.requirement.buyer_name}",
            kind=LedgerAccount.Kind.ASSET,
            user=buyer,
        ),
        "fee": ledger_account(
            community=c, code="vpp:fees", name="Aggregator fees (VPP)", kind=LedgerAccount.Kind.INCOME
        ),
        "fund": ledger_account(
            community=c, code="vpp:fund", name="Community fund (flexibility share)", kind=LedgerAccount.Kind.LIABILITY
        ),
        "bank": ledger_account(community=c, code="vpp:bank", name="VPP bank account", kind=LedgerAccount.Kind.ASSET),
    }


def household_account(community, user) -> LedgerAccount:
    return ledger_account(
        community=community,
        code=f"vpp:household:{user.pk}",
        name=f"Flexibility earnings owed to {user.get_full_name() or user.username}",
        kind=LedgerAccount.Kind.LIABILITY,
        user=user,
    )


def event_settle(*, event: Event, now: datetime | None = None, actor: Any = None) -> Settlement:
    now = now or timezone.now()
    with transaction.atomic():
        event = (
            Event.objects.select_for_update().select_related("requirement__buyer", "bid", "community").get(pk=event.pk)
        )
        existing = Settlement.objects.filter(event=event).first()
        if existing is not None:
            return existing
        if event.status == Event.Status.CANCELLED:
            raise DomainError("A cancelled event has nothing to settle.", field="event")
        if now < event.ends_at:
            raise DomainError("The event has not finished yet.", field="event")
        rows = measure(event)
        Delivery.objects.filter(event=event).delete()  # only unsettled measurements are ever replaced
        for r in rows:
            r.created_at = now
        Delivery.objects.bulk_create(rows)
        total = sum(r.delivered_wh for r in rows)
        revenue = revenue_for(event, total)
        rule = sharing_rule_default(event.community, event.starts_at)
        split = sharing.split(
            revenue=revenue,
            rule=sharing.Rule(rule.fee_pct, rule.fund_pct, rule.availability_credit_gbp_per_kw, rule.floor_gbp),
            participants=[sharing.Participant(r.site_id, r.delivered_wh, r.enrolled_w, r.has_assets) for r in rows],
        )
        settlement = Settlement.objects.create(
            event=event,
            rule=rule,
            delivered_wh=total,
            revenue=revenue,
            fee=_gbp(split.fee_p),
            fund=_gbp(split.fund_p),
            households=_gbp(split.households_p),
            created_at=now,
        )
        payouts = []
        for r, s in zip(rows, split.shares, strict=True):
            payouts.append(
                Payout(
                    settlement=settlement,
                    site_id=r.site_id,
                    user=r.user,
                    delivered_wh=r.delivered_wh,
                    availability=_gbp(s.availability_p),
                    floor_topup=_gbp(s.floor_p),
                    share=_gbp(s.share_p),
                    amount=_gbp(s.total_p),
                )
            )
        Payout.objects.bulk_create(payouts)
        if split.revenue_p:
            acc = _accounts(event)
            lines = [(acc["buyer"], _gbp(split.revenue_p))]
            if split.fee_p:
                lines.append((acc["fee"], -_gbp(split.fee_p)))
            if split.fund_p:
                lines.append((acc["fund"], -_gbp(split.fund_p)))
            for p in payouts:
                if p.amount:
                    lines.append((household_account(event.community, p.user), -p.amount))
            entry = ledger_post(
                community=event.community,
                lines=lines,
                memo=f"Flexibility event {event.requirement.reference} settled",
                source="vpp.settlement",
                idempotency_key=f"vpp:settle:{event.pk}",
                effective_at=event.ends_at,
                reference=event.requirement.reference,
                actor=actor,
            )
            settlement.journal_entry_id = entry.pk
            settlement.save(update_fields=["journal_entry_id"])
        Event.objects.filter(pk=event.pk).update(status=Event.Status.SETTLED)
        event.requirement.status = "settled"
        event.requirement.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="vpp.settle",
            community=event.community,
            obj=settlement,
            summary=f"Settled {event.requirement.reference}: {total} Wh, £{revenue}",
        )
    return settlement


def payouts_pay(*, community, actor: Any = None, now: datetime | None = None) -> int:
    """Pay every household's unpaid earnings from the VPP bank account (idempotent per payout)."""
    now = now or timezone.now()
    n = 0
    with transaction.atomic():
        bank = ledger_account(
            community=community, code="vpp:bank", name="VPP bank account", kind=LedgerAccount.Kind.ASSET
        )
        for p in (
            Payout.objects.select_for_update()
            .filter(settlement__event__community=community, paid_at=None, amount__gt=0)
            .select_related("user", "settlement__event__requirement")
        ):
            ledger_post(
                community=community,
                lines=[(household_account(community, p.user), p.amount), (bank, -p.amount)],
                memo=f"Flexibility payout to {p.user.get_full_name() or p.user.username} "
                f"for {p.settlement.event.requirement.reference}",
                source="vpp.payout",
                idempotency_key=f"vpp:payout:{p.pk}",
                actor=actor,
            )
            p.paid_at = now
            p.save(update_fields=["paid_at"])
            n += 1
        if n:
            audit_record(
                actor=actor, action="vpp.payouts_pay", community=community, summary=f"Paid {n} flexibility payouts"
            )
    return n
