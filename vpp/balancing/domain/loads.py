"""Commands to the flexible loads (EV chargers, heat pumps) from the schedule,
and the safety gate every one of them passes before it is sent.

Numbers in, numbers out; no Django. Power in W (> 0 takes power from the wiring).

- EV charger: the schedule's rate for this quarter-hour becomes a ``set_power``
  cap (the car may draw less). With no lease a charger charges flat out, so a
  planned rate within ``EV_FULL_MARGIN_W`` of its rating needs no command.
- Heat pump: the schedule's indoor temperature at the end of this quarter-hour
  becomes the setpoint, rounded to ``SETPOINT_STEP_C`` and held inside the
  household's comfort band, sent as ``shift_setpoint`` relative to the
  household's own setpoint; the heat pump's thermostat does the rest (pre-heats
  when raised, coasts on the stored heat when lowered).

Safety (issue 11: no command may take the segment past a limit, even when the
data are wrong). Each command gets the worst case of what it can do to the
device's power measured now:
- an EV cap X: up ``max(X - now, 0)`` (the car may draw up to X), down ``max(now - X, 0)``;
- a raised heat-pump setpoint: up ``rated - now`` (it may run flat out); lowered:
  down ``now`` (it may stop); a renewal of the setpoint in force: neither.
``gate`` keeps commands in the order given while the sum of the worst-case ups
fits in the import headroom the batteries' step left (import limit - margin -
measured - the batteries' added charge) and the sum of the downs fits in the
export headroom. Whatever subset of the kept commands the devices obey, the
segment then stays inside its limits, or no further outside than it was.
Non-finite inputs give no command at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EV_FULL_MARGIN_W = 100
EV_MIN_RATE_W = 1_400  # 6 A x 230 V: the lowest rate a charger can signal (IEC 61851)
SETPOINT_STEP_C = 0.5


@dataclass(frozen=True)
class Proposal:
    key: int  # the caller's index of the device
    action: str
    params: dict
    up_w: float  # worst-case extra import if the device obeys
    down_w: float  # worst-case extra export (less import) if it obeys
    expected_w: float  # expected change of the device's power (planned - now)
    renewal: bool = False  # the same instruction as the lease in force


def _finite(*xs) -> bool:
    return all(x is not None and math.isfinite(float(x)) for x in xs)


def ev_proposal(
    *,
    key: int,
    planned_w: float,
    now_w: float,
    rated_w: float,
    lease_w: float | None,
    min_rate_w: float = EV_MIN_RATE_W,
) -> Proposal | None:
    """``lease_w``: the cap of the controller's lease in force (None: no lease).
    A rate below the lowest a charger can signal becomes 0 or that lowest rate."""
    if not _finite(planned_w, now_w, rated_w) or rated_w <= 0:
        return None
    cap = int(min(max(round(planned_w), 0), rated_w))
    if 0 < cap < min_rate_w:
        cap = 0 if cap < min_rate_w / 2 else int(min(min_rate_w, rated_w))
    now_w = max(float(now_w), 0.0)
    if lease_w is None and cap >= rated_w - EV_FULL_MARGIN_W:
        return None  # what the charger does by itself
    renewal = lease_w is not None and abs(cap - lease_w) < EV_FULL_MARGIN_W
    if renewal:
        cap = int(lease_w)
    up = 0.0 if renewal else max(cap - now_w, 0.0)
    down = 0.0 if renewal else max(now_w - cap, 0.0)
    # without a lease the car draws what it needs (at most the rating): a higher cap changes nothing
    expected = 0.0 if renewal or (lease_w is None and cap >= now_w) else cap - now_w
    return Proposal(key, "set_power", {"power_w": cap}, up, down, expected, renewal)


def heat_pump_proposal(
    *,
    key: int,
    planned_indoor_c: float,
    planned_w: float,
    base_setpoint_c: float,
    comfort_min_c: float,
    comfort_max_c: float,
    lease_delta_c: float | None,
    now_w: float,
    rated_w: float,
) -> Proposal | None:
    """``lease_delta_c``: the shift of the controller's lease in force (None: no lease)."""
    if not _finite(planned_indoor_c, planned_w, base_setpoint_c, comfort_min_c, comfort_max_c, now_w, rated_w):
        return None
    if comfort_min_c > comfort_max_c:
        return None
    target = round(planned_indoor_c / SETPOINT_STEP_C) * SETPOINT_STEP_C
    target = min(max(target, comfort_min_c), comfort_max_c)
    delta = round(target - base_setpoint_c, 2)
    current = 0.0 if lease_delta_c is None else float(lease_delta_c)
    if lease_delta_c is None and abs(delta) < SETPOINT_STEP_C / 2:
        return None  # the household's own setpoint: nothing to ask
    now_w = max(float(now_w), 0.0)
    if abs(delta - current) < 1e-6 and lease_delta_c is not None:
        return Proposal(key, "shift_setpoint", {"delta_c": delta}, 0.0, 0.0, 0.0, True)
    raised = delta > current
    up = max(rated_w - now_w, 0.0) if raised else 0.0
    down = 0.0 if raised else now_w
    return Proposal(key, "shift_setpoint", {"delta_c": delta}, up, down, float(planned_w) - now_w)


@dataclass(frozen=True)
class GateResult:
    kept: list[Proposal]
    dropped: list[Proposal]
    import_room_w: float
    export_room_w: float


def gate(
    proposals: list[Proposal],
    *,
    measured_net_w: float,
    battery_change_w: float,
    import_limit_w: float,
    export_limit_w: float,
    margin_w: float = 0.0,
) -> GateResult:
    """Keep the proposals (in order) whose worst cases fit the headroom left."""
    if not _finite(measured_net_w, battery_change_w, import_limit_w, export_limit_w, margin_w):
        return GateResult([], list(proposals), 0.0, 0.0)
    if import_limit_w < 0 or export_limit_w < 0:
        return GateResult([], list(proposals), 0.0, 0.0)
    hi = import_limit_w - margin_w
    lo = -(export_limit_w - margin_w)
    # the batteries may obey their own step or not: count only what makes each side worse
    up_room = max(hi - (measured_net_w + max(battery_change_w, 0.0)), 0.0)
    down_room = max((measured_net_w + min(battery_change_w, 0.0)) - lo, 0.0)
    kept, dropped = [], []
    for p in proposals:
        if not _finite(p.up_w, p.down_w) or p.up_w < 0 or p.down_w < 0:
            dropped.append(p)
        elif p.up_w <= up_room and p.down_w <= down_room:
            kept.append(p)
            up_room -= p.up_w
            down_room -= p.down_w
        else:
            dropped.append(p)
    return GateResult(kept, dropped, up_room, down_room)
