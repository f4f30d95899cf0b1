"""Share offers: checking applications and allotting shares when the offer closes.

At close:

* if the money received is below the offer's **minimum raise**, nobody is
  allotted anything and every payment is returned in full;
* if it is within the **maximum raise**, everyone is allotted what they paid
  for (up to what they applied for; any overpayment is refunded);
* if the offer is **oversubscribed**, applications are scaled back. Every
  applicant is first given the minimum they need to hold (so nobody ends up
  with a holding the rules do not allow), then the shares left are shared
  either pro rata to what is still asked for (largest remainder, in whole
  shares) or by levelling down the largest applications first
  (``method="level"``: everyone gets up to the same cap, which favours small
  investors — a common choice in community share offers). If even the minimums
  do not fit, applications are taken in the order they were received.

Whatever is not allotted is refunded. Amounts are integer pennies.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .errors import CoopError
from .money import allocate_pennies, from_pennies, to_pennies
from .rules import SocietyRules

PRO_RATA = "pro_rata"
LEVEL = "level"


@dataclass(frozen=True)
class OfferTerms:
    min_raise: Decimal
    target_raise: Decimal
    max_raise: Decimal
    min_application: Decimal
    max_application: Decimal


def offer_terms_problems(rules: SocietyRules, terms: OfferTerms) -> list[str]:
    p = []
    if terms.min_raise < 0:
        p.append("The minimum raise cannot be negative.")
    if not (terms.min_raise <= terms.target_raise <= terms.max_raise):
        p.append("The raise figures must satisfy minimum ≤ target ≤ maximum.")
    if terms.min_application <= 0:
        p.append("The minimum application must be more than £0.")
    if terms.min_application > terms.max_application:
        p.append("The minimum application is more than the maximum application.")
    if terms.max_application > rules.max_holding:
        p.append(
            f"The maximum application (£{terms.max_application:,}) is above the rules' maximum holding (£{rules.max_holding:,})."
        )
    for label, v in (
        ("minimum application", terms.min_application),
        ("maximum application", terms.max_application),
        ("maximum raise", terms.max_raise),
    ):
        if rules.share_price > 0 and (v / rules.share_price) != (v / rules.share_price).to_integral_value():
            p.append(f"The {label} (£{v}) is not a whole number of £{rules.share_price} shares.")
    return p


def check_application(
    rules: SocietyRules, terms: OfferTerms, *, amount: Decimal, existing_holding: Decimal = Decimal(0)
) -> int:
    """Refuse an application outside the offer's and the rules' limits; returns the number of shares."""
    amount = Decimal(amount)
    existing_holding = Decimal(existing_holding)
    if amount <= 0:
        raise CoopError("The application must be for more than £0.")
    if amount < terms.min_application:
        raise CoopError(f"The minimum application is £{terms.min_application:,}; you applied for £{amount:,}.")
    if amount > terms.max_application:
        raise CoopError(f"The maximum application is £{terms.max_application:,}; you applied for £{amount:,}.")
    if existing_holding + amount > rules.max_holding:
        raise CoopError(
            f"A member may hold at most £{rules.max_holding:,}; you already hold £{existing_holding:,}, "
            f"so you may apply for at most £{max(Decimal(0), rules.max_holding - existing_holding):,}."
        )
    if existing_holding + amount < rules.min_holding:
        raise CoopError(
            f"A member must hold at least £{rules.min_holding:,}; apply for at least £{rules.min_holding - existing_holding:,}."
        )
    return rules.shares_for(amount)


@dataclass(frozen=True)
class Application:
    key: Hashable
    applied: int  # pennies applied for
    paid: int  # pennies received
    existing: int = 0  # pennies already held by the applicant


@dataclass(frozen=True)
class Allotment:
    key: Hashable
    shares: int
    allotted: int  # pennies
    refund: int  # pennies


@dataclass(frozen=True)
class AllotmentResult:
    succeeded: bool
    scaled_back: bool
    lines: list[Allotment]
    total_received: int
    total_allotted: int
    total_refunded: int
    message: str


def allot(
    rules: SocietyRules,
    terms: OfferTerms,
    applications: Sequence[Application],
    *,
    method: str = PRO_RATA,
) -> AllotmentResult:
    """Allot shares for a closed offer. ``applications`` in the order received."""
    if method not in (PRO_RATA, LEVEL):
        raise CoopError(f"unknown scale-back method {method!r}")
    price = to_pennies(rules.share_price)
    min_hold = to_pennies(rules.min_holding)
    max_hold = to_pennies(rules.max_holding)
    max_raise = to_pennies(terms.max_raise)
    min_raise = to_pennies(terms.min_raise)
    received = sum(a.paid for a in applications)
    if any(a.paid < 0 or a.applied < 0 for a in applications):
        raise CoopError("payments and applications cannot be negative")

    if received < min_raise:
        lines = [Allotment(a.key, 0, 0, a.paid) for a in applications]
        return AllotmentResult(
            False,
            False,
            lines,
            received,
            0,
            received,
            f"The offer raised £{from_pennies(received):,}, below its minimum of £{from_pennies(min_raise):,}: "
            f"all money is returned.",
        )

    # What each applicant can be given: paid-for shares, within applied amount and the holding cap.
    want = []
    floor = []
    for a in applications:
        cap = min(a.paid, a.applied, max(0, max_hold - a.existing))
        w = cap // price
        need = max(0, -(-(min_hold - a.existing) // price))  # ceil, shares to reach the minimum holding
        if w < need:
            w = 0  # cannot reach the minimum holding: refund in full
        want.append(w)
        floor.append(min(need, w))
    capacity = max_raise // price
    total_want = sum(want)
    if total_want <= capacity:
        shares = want
        scaled = False
    else:
        scaled = True
        shares = [0] * len(applications)
        left = capacity
        # 1. minimum holdings, in the order received.
        for i, f in enumerate(floor):
            if want[i] == 0:
                continue
            if f <= left:
                shares[i] = f
                left -= f
            else:
                want[i] = 0  # no room even for the minimum: refunded
        extra = [want[i] - shares[i] if want[i] else 0 for i in range(len(applications))]
        if method == PRO_RATA:
            if sum(extra) <= left:
                shares = [s + x for s, x in zip(shares, extra, strict=False)]
            elif left:
                add = allocate_pennies(left, extra)  # integer shares, largest remainder
                # allocation is ≤ extra except for remainder pennies on a full extra; clamp and redistribute
                add = _clamp_redistribute(add, extra)
                shares = [s + x for s, x in zip(shares, add, strict=False)]
        else:
            shares = [s + x for s, x in zip(shares, _level(left, extra), strict=False)]
    lines = []
    for a, s in zip(applications, shares, strict=False):
        allotted = s * price
        lines.append(Allotment(a.key, s, allotted, a.paid - allotted))
    total_allotted = sum(x.allotted for x in lines)
    msg = (
        f"Allotted £{from_pennies(total_allotted):,} of shares to {sum(1 for x in lines if x.shares)} members"
        + (f"; applications were scaled back to the maximum raise of £{from_pennies(max_raise):,}" if scaled else "")
        + f"; £{from_pennies(received - total_allotted):,} to refund."
    )
    return AllotmentResult(True, scaled, lines, received, total_allotted, received - total_allotted, msg)


def _clamp_redistribute(add: list[int], cap: list[int]) -> list[int]:
    # floor(left*e/E) ≤ e always since left < E; +1 remainder can exceed only when the
    # share is exactly e, whose remainder is 0, so it never receives one. Keep a guard anyway.
    over = 0
    out = []
    for a, c in zip(add, cap, strict=False):
        if a > c:
            over += a - c
            a = c
        out.append(a)
    for i in range(len(out)):
        if not over:
            break
        room = cap[i] - out[i]
        give = min(room, over)
        out[i] += give
        over -= give
    return out


def _level(left: int, extra: list[int]) -> list[int]:
    """Give everyone up to a common cap c (largest c that fits), then one more to
    the earliest-received capped applicants until ``left`` is used up."""
    if left <= 0:
        return [0] * len(extra)
    if sum(extra) <= left:
        return list(extra)
    lo, hi = 0, max(extra)
    while lo < hi:  # largest c with Σ min(e, c) ≤ left
        mid = (lo + hi + 1) // 2
        if sum(min(e, mid) for e in extra) <= left:
            lo = mid
        else:
            hi = mid - 1
    out = [min(e, lo) for e in extra]
    rest = left - sum(out)
    for i, e in enumerate(extra):
        if rest == 0:
            break
        if e > out[i]:
            out[i] += 1
            rest -= 1
    return out
