"""Sites' committed net positions, from whichever app holds them.

Issue 11: the market trades first, the VPP's accepted events are commitments,
and the balancing controller balances what remains. The controller lives in
``vpp/`` and the market in ``lem/``, which must not import each other; this
module is the meeting point. An app that holds commitments defines
``<app>/commitments.py`` with

    def site_commitments(*, community, site_ids, start, end) -> list[Commitment]

returning every commitment of those sites overlapping ``[start, end)``; it is
found through the app registry (``community.panels.providers``), so
``community`` imports no higher app and the reader imports no sibling. A
provider that fails is logged and left out: the controller then plans without
that app's commitments rather than not at all.

Units: energy in Wh per commitment interval; ``net_wh`` > 0: the site bought
(it must take that energy), < 0: it sold (it must deliver it). Half-open
intervals, aware UTC datetimes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from community import panels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Commitment:
    site_id: int
    starts_at: datetime
    ends_at: datetime
    net_wh: int
    source: str  # "market", ...
    reference: str = ""

    @property
    def net_w(self) -> float:
        """The commitment as a mean power over its interval (W)."""
        hours = (self.ends_at - self.starts_at).total_seconds() / 3600
        return self.net_wh / hours if hours > 0 else 0.0


def site_commitments(*, community, site_ids, start: datetime, end: datetime) -> list[Commitment]:
    """Every provider's commitments of ``site_ids`` overlapping ``[start, end)``."""
    site_ids = list(site_ids)
    if not site_ids or end <= start:
        return []
    out: list[Commitment] = []
    for func in panels.providers("commitments", "site_commitments"):
        try:
            got = func(community=community, site_ids=site_ids, start=start, end=end) or []
        except Exception:  # one app's fault must not stop the controller planning
            log.exception("commitments provider %s failed", getattr(func, "__module__", func))
            continue
        out.extend(c for c in got if c.site_id in set(site_ids) and c.starts_at < end and c.ends_at > start)
    return out


def net_w_per_step(commitments: list[Commitment], *, site_ids, starts: list[datetime], step) -> dict[int, list]:
    """Committed mean power per site per step (W; None where a site has no commitment).

    A step inside one commitment interval takes its mean power; a step that two
    intervals share takes their energy-weighted mean (each over its overlap)."""
    index = {s: i for i, s in enumerate(site_ids)}
    energy: dict[int, list[float]] = defaultdict(lambda: [0.0] * len(starts))
    covered: dict[int, list[bool]] = defaultdict(lambda: [False] * len(starts))
    step_h = step.total_seconds() / 3600
    for c in commitments:
        if c.site_id not in index:
            continue
        for t, s in enumerate(starts):
            overlap = (min(c.ends_at, s + step) - max(c.starts_at, s)).total_seconds() / 3600
            if overlap > 0:
                energy[c.site_id][t] += c.net_w * overlap
                covered[c.site_id][t] = True
    return {
        site: [energy[site][t] / step_h if covered[site][t] else None for t in range(len(starts))] for site in energy
    }
