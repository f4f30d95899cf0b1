"""Money as integer pennies, and largest-remainder allocation.

Money at the edges is ``Decimal`` GBP (ARCHITECTURE "Units"); inside the
domain it is integer pennies so that sums are exact. Sharing a pot of pennies
pro rata uses the largest-remainder (Hamilton) method: everyone first gets the
floor of their exact share, then the pennies left over go one each to the
largest fractional remainders. Hence

* the amounts add up to the pot exactly,
* nobody gets a negative amount (weights and pot are non-negative),
* each amount is within one penny of its exact pro-rata share.

Ties between equal remainders go to the earlier index, so a run is
reproducible: callers pass members in a stable order (register order).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np

from .errors import CoopError

PENNY = Decimal("0.01")
# int64 products stay exact below this; above it we fall back to Python ints.
_INT64_SAFE = 2**62


def to_pennies(amount: Decimal | int | str, *, what: str = "amount") -> int:
    """GBP ``Decimal`` -> integer pennies; refuses fractions of a penny."""
    try:
        value = Decimal(amount)
    except Exception as exc:  # decimal.InvalidOperation and friends
        raise CoopError(f"{what} is not a number of pounds: {amount!r}") from exc
    if not value.is_finite():
        raise CoopError(f"{what} is not a number of pounds: {amount!r}")
    pennies = value * 100
    if pennies != pennies.to_integral_value():
        raise CoopError(f"{what} must be a whole number of pence, got £{value}")
    return int(pennies)


def from_pennies(pennies: int) -> Decimal:
    """Integer pennies -> GBP ``Decimal`` with two places."""
    return (Decimal(int(pennies)) / 100).quantize(PENNY)


def round_pennies(value: Fraction | Decimal) -> int:
    """Exact amount in pennies (a Fraction or Decimal) -> nearest penny, halves up."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate_pennies(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` pennies pro rata to non-negative integer ``weights``.

    Exact integer arithmetic (Python ints: no overflow, no float). Returns a
    list the same length as ``weights`` that sums to ``total``.
    """
    total = int(total)
    if total < 0:
        raise CoopError("cannot allocate a negative total")
    weights = [int(w) for w in weights]
    if any(w < 0 for w in weights):
        raise CoopError("allocation weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total == 0:
            return [0] * len(weights)
        raise CoopError("cannot allocate money when every weight is zero")
    floors = []
    remainders = []
    for w in weights:
        q, r = divmod(total * w, weight_sum)
        floors.append(q)
        remainders.append(r)
    left = total - sum(floors)
    # Largest remainder first; ties to the earlier index (stable sort).
    order = sorted(range(len(weights)), key=lambda i: -remainders[i])
    for i in order[:left]:
        floors[i] += 1
    return floors


def allocate_pennies_np(total: int, weights: np.ndarray) -> np.ndarray:
    """Vectorised :func:`allocate_pennies` for large registers (int64 result).

    Uses int64 when ``total * max(weight)`` cannot overflow, otherwise numpy
    object arrays of Python ints; the result is identical to the pure version.
    """
    total = int(total)
    w = np.asarray(weights)
    if total < 0:
        raise CoopError("cannot allocate a negative total")
    if w.size == 0:
        if total == 0:
            return np.zeros(0, dtype=np.int64)
        raise CoopError("cannot allocate money to nobody")
    if (w < 0).any():
        raise CoopError("allocation weights must not be negative")
    weight_sum = int(w.astype(object).sum()) if w.dtype == object else int(w.sum(dtype=np.int64))
    if weight_sum == 0:
        if total == 0:
            return np.zeros(w.size, dtype=np.int64)
        raise CoopError("cannot allocate money when every weight is zero")
    if total * int(w.max()) < _INT64_SAFE and weight_sum < _INT64_SAFE:
        prod = w.astype(np.int64) * np.int64(total)
        floors = prod // weight_sum
        rems = prod % weight_sum
    else:
        prod = w.astype(object) * total
        floors = prod // weight_sum
        rems = prod % weight_sum
    left = total - int(floors.sum())
    # stable sort on -remainder == ties to the earlier index, as the pure version.
    order = np.argsort(-rems.astype(np.float64) if rems.dtype == object else -rems, kind="stable")
    if rems.dtype == object:
        # float keys could tie wrongly for huge remainders: sort exactly.
        order = np.array(sorted(range(w.size), key=lambda i: -rems[i]), dtype=np.int64)
    out = floors.astype(np.int64)
    out[order[:left]] += 1
    return out


def spread_evenly(total: int, parts: int) -> list[int]:
    """``total`` pennies over ``parts`` equal periods (e.g. an annual cost by month)."""
    if parts <= 0:
        raise CoopError("cannot spread over no periods")
    sign = -1 if total < 0 else 1
    shares = allocate_pennies(abs(int(total)), [1] * parts)
    return [sign * s for s in shares]
