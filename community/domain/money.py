"""Penny arithmetic: amounts split so that totals reconcile exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")


def to_pennies(amount: Decimal) -> Decimal:
    """Round half-up to the penny (used for one amount on its own, never for a split)."""
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def allocate_largest_remainder(total: Decimal, weights: Sequence[Decimal | int | float]) -> list[Decimal]:
    """Split ``total`` (a whole number of pennies) in proportion to ``weights``.

    Every share is floored to the penny, then the pennies left over go one each to
    the largest remainders (ties to the earlier index), so ``sum(result) == total``
    exactly and every share is within a penny of its exact pro-rata value.
    """
    if total != total.quantize(PENNY):
        raise ValueError(f"total {total} is not a whole number of pennies")
    if total < 0:
        return [-x for x in allocate_largest_remainder(-total, weights)]
    ws = [Decimal(str(w)) for w in weights]
    if any(w < 0 for w in ws):
        raise ValueError("weights must not be negative")
    weight_sum = sum(ws, Decimal(0))
    if not ws:
        if total:
            raise ValueError("cannot allocate a non-zero total over no weights")
        return []
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a non-zero total over zero weights")
        return [Decimal("0.00")] * len(ws)
    total_pennies = int(total / PENNY)
    exact = [total_pennies * w / weight_sum for w in ws]
    floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
    left = total_pennies - sum(floors)
    order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(p) * PENNY for p in floors]
