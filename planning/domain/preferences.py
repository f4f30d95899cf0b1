"""Community preferences: scores with their spread, and where people disagree.

Members score each option (1 = strongly against .. 5 = strongly for) overall
and against criteria (cost, carbon, local ownership, disruption, landscape),
online or entered by the convenor from a paper session.  A ranking of k
options converts to scores by Borda count (first = k ... last = 1), rescaled
to 1..5.  We report the distribution, not just the average: two camps at 1 and
5 average to 3 just like a room of shrugs, and the plan needs to know which.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import PlanningError

SCORE_MIN, SCORE_MAX = 1, 5
CRITERIA = ("overall", "cost", "carbon", "local_ownership", "disruption", "landscape")
CRITERIA_LABELS = {
    "overall": "Overall",
    "cost": "Cost",
    "carbon": "Carbon",
    "local_ownership": "Local ownership",
    "disruption": "Disruption",
    "landscape": "Landscape",
}


def validate_score(score) -> int:
    """A whole number 1..5 (from a form that may be the text "4")."""
    if isinstance(score, bool):
        raise PlanningError("Score must be a whole number from 1 to 5.")
    try:
        value = float(str(score).strip())
    except (TypeError, ValueError):
        raise PlanningError(f"Score {score!r} is not a whole number from 1 to 5.") from None
    if value != int(value) or not (SCORE_MIN <= value <= SCORE_MAX):
        raise PlanningError(f"Score must be a whole number from 1 to 5, got {score}.")
    return int(value)


def ranking_to_scores(ranked: Sequence[str]) -> dict[str, float]:
    """Borda: first of k gets 5, last gets 1, evenly in between."""
    if len(set(ranked)) != len(ranked):
        raise PlanningError("Each option can appear only once in a ranking.")
    k = len(ranked)
    if k == 0:
        raise PlanningError("Rank at least one option.")
    if k == 1:
        return {ranked[0]: float(SCORE_MAX)}
    return {opt: SCORE_MAX - (SCORE_MAX - SCORE_MIN) * i / (k - 1) for i, opt in enumerate(ranked)}


@dataclass
class Spread:
    n: int
    mean: float
    median: float
    q1: float
    q3: float
    sd: float
    counts: list[int]  # how many gave 1, 2, 3, 4, 5
    support: float  # share scoring 4-5
    opposition: float  # share scoring 1-2
    disagreement: bool
    consensus: str  # "strong support", "support", "mixed", "divided", "opposition", "strong opposition", "no views"


def summarise(scores: Iterable[float]) -> Spread:
    s = np.asarray(list(scores), dtype=float)
    if s.size == 0:
        return Spread(0, 0.0, 0.0, 0.0, 0.0, 0.0, [0] * 5, 0.0, 0.0, False, "no views")
    rounded = np.clip(np.rint(s), SCORE_MIN, SCORE_MAX).astype(int)
    counts = np.bincount(rounded - SCORE_MIN, minlength=5).tolist()
    support = float((s >= 3.5).mean())
    opposition = float((s <= 2.5).mean())
    q1, med, q3 = (float(x) for x in np.percentile(s, [25, 50, 75]))
    sd = float(s.std(ddof=1)) if s.size > 1 else 0.0
    # people disagree when sizeable camps (30 % or more each) sit on both
    # sides, or the middle half of views spans more than two points
    disagreement = bool(s.size >= 3 and (min(support, opposition) >= 0.3 or (q3 - q1) > 2.0))
    mean = float(s.mean())
    if disagreement:
        label = "divided"
    elif mean >= 4.25 and opposition == 0:
        label = "strong support"
    elif mean >= 3.5:
        label = "support"
    elif mean <= 1.75 and support == 0:
        label = "strong opposition"
    elif mean <= 2.5:
        label = "opposition"
    else:
        label = "mixed"
    return Spread(
        int(s.size),
        round(mean, 2),
        med,
        q1,
        q3,
        round(sd, 2),
        counts,
        round(support, 3),
        round(opposition, 3),
        disagreement,
        label,
    )


def preference_table(records: Iterable[tuple[str, str, str, float]]) -> dict[str, dict[str, Spread]]:
    """records: (participant, option, criterion, score) -> option -> criterion -> Spread.

    A participant's latest score per (option, criterion) counts once.
    """
    latest: dict[tuple[str, str, str], float] = {}
    for who, option, criterion, score in records:
        if criterion not in CRITERIA:
            raise PlanningError(f"Unknown criterion {criterion!r}.")
        latest[(who, option, criterion)] = float(score)
    grouped: dict[str, dict[str, list[float]]] = {}
    for (_who, option, criterion), score in latest.items():
        grouped.setdefault(option, {}).setdefault(criterion, []).append(score)
    return {opt: {c: summarise(v) for c, v in crit.items()} for opt, crit in grouped.items()}
