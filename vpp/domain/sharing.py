"""Sharing a flex buyer's payment by the community's voted rule.

Pure, in whole pennies (integers), so the parts always add up to the revenue
exactly: fee + fund + sum(payouts) == revenue. Rounding by largest remainder.

Order (issue 10): the aggregator's fee; the community fund's share of what
remains; an availability credit per kW each participant had enrolled; the rest
in proportion to delivered Wh; then a floor for participants without assets
who delivered something, topped up from the asset holders' shares. With no
delivery at all, what is left after fee and credits goes to the fund.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Participant:
    key: object
    delivered_wh: int
    enrolled_w: int
    has_assets: bool


@dataclass(frozen=True)
class Rule:
    fee_pct: Decimal
    fund_pct: Decimal
    availability_credit_gbp_per_kw: Decimal
    floor_gbp: Decimal


@dataclass(frozen=True)
class Share:
    key: object
    availability_p: int
    share_p: int
    floor_p: int

    @property
    def total_p(self) -> int:
        return self.availability_p + self.share_p + self.floor_p


@dataclass(frozen=True)
class Split:
    revenue_p: int
    fee_p: int
    fund_p: int
    shares: list[Share]

    @property
    def households_p(self) -> int:
        return sum(s.total_p for s in self.shares)


def pennies(gbp: Decimal) -> int:
    return int((Decimal(gbp) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total_p: int, weights: Sequence[float | int]) -> list[int]:
    """Split ``total_p`` pennies in proportion to ``weights`` (largest remainder; ties to the earlier)."""
    if total_p < 0:
        raise ValueError("cannot allocate a negative amount")
    s = sum(weights)
    if not weights or s <= 0:
        return [0] * len(weights)
    exact = [total_p * w / s for w in weights]
    base = [int(x) for x in exact]
    left = total_p - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:left]:
        base[i] += 1
    return base


def split(*, revenue: Decimal, rule: Rule, participants: Sequence[Participant]) -> Split:
    rev = pennies(revenue)
    if rev < 0:
        raise ValueError("revenue cannot be negative")
    fee = pennies(Decimal(rev) * rule.fee_pct / 100 / 100)
    fund = pennies(Decimal(rev - fee) * rule.fund_pct / 100 / 100)
    pool = rev - fee - fund
    wanted = [pennies(rule.availability_credit_gbp_per_kw * Decimal(p.enrolled_w) / 1000) for p in participants]
    avail = wanted if sum(wanted) <= pool else allocate(pool, wanted)
    rest = pool - sum(avail)
    delivered = [max(p.delivered_wh, 0) for p in participants]
    if sum(delivered) > 0:
        share = allocate(rest, delivered)
    else:
        share = [0] * len(participants)
        fund += rest
    floor_p = pennies(rule.floor_gbp)
    top = [0] * len(participants)
    need = [
        max(0, floor_p - avail[i] - share[i]) if (not p.has_assets and p.delivered_wh > 0) else 0
        for i, p in enumerate(participants)
    ]
    donors = [i for i, p in enumerate(participants) if p.has_assets]
    room = sum(share[i] for i in donors)
    if sum(need) and room:
        give = min(sum(need), room)
        top = allocate(give, need) if give < sum(need) else need
        take = allocate(sum(top), [share[i] for i in donors])
        for i, t in zip(donors, take, strict=True):
            share[i] -= t
    shares = [Share(p.key, avail[i], share[i], top[i]) for i, p in enumerate(participants)]
    return Split(rev, fee, fund, shares)
