"""Half-hourly interval energy from cumulative counters.

A device reports cumulative ``import_wh`` / ``export_wh`` counters every
few seconds or minutes. The energy of a period [start, end) is the counter at
``end`` minus the counter at ``start``, where the counter at a boundary is
linearly interpolated between the samples either side of it -- provided the
two samples are no further apart than ``max_gap``. If a boundary cannot be
bracketed (no data yet, a gap in the data, a counter that went backwards),
the period is *missing*: it is reported as such and never as zero. When late
samples arrive, running the aggregation again fills it (the caller upserts).

Rounding: boundary counters are rounded to whole Wh before subtracting, so
consecutive periods telescope -- their sum equals the rounded counter
difference over the whole span exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

PERIOD = timedelta(minutes=30)
DEFAULT_MAX_GAP = timedelta(minutes=15)

ACTUAL = "actual"
MISSING = "missing"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CounterPoint:
    ts: datetime
    import_wh: int | None
    export_wh: int | None


@dataclass(frozen=True, slots=True)
class IntervalEnergy:
    start: datetime
    end: datetime
    import_wh: int | None
    export_wh: int | None
    status: str  # ACTUAL or MISSING
    reason: str = ""

    @property
    def is_missing(self) -> bool:
        return self.status == MISSING


def floor_period(ts: datetime, period: timedelta = PERIOD) -> datetime:
    """Start of the period containing ``ts`` (periods are aligned to UTC midnight)."""
    if ts.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    secs = int(period.total_seconds())
    t = int((ts - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=t - t % secs)


def is_aligned(ts: datetime, period: timedelta = PERIOD) -> bool:
    return floor_period(ts, period) == ts


def period_starts(start: datetime, end: datetime, period: timedelta = PERIOD) -> list[datetime]:
    """Starts of every period in [start, end)."""
    first = floor_period(start, period)
    if first < start:
        first += period
    out = []
    t = first
    while t < end:
        out.append(t)
        t += period
    return out


def _secs(ts: datetime) -> float:
    return (ts - _EPOCH).total_seconds()


def _boundary_values(ts: np.ndarray, values: np.ndarray, boundaries: np.ndarray, max_gap_s: float):
    """Interpolated counter at each boundary; NaN where it cannot be bracketed
    within ``max_gap_s`` or where the counter decreased across the bracket."""
    out = np.full(boundaries.shape, np.nan)
    if ts.size == 0:
        return out
    j = np.searchsorted(ts, boundaries, side="left")  # first sample >= boundary
    exact = (j < ts.size) & (ts[np.minimum(j, ts.size - 1)] == boundaries)
    out[exact] = values[j[exact]]
    inner = ~exact & (j > 0) & (j < ts.size)
    if inner.any():
        jj = j[inner]
        t0, t1 = ts[jj - 1], ts[jj]
        v0, v1 = values[jj - 1], values[jj]
        ok = (t1 - t0 <= max_gap_s) & (v1 >= v0)
        b = boundaries[inner]
        est = v0 + (v1 - v0) * (b - t0) / (t1 - t0)
        est[~ok] = np.nan
        out[inner] = est
    return out


def counters_to_intervals(
    points: list[CounterPoint],
    *,
    start: datetime,
    end: datetime,
    period: timedelta = PERIOD,
    max_gap: timedelta = DEFAULT_MAX_GAP,
) -> list[IntervalEnergy]:
    """Interval energy for every period in [start, end), missing ones included."""
    starts = period_starts(start, end, period)
    if not starts:
        return []
    pts = sorted(points, key=lambda p: p.ts)
    bounds = np.array([_secs(s) for s in starts] + [_secs(starts[-1] + period)])
    gap_s = max_gap.total_seconds()
    result: dict[str, np.ndarray] = {}
    for name in ("import_wh", "export_wh"):
        sel = [p for p in pts if getattr(p, name) is not None]
        ts = np.array([_secs(p.ts) for p in sel], dtype=float)
        vals = np.array([getattr(p, name) for p in sel], dtype=float)
        if ts.size:
            # duplicate timestamps (a redelivery): keep one
            ts, idx = np.unique(ts, return_index=True)
            vals = vals[idx]
        result[name] = np.round(_boundary_values(ts, vals, bounds, gap_s))
        result[name + "_present"] = np.array([ts.size > 0])

    out = []
    have_any = {n: bool(result[n + "_present"][0]) for n in ("import_wh", "export_wh")}
    for i, s in enumerate(starts):
        vals = {}
        reason = ""
        missing = False
        for name in ("import_wh", "export_wh"):
            if not have_any[name]:
                vals[name] = None
                continue
            a, b = result[name][i], result[name][i + 1]
            if np.isnan(a) or np.isnan(b):
                missing = True
                reason = "no samples bracket the period boundary" if not reason else reason
                vals[name] = None
            elif b < a:
                missing = True
                reason = f"{name} counter went backwards (device reset?)"
                vals[name] = None
            else:
                vals[name] = int(b - a)
        if not have_any["import_wh"] and not have_any["export_wh"]:
            missing, reason = True, "no counter samples"
        if missing:
            out.append(IntervalEnergy(s, s + period, None, None, MISSING, reason))
        else:
            out.append(IntervalEnergy(s, s + period, vals["import_wh"], vals["export_wh"], ACTUAL))
    return out


def with_gaps(
    readings: dict[datetime, tuple[int, int]],
    *,
    start: datetime,
    end: datetime,
    period: timedelta = PERIOD,
) -> list[tuple[datetime, int | None, int | None]]:
    """Every period in [start, end) with its stored (import, export) or
    ``(None, None)`` where nothing is stored -- for charts and tables that
    must show a gap as a gap."""
    return [(s, *(readings.get(s) or (None, None))) for s in period_starts(start, end, period)]
