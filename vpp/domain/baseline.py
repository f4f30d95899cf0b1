"""Baselines: what a household would have used had there been no event.

Pure: energy per half-hour in integer Wh in, Wh out. Three methods, reported
side by side for every event (the product names the one that settles):

- ``dfs``: the Demand Flexibility Service's 2023/24 household baseline: for
  each event half-hour, the mean of the same half-hour on the previous 10
  working days, skipping days that had an event (REFERENCES: DFS).
- ``dfs_adjusted``: the 2022/23 DFS baseline with the in-day adjustment: the
  ``dfs`` baseline shifted by the mean difference (actual - baseline) over the
  in-day window: the 3 half-hours ending one hour before the event, so
  that a pre-event change is seen but the hour before (pre-cooling,
  pre-charging) is not. The adjustment is what "power rinse" gaming
  exploits: a household that raises use then raises its baseline.
- ``meter_before``: the mean of the half-hours in the hour just before the
  event, held flat across it (simple, but it rewards raising use just before).

``suspicious`` flags the pattern these invite: use in the 2 hours before the
event well above the household's own usual for those half-hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WORKING_DAYS = 10
ADJUST_WINDOW = 3  # half-hours, ending ``ADJUST_GAP`` before the event
ADJUST_GAP = 2  # half-hours (one hour) between the window and the event
METER_BEFORE = 2  # half-hours just before the event
SUSPICIOUS_RATIO = 1.5  # pre-event use above 150 % of usual ...
SUSPICIOUS_MIN_WH = 150  # ... and at least this much above it per half-hour


@dataclass(frozen=True)
class Day:
    """One past day's readings for the half-hours that matter.

    ``wh``: Wh per half-hour over [event start - PRE, event end), where PRE is
    ``pre_periods`` half-hours; None for a missing reading."""

    day: date
    working: bool
    had_event: bool
    wh: Sequence[int | None]


@dataclass(frozen=True)
class Result:
    baselines: dict[str, list[int]]  # method -> Wh per event period
    days_used: list[date]
    flags: list[str]


def _mean(values: list[int]) -> int:
    return int(round(sum(values) / len(values))) if values else 0


def compute(*, history: Sequence[Day], today_wh: Sequence[int | None], pre_periods: int, event_periods: int) -> Result:
    """``history`` newest first or in any order (sorted here); ``today_wh`` the
    event day's readings over the same span as each ``Day.wh``."""
    if pre_periods < ADJUST_WINDOW + ADJUST_GAP:
        raise ValueError(f"need at least {ADJUST_WINDOW + ADJUST_GAP} half-hours before the event")
    span = pre_periods + event_periods
    if len(today_wh) != span or any(len(d.wh) != span for d in history):
        raise ValueError("every day must cover the pre-event window and the event")
    eligible = [d for d in sorted(history, key=lambda d: d.day, reverse=True) if d.working and not d.had_event]
    used = [d for d in eligible if all(v is not None for v in d.wh)][:WORKING_DAYS]
    flags: list[str] = []
    if len(used) < WORKING_DAYS:
        flags.append(f"only {len(used)} of {WORKING_DAYS} working days with complete readings")
    usual = [_mean([d.wh[k] for d in used]) for k in range(span)]
    dfs = usual[pre_periods:]
    win = range(pre_periods - ADJUST_GAP - ADJUST_WINDOW, pre_periods - ADJUST_GAP)
    diffs = [today_wh[k] - usual[k] for k in win if today_wh[k] is not None]
    adj = _mean(diffs) if diffs else 0
    adjusted = [max(0, v + adj) for v in dfs]
    before = [today_wh[k] for k in range(pre_periods - METER_BEFORE, pre_periods) if today_wh[k] is not None]
    meter_before = [_mean(before)] * event_periods if before else list(dfs)
    if not before:
        flags.append("no readings just before the event: meter-before baseline falls back to DFS")
    pre = range(max(0, pre_periods - 4), pre_periods)
    for k in pre:
        if today_wh[k] is None or not used:
            continue
        if today_wh[k] > SUSPICIOUS_RATIO * usual[k] and today_wh[k] - usual[k] >= SUSPICIOUS_MIN_WH:
            flags.append(
                f"suspicious: use {today_wh[k]} Wh in the half-hour {pre_periods - k} before the event "
                f"against a usual {usual[k]} Wh (raised just before the event)"
            )
            break
    return Result({"dfs": dfs, "dfs_adjusted": adjusted, "meter_before": meter_before}, [d.day for d in used], flags)


def delivered_wh(baseline: Sequence[int], actual: Sequence[int | None], *, direction: str = "down") -> int:
    """Flexibility delivered: per half-hour, baseline - actual for turn-down
    (actual - baseline for turn-up), never below zero, summed. A missing
    reading delivers nothing (no reading, no payment)."""
    total = 0
    for b, a in zip(baseline, actual, strict=True):
        if a is None:
            continue
        total += max(0, (b - a) if direction == "down" else (a - b))
    return total
