"""The fast corrective step: measured net position vs schedule, corrected with
the batteries' headroom (after OpenEMS's ``Controller.Ess.Balancing``, which
steers storage to hold a target grid setpoint; here the target is the MPC's
plan for the current step, clamped inside the connection limits).

Numbers in, numbers out; no Django. Power in W (> 0 charge / import), energy Wh.

Guarantees (property-tested in tests/balancing/test_corrective.py):
- every new setpoint is within its battery's power limits and what its stored
  energy allows over ``horizon_s`` (never below the household's reserve);
- the correction never moves the predicted net position further past a limit:
  if the segment is inside its limits it stays inside (the controller may only
  add import up to the import limit less the margin, add export up to the export
  limit less the margin); if it is outside, the correction only moves it back;
- the correction is split across batteries in proportion to each one's
  headroom in the needed direction;
- any non-finite or physically impossible input gives ``hold`` (no new
  setpoints): a controller acting on wrong data is worse than one that waits;
- import above ``peak_cap_w`` (the peak already billed this year, or the plan's
  own import if it is higher) is corrected at once, deadband or not: the year's
  capacity charge is set by its highest quarter-hour, and a controller that let
  each night's charging run a few hundred watts over its plan would raise the
  billed peak night after night (it did, in the estate simulation: 9.2 kW to
  16.8 kW in a January week).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fleet:
    setpoint_w: np.ndarray  # what each battery is doing now (> 0 charging)
    max_charge_w: np.ndarray
    max_discharge_w: np.ndarray
    stored_wh: np.ndarray
    capacity_wh: np.ndarray
    reserve_wh: np.ndarray
    efficiency: np.ndarray  # one way
    available: np.ndarray  # bool: online, fresh telemetry, consent in force


@dataclass(frozen=True)
class Correction:
    setpoint_w: np.ndarray  # new setpoints (int W); equal to the old ones where nothing changes
    predicted_net_w: int
    target_w: int  # the clamped target the step steered to
    correction_w: int  # sum of setpoint changes
    at_limit: bool  # the segment is (still) at or past a limit after the step
    hold: bool
    reason: str


def power_bounds(f: Fleet, horizon_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) power each battery can hold for ``horizon_s`` (W)."""
    h = max(horizon_s, 1.0) / 3600.0
    up = np.minimum(f.max_charge_w, np.maximum(f.capacity_wh - f.stored_wh, 0.0) / (f.efficiency * h))
    down = np.minimum(f.max_discharge_w, np.maximum(f.stored_wh - f.reserve_wh, 0.0) * f.efficiency / h)
    up = np.where(f.available, up, 0.0)
    down = np.where(f.available, down, 0.0)
    return -down, up


def _hold(f: Fleet, measured: float, target: float, reason: str, at_limit: bool) -> Correction:
    return Correction(
        setpoint_w=np.asarray(f.setpoint_w, dtype=np.int64),
        predicted_net_w=int(measured) if np.isfinite(measured) else 0,
        target_w=int(target) if np.isfinite(target) else 0,
        correction_w=0,
        at_limit=at_limit,
        hold=True,
        reason=reason,
    )


def correct(
    *,
    measured_net_w: float,
    target_net_w: float,
    import_limit_w: float,
    export_limit_w: float,
    fleet: Fleet,
    horizon_s: float = 60.0,
    margin_w: float = 0.0,
    deadband_w: float = 0.0,
    peak_cap_w: float | None = None,
) -> Correction:
    values = np.concatenate(
        [
            [measured_net_w, target_net_w, import_limit_w, export_limit_w, margin_w],
            fleet.setpoint_w,
            fleet.stored_wh,
            fleet.capacity_wh,
        ]
    )
    if not np.isfinite(values).all():
        return _hold(fleet, measured_net_w, target_net_w, "non-finite input: holding", False)
    if import_limit_w < 0 or export_limit_w < 0:
        return _hold(fleet, measured_net_w, target_net_w, "a limit below zero: holding", False)
    hi_net = import_limit_w - margin_w
    lo_net = -(export_limit_w - margin_w)
    if lo_net > hi_net:  # margins wider than the band: aim for its middle
        lo_net = hi_net = (import_limit_w - export_limit_w) / 2.0
    target = float(np.clip(target_net_w, lo_net, hi_net))
    cur = np.asarray(fleet.setpoint_w, dtype=float)
    pmin, pmax = power_bounds(fleet, horizon_s)
    # a battery doing more than it now may (its energy ran low) is brought back first
    base = np.clip(cur, np.minimum(pmin, 0.0), np.maximum(pmax, 0.0))
    base = np.where(fleet.available, base, cur)
    measured = measured_net_w + float((base - cur).sum())
    delta = target - measured  # > 0: the batteries should take more
    # a new billed peak costs the whole year's capacity charge: no deadband above it
    over_peak = peak_cap_w is not None and np.isfinite(peak_cap_w) and measured > max(peak_cap_w, target) + 1e-9
    if abs(delta) <= deadband_w and lo_net - 1e-9 <= measured <= hi_net + 1e-9 and not over_peak:
        new = base
    else:
        # never push further past a limit than where we stand
        if delta > 0:
            delta = min(delta, max(hi_net - measured, 0.0))
            room = np.maximum(pmax - base, 0.0)
        else:
            delta = max(delta, min(lo_net - measured, 0.0))
            room = np.maximum(base - pmin, 0.0)
        total = float(room.sum())
        if total <= 0 or delta == 0:
            new = base
        else:
            share = np.minimum(room, room * (abs(delta) / total))
            new = base + np.sign(delta) * share
    new_int = np.rint(new).astype(np.int64)
    # rounding must not step over a bound
    new_int = np.clip(
        new_int, np.ceil(np.minimum(pmin, cur)).astype(np.int64), np.floor(np.maximum(pmax, cur)).astype(np.int64)
    )
    new_int = np.where(fleet.available, new_int, np.asarray(fleet.setpoint_w, dtype=np.int64))
    change = int((new_int - cur).sum())
    predicted = int(round(measured_net_w + change))
    at_limit = predicted >= import_limit_w or predicted <= -export_limit_w
    reason = (
        "inside limits"
        if not at_limit
        else (
            "at the import limit: no battery headroom left"
            if predicted > 0
            else "at the export limit: no battery headroom left"
        )
    )
    return Correction(
        setpoint_w=new_int,
        predicted_net_w=predicted,
        target_w=int(round(target)),
        correction_w=change,
        at_limit=at_limit,
        hold=False,
        reason=reason,
    )
