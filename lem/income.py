"""The market's income for the owner of generation at some sites (read only).

Lower apps never import ``lem``: the co-op's accounts find this function with
``community.panels.providers("income", "market_income")`` and ask what the
market paid for the energy the society's assets sold to neighbours.

Only settled periods count (a period waiting for meter data has no lines yet);
a period re-settled after late data has its lines replaced, so the sums here
are always the current settlement. Sales only: a host site that also buys from
the market (a school at night) buys for itself, not for the generator's owner.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Sum

from lem.models import Participant, SettlementLine, SettlementRun

LONDON = ZoneInfo("Europe/London")


def _instant(d: date | datetime) -> datetime:
    """A date is local midnight (Europe/London, the communities' clock); a datetime must be aware."""
    if isinstance(d, datetime):
        if d.tzinfo is None:
            raise ValueError("market_income needs aware datetimes (or dates, read as UK midnight)")
        return d
    return datetime.combine(d, time(0), tzinfo=LONDON)


def market_income(site_ids, month_start: date | datetime, month_end: date | datetime) -> dict:
    """Settled local-market sales of the participants at ``site_ids`` over [month_start, month_end).

    Returns ``{"income": Decimal £, "sold_wh": int, "periods": settled periods with a sale or
    purchase line, "pending": periods of those markets still waiting for meter data}``."""
    site_ids = sorted({int(s) for s in site_ids})
    start, end = _instant(month_start), _instant(month_end)
    if not site_ids or end <= start:
        return {"income": Decimal("0.00"), "sold_wh": 0, "periods": 0, "pending": 0}
    lines = SettlementLine.objects.filter(
        participant__site_id__in=site_ids,
        period_start__gte=start,
        period_start__lt=end,
        run__status=SettlementRun.Status.SETTLED,
    )
    agg = lines.aggregate(income=Sum("local_income"), sold=Sum("sold_wh"), n=Sum("periods"))
    markets = set(Participant.objects.filter(site_id__in=site_ids).values_list("market_id", flat=True))
    pending = SettlementRun.objects.filter(
        market_id__in=markets, period_start__gte=start, period_start__lt=end, status=SettlementRun.Status.PENDING
    ).count()
    # SQLite sums decimals as floats: back to exact pennies
    income = Decimal(str(agg["income"] or 0)).quantize(Decimal("0.01"))
    return {"income": income, "sold_wh": int(agg["sold"] or 0), "periods": agg["n"] or 0, "pending": pending}
