"""The market's commitments for the balancing controller (``community.commitments``).

A cleared trade commits its buyer's site to take, and its seller's site to
deliver, ``quantity_wh`` in the trade's delivery period. A site's commitment in
a period is the sum over its trades (bought - sold), so a home that bought and
sold the same amount is committed to nothing. Trades between two sites behind
the same connection still commit each site: the wire between them carries the
energy. Found by ``community.commitments`` through the app registry; vpp/ never
imports this module.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Q

from community.commitments import Commitment


def site_commitments(*, community, site_ids, start: datetime, end: datetime) -> list[Commitment]:
    from lem.models import ClearingRun, Trade

    minutes = community.settlement_period_minutes
    period = timedelta(minutes=minutes)
    site_ids = set(site_ids)
    rows = (
        Trade.objects.filter(
            market__community=community,
            run__status=ClearingRun.Status.DONE,
            period_start__gt=start - period,
            period_start__lt=end,
        )
        .filter(Q(buyer__site_id__in=site_ids) | Q(seller__site_id__in=site_ids))
        .values_list("period_start", "buyer__site_id", "seller__site_id", "quantity_wh")
    )
    net: dict[tuple[int, datetime], int] = defaultdict(int)
    for period_start, buyer_site, seller_site, wh in rows:
        if buyer_site in site_ids:
            net[(buyer_site, period_start)] += wh
        if seller_site in site_ids:
            net[(seller_site, period_start)] -= wh
    return [
        Commitment(
            site_id=site,
            starts_at=ps,
            ends_at=ps + period,
            net_wh=wh,
            source="market",
            reference=f"trades {ps:%Y-%m-%d %H:%M}",
        )
        for (site, ps), wh in sorted(net.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        if wh != 0
    ]
