"""Sealed-bid reverse auction per package: score on price and quality, pick a winner and a reserve.

One round (Solar Together: registration -> one-round reverse auction among
pre-qualified installers).  Each bid prices the package in tiers by system
size.  A bid is priced on the campaign's own basket: the indicative sizes of
the households registered for the package, so an installer cheap only on
sizes nobody wants gains nothing.

- price score = 100 x (cheapest basket cost / this bid's basket cost)
- quality score 0..100 from the installer's qualification and record
- total = (w_price x price + w_quality x quality) / (w_price + w_quality)

Highest total wins; ties go to the lower basket cost, then the lower installer
id (deterministic).  A bid whose installer cannot install the expected number
of systems within the installation window (capacity per week x weeks) is
ranked but may not win: the failure that sank Solar Together London phase 4
was a single installer without the capacity or certification to deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np


class AuctionInputError(ValueError):
    pass


@dataclass(frozen=True)
class BidIn:
    installer_id: int
    tiers: tuple[tuple[float, Decimal], ...]  # (size up to, GBP per unit), ascending
    quality: float  # 0..100
    capacity_per_week: int


@dataclass(frozen=True)
class Ranked:
    installer_id: int
    basket_cost: Decimal
    price_score: float
    quality_score: float
    total: float
    rank: int
    excluded: str  # "" when the bid may win


@dataclass(frozen=True)
class Evaluation:
    rows: tuple[Ranked, ...]
    winner: int | None
    reserve: int | None


def quality_score(
    *, financial_health: int, insurance_cover_gbp: Decimal, installs: int, complaints: int, late: int
) -> float:
    """0..100: financial health (40 %), insurance cover (20 %), record in earlier campaigns (40 %).

    The record starts at full marks for a newcomer and falls by 4 points per 1 %
    of installs with an upheld complaint and 2 per 1 % finished late.
    """
    if not 0 <= financial_health <= 100:
        raise AuctionInputError("Financial health is a score from 0 to 100.")
    cover = min(1.0, float(insurance_cover_gbp) / 5_000_000.0)  # £5m public liability is the norm asked for
    if installs > 0:
        record = max(0.0, 100.0 - 400.0 * complaints / installs - 200.0 * late / installs)
    else:
        record = 100.0
    return round(0.4 * financial_health + 20.0 * cover + 0.4 * record, 2)


def _basket_costs(bids: list[BidIn], sizes: np.ndarray) -> np.ndarray:
    """Cost of the whole basket for every bid (GBP, float for scoring; an uncovered size is inf)."""
    costs = np.zeros(len(bids))
    for b, bid in enumerate(bids):
        ups = np.array([t[0] for t in bid.tiers], dtype=float)
        per = np.array([float(t[1]) for t in bid.tiers], dtype=float)
        idx = np.searchsorted(ups + 1e-9, sizes, side="left")
        if (idx >= len(ups)).any():
            costs[b] = np.inf
            continue
        costs[b] = float((sizes * per[idx]).sum())
    return costs


def evaluate(
    bids: list[BidIn],
    *,
    basket_sizes: np.ndarray,
    price_weight: float,
    quality_weight: float,
    expected_installs: int,
    install_weeks: int,
) -> Evaluation:
    if price_weight < 0 or quality_weight < 0 or price_weight + quality_weight <= 0:
        raise AuctionInputError("The price and quality weights must be zero or more and not both zero.")
    if not bids:
        return Evaluation(rows=(), winner=None, reserve=None)
    sizes = np.asarray(basket_sizes, dtype=float)
    if sizes.size == 0:
        sizes = np.array([1.0])
    costs = _basket_costs(bids, sizes)
    finite = costs[np.isfinite(costs)]
    best = finite.min() if finite.size else np.inf
    price_scores = np.where(np.isfinite(costs), 100.0 * best / np.where(costs > 0, costs, np.inf), 0.0)
    quality = np.array([b.quality for b in bids], dtype=float)
    total = (price_weight * price_scores + quality_weight * quality) / (price_weight + quality_weight)
    order = sorted(range(len(bids)), key=lambda i: (-round(total[i], 9), costs[i], bids[i].installer_id))
    rows = []
    eligible: list[int] = []
    for rank, i in enumerate(order, start=1):
        b = bids[i]
        if not np.isfinite(costs[i]):
            why = "tiers do not cover every registered size"
        elif b.capacity_per_week * install_weeks < expected_installs:
            why = (
                f"capacity {b.capacity_per_week}/week x {install_weeks} weeks = "
                f"{b.capacity_per_week * install_weeks} < {expected_installs} expected installs"
            )
        else:
            why = ""
            eligible.append(b.installer_id)
        rows.append(
            Ranked(
                installer_id=b.installer_id,
                basket_cost=Decimal(str(round(costs[i], 2))) if np.isfinite(costs[i]) else Decimal("0"),
                price_score=round(float(price_scores[i]), 2),
                quality_score=round(float(quality[i]), 2),
                total=round(float(total[i]), 2),
                rank=rank,
                excluded=why,
            )
        )
    return Evaluation(
        rows=tuple(rows),
        winner=eligible[0] if eligible else None,
        reserve=eligible[1] if len(eligible) > 1 else None,
    )
