"""The rolling schedule (model-predictive control) for one network segment.

One linear programme, solved with HiGHS, over the next ``T`` steps (96 quarter-
hours = 24 h; 192 for 48 h). Numbers in, numbers out; no Django.

Units: power in W, energy in Wh, prices in p/kWh, time steps of ``step_h`` hours.
Sign convention (as ``assets.domain.kinds``): > 0 takes power from the wiring.
The segment's net position is ``import - export`` at its connection point.

Per step ``t``:

    grid_in[t] - grid_out[t] = load[t] - pv[t] + curtail[t]
                             + sum_i (charge[i,t] - discharge[i,t])
                             + sum_j ev[j,t] + sum_k hp[k,t]

- batteries: ``stored[i,t+1] = stored[i,t] + eta_i charge step_h - discharge step_h / eta_i``,
  reserve <= stored <= capacity, charge <= max_charge, discharge <= max_discharge;
- EVs: charge between 0 and their rate while plugged in; the energy the household
  asked for delivered by its ready-by step;
- heat pumps (deferrable within the comfort band): a 1R1C house,
  ``T[t+1] = T[t] + step_s / C (cop P[t] - (T[t] - T_out[t]) / R)``, with the
  indoor temperature kept inside ``[comfort_min, comfort_max]``;
- the connection: ``grid_in <= import_limit[t]``, ``grid_out <= export_limit[t]``
  (from the segment's own limits and the DSO's constraint statements in force).
  A limit that cannot be met whatever the devices do (a cold evening with no
  battery left) is met as closely as possible: the overshoot is a slack variable
  priced far above any tariff, reported in ``breach_wh``, never silently dropped.

Objective (the segment's choice, seed 002 §4.3.3):
- ``cost``: least import cost: ToU import price + DUoS red-band adder, minus export
  price, plus the capacity charge on the peak import;
- ``self_consumption``: every imported kWh costs the same and export earns
  nothing: the LP keeps local generation local;
- ``peak``: as ``cost`` with the peak import weighted ten times (a peak cap).
Stored energy left at the end is valued at the mean import price so that the
schedule does not empty the batteries just because the horizon ends.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

OBJECTIVES = ("cost", "self_consumption", "peak")
BREACH_PENALTY_P = 10_000.0  # p/kWh: far above any tariff, so a limit is only exceeded when unavoidable
COMFORT_PENALTY_P = 500.0  # p per K·step outside the comfort band (only when the band is unreachable)
CYCLE_COST_P = 0.05  # p/kWh through a battery: breaks ties, avoids charging and discharging at once


class ScheduleError(ValueError):
    """Inputs a schedule cannot be built from (with a reason a person can act on)."""


@dataclass(frozen=True)
class Batteries:
    capacity_wh: np.ndarray
    stored_wh: np.ndarray  # now
    reserve_wh: np.ndarray
    max_charge_w: np.ndarray
    max_discharge_w: np.ndarray
    efficiency: np.ndarray  # one way (sqrt of the round trip)

    @classmethod
    def empty(cls) -> Batteries:
        z = np.zeros(0)
        return cls(z, z, z, z, z, z)

    def __len__(self) -> int:
        return len(self.capacity_wh)


@dataclass(frozen=True)
class EVs:
    max_w: np.ndarray
    need_wh: np.ndarray  # energy still wanted by the ready-by step
    ready_step: np.ndarray  # int: delivered within steps [0, ready_step)

    @classmethod
    def empty(cls) -> EVs:
        z = np.zeros(0)
        return cls(z, z, np.zeros(0, dtype=int))

    def __len__(self) -> int:
        return len(self.max_w)


@dataclass(frozen=True)
class HeatPumps:
    rated_w: np.ndarray
    indoor_c: np.ndarray  # now
    comfort_min_c: np.ndarray
    comfort_max_c: np.ndarray
    r_k_per_w: np.ndarray
    c_j_per_k: np.ndarray
    cop: np.ndarray

    @classmethod
    def empty(cls) -> HeatPumps:
        z = np.zeros(0)
        return cls(z, z, z, z, z, z, z)

    def __len__(self) -> int:
        return len(self.rated_w)


@dataclass(frozen=True)
class Problem:
    step_h: float
    load_w: np.ndarray  # uncontrolled demand forecast, W >= 0
    pv_w: np.ndarray  # generation forecast, W >= 0 (curtailable)
    import_limit_w: np.ndarray
    export_limit_w: np.ndarray
    import_price_p: np.ndarray  # p/kWh, incl. DUoS red band
    export_price_p: np.ndarray
    outdoor_c: np.ndarray
    batteries: Batteries = field(default_factory=Batteries.empty)
    evs: EVs = field(default_factory=EVs.empty)
    heat_pumps: HeatPumps = field(default_factory=HeatPumps.empty)
    objective: str = "cost"
    capacity_charge_p_per_kw: float = 0.0  # for the horizon's peak import (pro rata of £/kW/yr)

    @property
    def steps(self) -> int:
        return len(self.load_w)


@dataclass(frozen=True)
class Schedule:
    net_w: np.ndarray  # planned segment net position per step
    battery_w: np.ndarray  # (batteries, steps): > 0 charge, < 0 discharge
    battery_stored_wh: np.ndarray  # (batteries, steps + 1)
    ev_w: np.ndarray
    heat_pump_w: np.ndarray
    indoor_c: np.ndarray  # (heat pumps, steps + 1)
    curtail_w: np.ndarray
    breach_wh: int  # energy planned past a limit because nothing could avoid it
    cost_p: float
    peak_import_w: int
    seconds: float
    status: str


def _check(p: Problem) -> None:
    T = p.steps
    if T == 0:
        raise ScheduleError("the horizon has no steps")
    if not 0 < p.step_h <= 1:
        raise ScheduleError("a step must be between a few minutes and an hour long")
    if p.objective not in OBJECTIVES:
        raise ScheduleError(f"unknown objective {p.objective!r}; use one of {', '.join(OBJECTIVES)}")
    for name in ("pv_w", "import_limit_w", "export_limit_w", "import_price_p", "export_price_p", "outdoor_c"):
        if len(getattr(p, name)) != T:
            raise ScheduleError(f"{name} has {len(getattr(p, name))} values for {T} steps")
    if (np.asarray(p.import_limit_w) < 0).any() or (np.asarray(p.export_limit_w) < 0).any():
        raise ScheduleError("a connection limit is below zero")
    b = p.batteries
    if (b.stored_wh > b.capacity_wh + 1e-6).any():
        raise ScheduleError("a battery holds more energy than its capacity")
    if (b.reserve_wh > b.capacity_wh).any():
        raise ScheduleError("a battery's reserve is above its capacity")
    if ((b.efficiency <= 0) | (b.efficiency > 1)).any():
        raise ScheduleError("a battery's efficiency must be in (0, 1]")
    e = p.evs
    if (e.need_wh > e.max_w * np.minimum(e.ready_step, T) * p.step_h + 1e-6).any():
        i = int(np.argmax(e.need_wh - e.max_w * np.minimum(e.ready_step, T) * p.step_h))
        raise ScheduleError(
            f"EV {i} wants {e.need_wh[i]:.0f} Wh by step {e.ready_step[i]}, more than its charger can deliver"
        )
    h = p.heat_pumps
    if (h.comfort_min_c > h.comfort_max_c).any():
        raise ScheduleError("a heat pump's comfort band has its minimum above its maximum")


def solve(p: Problem) -> Schedule:
    """Solve the segment's schedule. Raises ScheduleError on inputs no schedule fits."""
    _check(p)
    t0 = time.perf_counter()
    T, dt = p.steps, p.step_h
    nb, ne, nh = len(p.batteries), len(p.evs), len(p.heat_pumps)
    load = np.asarray(p.load_w, float)
    pv = np.asarray(p.pv_w, float)
    imp_price = np.asarray(p.import_price_p, float)
    exp_price = np.asarray(p.export_price_p, float)
    peak_weight = p.capacity_charge_p_per_kw
    if p.objective == "self_consumption":
        imp_price = np.full(T, max(float(imp_price.mean()), 1.0))
        exp_price = np.zeros(T)
    elif p.objective == "peak":
        peak_weight = max(peak_weight, 1.0) * 10.0

    # --- columns ------------------------------------------------------------
    cols: dict[str, tuple[int, int]] = {}
    n = 0

    def alloc(name: str, size: int) -> int:
        nonlocal n
        cols[name] = (n, size)
        n += size
        return n - size

    gi = alloc("grid_in", T)
    go = alloc("grid_out", T)
    cu = alloc("curtail", T)
    si = alloc("slack_in", T)
    so = alloc("slack_out", T)
    pk = alloc("peak", 1)
    bc = alloc("charge", nb * T)
    bd = alloc("discharge", nb * T)
    bs = alloc("stored", nb * T)  # stored at the END of each step
    ev = alloc("ev", ne * T)
    hp = alloc("hp", nh * T)
    ht = alloc("temp", nh * T)  # indoor temperature at the END of each step
    hl = alloc("too_cold", nh * T)
    hu = alloc("too_warm", nh * T)

    kwh = dt / 1000.0  # W over one step -> kWh
    c = np.zeros(n)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    c[gi : gi + T] = imp_price * kwh
    c[go : go + T] = -exp_price * kwh
    c[cu : cu + T] = 0.01 * kwh  # curtail only when export earns nothing and a limit needs it
    hi[cu : cu + T] = pv
    c[si : si + T] = BREACH_PENALTY_P * kwh
    c[so : so + T] = BREACH_PENALTY_P * kwh
    c[pk] = peak_weight / 1000.0
    if nb:
        b = p.batteries
        c[bc : bc + nb * T] = CYCLE_COST_P * kwh
        c[bd : bd + nb * T] = CYCLE_COST_P * kwh
        hi[bc : bc + nb * T] = np.repeat(b.max_charge_w, T)
        hi[bd : bd + nb * T] = np.repeat(b.max_discharge_w, T)
        lo[bs : bs + nb * T] = np.repeat(np.minimum(b.reserve_wh, b.stored_wh), T)
        hi[bs : bs + nb * T] = np.repeat(b.capacity_wh, T)
        # value of energy left at the end: mean import price, per Wh
        end_value = float(imp_price.mean()) / 1000.0
        c[bs + np.arange(nb) * T + (T - 1)] -= end_value * b.efficiency
    if ne:
        e = p.evs
        steps = np.arange(T)
        avail = (steps[None, :] < e.ready_step[:, None]) | (e.ready_step[:, None] <= 0)
        hi[ev : ev + ne * T] = (e.max_w[:, None] * avail).ravel()
        c[ev : ev + ne * T] = 1e-4 * kwh  # charge early when it makes no difference
    if nh:
        h = p.heat_pumps
        hi[hp : hp + nh * T] = np.repeat(h.rated_w, T)
        lo[ht : ht + nh * T] = -np.inf
        hi[ht : ht + nh * T] = np.inf
        c[hl : hl + nh * T] = COMFORT_PENALTY_P
        c[hu : hu + nh * T] = COMFORT_PENALTY_P

    # --- rows ----------------------------------------------------------------
    rows, colsi, vals = [], [], []
    rlo, rhi = [], []
    r = 0
    tt = np.arange(T)

    def add(row_idx, col_idx, v):
        rows.append(np.asarray(row_idx, dtype=np.int64).ravel())
        colsi.append(np.asarray(col_idx, dtype=np.int64).ravel())
        vals.append(np.broadcast_to(np.asarray(v, dtype=float), np.shape(row_idx)).ravel())

    # balance: gi - go - cu - sum c + sum d - sum ev - sum hp = load - pv
    bal = r + tt
    add(bal, gi + tt, 1.0)
    add(bal, go + tt, -1.0)
    add(bal, cu + tt, -1.0)
    if nb:
        bi = np.arange(nb)[:, None]
        add(np.broadcast_to(bal, (nb, T)), bc + bi * T + tt, -1.0)
        add(np.broadcast_to(bal, (nb, T)), bd + bi * T + tt, 1.0)
    if ne:
        ei = np.arange(ne)[:, None]
        add(np.broadcast_to(bal, (ne, T)), ev + ei * T + tt, -1.0)
    if nh:
        hi_ = np.arange(nh)[:, None]
        add(np.broadcast_to(bal, (nh, T)), hp + hi_ * T + tt, -1.0)
    rlo.append(load - pv)
    rhi.append(load - pv)
    r += T
    # limits: gi - slack_in <= import_limit; go - slack_out <= export_limit; gi - peak <= 0
    add(r + tt, gi + tt, 1.0)
    add(r + tt, si + tt, -1.0)
    rlo.append(np.full(T, -np.inf))
    rhi.append(np.asarray(p.import_limit_w, float))
    r += T
    add(r + tt, go + tt, 1.0)
    add(r + tt, so + tt, -1.0)
    rlo.append(np.full(T, -np.inf))
    rhi.append(np.asarray(p.export_limit_w, float))
    r += T
    add(r + tt, gi + tt, 1.0)
    add(r + tt, np.full(T, pk), -1.0)
    rlo.append(np.full(T, -np.inf))
    rhi.append(np.zeros(T))
    r += T
    if nb:
        # stored[t] - stored[t-1] - eta c[t] dt + d[t] dt / eta = 0 (stored[-1] = now)
        b = p.batteries
        bi = np.arange(nb)[:, None]
        row = r + bi * T + tt
        eta = b.efficiency[:, None] * np.ones((1, T))
        add(row, bs + bi * T + tt, 1.0)
        prev_rows = (r + bi * T + tt)[:, 1:]
        add(prev_rows, bs + bi * T + tt[:-1], -1.0)
        add(row, bc + bi * T + tt, -eta * dt)
        add(row, bd + bi * T + tt, dt / eta)
        rhs = np.zeros((nb, T))
        rhs[:, 0] = b.stored_wh
        rlo.append(rhs.ravel())
        rhi.append(rhs.ravel())
        r += nb * T
    if ne:
        # delivered energy by the ready-by step >= need
        e = p.evs
        ei = np.arange(ne)[:, None]
        add(np.broadcast_to(r + ei, (ne, T)), ev + ei * T + tt, dt)
        rlo.append(np.asarray(e.need_wh, float))
        rhi.append(np.full(ne, np.inf))
        r += ne
    if nh:
        # T[t] - T[t-1] (1 - a) - g P[t] = a Tout[t]  with a = dt_s / (R C), g = dt_s cop / C
        h = p.heat_pumps
        ki = np.arange(nh)[:, None]
        dts = dt * 3600.0
        a = (dts / (h.r_k_per_w * h.c_j_per_k))[:, None] * np.ones((1, T))
        g = (dts * h.cop / h.c_j_per_k)[:, None] * np.ones((1, T))
        if (a >= 1).any():
            raise ScheduleError("a heat pump's house model is too fast for the step (R·C below the step length)")
        row = r + ki * T + tt
        add(row, ht + ki * T + tt, 1.0)
        add(row[:, 1:], ht + ki * T + tt[:-1], -(1 - a[:, 1:]))
        add(row, hp + ki * T + tt, -g)
        out = np.asarray(p.outdoor_c, float)[None, :]
        rhs = a * out
        rhs[:, 0] += (1 - a[:, 0]) * h.indoor_c
        rlo.append(rhs.ravel())
        rhi.append(rhs.ravel())
        r += nh * T
        # comfort: T + too_cold >= min ; T - too_warm <= max
        row = r + ki * T + tt
        add(row, ht + ki * T + tt, 1.0)
        add(row, hl + ki * T + tt, 1.0)
        rlo.append(np.repeat(h.comfort_min_c, T))
        rhi.append(np.full(nh * T, np.inf))
        r += nh * T
        row = r + ki * T + tt
        add(row, ht + ki * T + tt, 1.0)
        add(row, hu + ki * T + tt, -1.0)
        rlo.append(np.full(nh * T, -np.inf))
        rhi.append(np.repeat(h.comfort_max_c, T))
        r += nh * T

    A = sparse.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(colsi))), shape=(r, n))
    x, status = _highs(c, lo, hi, A, np.concatenate(rlo), np.concatenate(rhi))
    seconds = time.perf_counter() - t0
    if x is None:
        raise ScheduleError(f"the solver found no schedule ({status})")

    def part(name, shape):
        start, size = cols[name]
        return x[start : start + size].reshape(shape)

    grid_in, grid_out = part("grid_in", T), part("grid_out", T)
    charge, discharge = part("charge", (nb, T)), part("discharge", (nb, T))
    stored = part("stored", (nb, T))
    temp = part("temp", (nh, T))
    breach = (part("slack_in", T).sum() + part("slack_out", T).sum()) * dt
    return Schedule(
        net_w=np.rint(grid_in - grid_out).astype(np.int64),
        battery_w=np.rint(charge - discharge).astype(np.int64),
        battery_stored_wh=np.column_stack([p.batteries.stored_wh, stored]) if nb else np.zeros((0, T + 1)),
        ev_w=np.rint(part("ev", (ne, T))).astype(np.int64),
        heat_pump_w=np.rint(part("hp", (nh, T))).astype(np.int64),
        indoor_c=np.column_stack([p.heat_pumps.indoor_c, temp]) if nh else np.zeros((0, T + 1)),
        curtail_w=np.rint(part("curtail", T)).astype(np.int64),
        breach_wh=int(math.floor(breach + 0.5)) if breach > 0.5 else 0,
        cost_p=float(
            ((imp_price * grid_in - exp_price * grid_out) * kwh).sum()
            if p.objective != "self_consumption"
            else ((np.asarray(p.import_price_p) * grid_in - np.asarray(p.export_price_p) * grid_out) * kwh).sum()
        ),
        peak_import_w=int(round(float(grid_in.max()))),
        seconds=seconds,
        status="optimal",
    )


def _highs(c, lo, hi, A, row_lo, row_hi, solver="simplex"):
    import highspy

    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = A.shape[1]
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = c
    lp.col_lower_ = np.where(np.isfinite(lo), lo, -inf)
    lp.col_upper_ = np.where(np.isfinite(hi), hi, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", solver)
    h.passModel(lp)
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None, status
    return np.asarray(h.getSolution().col_value), status


# --- fleets: cluster, solve, split back ------------------------------------------
#
# A per-device LP grows past what a 15-minute loop can afford at a few hundred
# devices (hundreds of identical batteries make the simplex wander among equally
# good vertices). Fleets are planned the way aggregators plan them: devices with
# similar state are grouped into a few virtual devices (sums of capacities,
# energies and power limits; exact when the members share the same state of
# charge fraction), the LP plans the groups, and each group's power is split
# back across its members in proportion to the headroom each has in that
# direction, step by step, tracking each member's energy. The split never
# asks a device for more than its own limits; whatever a group could not place
# is reported in ``unplaced_wh``.

DIRECT_LIMIT = 30  # devices: up to this many the LP plans every device itself


def _groups(key: np.ndarray, k: int) -> list[np.ndarray]:
    """Split indices into at most ``k`` groups of similar ``key`` (quantile bins)."""
    if len(key) == 0:
        return []
    order = np.argsort(key, kind="stable")
    return [g for g in np.array_split(order, min(k, len(key))) if len(g)]


def _battery_groups(b: Batteries, k: int) -> tuple[Batteries, list[np.ndarray]]:
    frac = (b.stored_wh - b.reserve_wh) / np.maximum(b.capacity_wh, 1.0)
    groups = _groups(frac, k)
    agg = Batteries(
        capacity_wh=np.array([b.capacity_wh[g].sum() for g in groups]),
        stored_wh=np.array([b.stored_wh[g].sum() for g in groups]),
        reserve_wh=np.array([np.minimum(b.reserve_wh[g], b.stored_wh[g]).sum() for g in groups]),
        max_charge_w=np.array([b.max_charge_w[g].sum() for g in groups]),
        max_discharge_w=np.array([b.max_discharge_w[g].sum() for g in groups]),
        efficiency=np.array([np.average(b.efficiency[g], weights=b.capacity_wh[g] + 1e-9) for g in groups]),
    )
    return agg, groups


def _ev_groups(e: EVs, k: int) -> tuple[EVs, list[np.ndarray]]:
    groups = []
    for step in np.unique(e.ready_step):
        same = np.flatnonzero(e.ready_step == step)
        groups.extend(same[g] for g in _groups(e.need_wh[same] / np.maximum(e.max_w[same], 1.0), k))
    agg = EVs(
        max_w=np.array([e.max_w[g].sum() for g in groups]),
        need_wh=np.array([e.need_wh[g].sum() for g in groups]),
        ready_step=np.array([int(e.ready_step[g[0]]) for g in groups], dtype=int),
    )
    return agg, groups


def _hp_groups(h: HeatPumps, k: int) -> tuple[HeatPumps, list[np.ndarray]]:
    pos = (h.indoor_c - h.comfort_min_c) / np.maximum(h.comfort_max_c - h.comfort_min_c, 0.1)
    groups = _groups(pos, k)

    def wmean(x, g):
        return float(np.average(x[g], weights=h.c_j_per_k[g]))

    agg = HeatPumps(
        rated_w=np.array([h.rated_w[g].sum() for g in groups]),
        indoor_c=np.array([wmean(h.indoor_c, g) for g in groups]),
        comfort_min_c=np.array([wmean(h.comfort_min_c, g) for g in groups]),
        comfort_max_c=np.array([wmean(h.comfort_max_c, g) for g in groups]),
        r_k_per_w=np.array([1.0 / (1.0 / h.r_k_per_w[g]).sum() for g in groups]),
        c_j_per_k=np.array([h.c_j_per_k[g].sum() for g in groups]),
        cop=np.array([wmean(h.cop, g) for g in groups]),
    )
    return agg, groups


def split_battery_power(
    *, power_w: float, stored_wh, capacity_wh, reserve_wh, max_charge_w, max_discharge_w, efficiency, step_h: float
) -> np.ndarray:
    """Split one group's power (> 0 charge) across its members in proportion to
    each member's headroom in that direction over ``step_h``. Never exceeds a
    member's power or energy limit; the sum may fall short when they are full."""
    if power_w > 0:
        room = np.minimum(max_charge_w, np.maximum(capacity_wh - stored_wh, 0.0) / (efficiency * step_h))
    elif power_w < 0:
        room = np.minimum(max_discharge_w, np.maximum(stored_wh - reserve_wh, 0.0) * efficiency / step_h)
    else:
        return np.zeros_like(np.asarray(stored_wh, float))
    total = room.sum()
    if total <= 0:
        return np.zeros_like(room)
    share = np.minimum(room, room * (abs(power_w) / total))
    return share if power_w > 0 else -share


def solve_fleet(p: Problem, *, groups: int = 8, direct_limit: int = DIRECT_LIMIT) -> tuple[Schedule, float]:
    """Plan a large segment through groups; returns (per-device schedule, unplaced Wh).

    Small segments (up to DIRECT_LIMIT devices) are solved device by device."""
    nb, ne, nh = len(p.batteries), len(p.evs), len(p.heat_pumps)
    if nb + ne + nh <= direct_limit:
        return solve(p), 0.0
    _check(p)
    t0 = time.perf_counter()
    b_agg, b_groups = _battery_groups(p.batteries, groups)
    e_agg, e_groups = _ev_groups(p.evs, groups) if ne else (EVs.empty(), [])
    h_agg, h_groups = _hp_groups(p.heat_pumps, groups) if nh else (HeatPumps.empty(), [])
    agg = Problem(
        **{
            **{f: getattr(p, f) for f in p.__dataclass_fields__},
            "batteries": b_agg if nb else Batteries.empty(),
            "evs": e_agg,
            "heat_pumps": h_agg,
        }
    )
    s = solve(agg)
    T, dt = p.steps, p.step_h
    b = p.batteries
    battery_w = np.zeros((nb, T))
    stored = np.zeros((nb, T + 1))
    stored[:, 0] = b.stored_wh
    unplaced = 0.0
    for gi_, g in enumerate(b_groups):
        cur = b.stored_wh[g].astype(float).copy()
        res = np.minimum(b.reserve_wh[g], cur)
        for t in range(T):
            want = float(s.battery_w[gi_, t])
            got = split_battery_power(
                power_w=want,
                stored_wh=cur,
                capacity_wh=b.capacity_wh[g],
                reserve_wh=res,
                max_charge_w=b.max_charge_w[g],
                max_discharge_w=b.max_discharge_w[g],
                efficiency=b.efficiency[g],
                step_h=dt,
            )
            unplaced += abs(want - got.sum()) * dt
            eta = b.efficiency[g]
            cur = np.clip(cur + np.where(got > 0, got * eta, got / eta) * dt, 0, b.capacity_wh[g])
            battery_w[g, t] = got
            stored[g, t + 1] = cur
    ev_w = np.zeros((ne, T))
    e = p.evs
    for gi_, g in enumerate(e_groups):
        need = e.need_wh[g].astype(float).copy()
        for t in range(T):
            want = float(s.ev_w[gi_, t])
            if want <= 0:
                continue
            room = np.minimum(e.max_w[g], need / dt)
            total = room.sum()
            got = np.minimum(room, room * want / total) if total > 0 else np.zeros_like(room)
            unplaced += max(want - got.sum(), 0.0) * dt
            need -= got * dt
            ev_w[g, t] = got
    hp_w = np.zeros((nh, T))
    h = p.heat_pumps
    for gi_, g in enumerate(h_groups):
        hp_w[g, :] = s.heat_pump_w[gi_][None, :] * (h.rated_w[g] / h.rated_w[g].sum())[:, None]
    indoor = np.zeros((nh, T + 1))
    for gi_, g in enumerate(h_groups):
        indoor[g, :] = s.indoor_c[gi_][None, :] + (h.indoor_c[g] - h_agg.indoor_c[gi_])[:, None]
    net = s.net_w + np.rint((battery_w.sum(0) - s.battery_w.sum(0)) + (ev_w.sum(0) - s.ev_w.sum(0))).astype(np.int64)
    return (
        Schedule(
            net_w=net,
            battery_w=np.rint(battery_w).astype(np.int64),
            battery_stored_wh=stored,
            ev_w=np.rint(ev_w).astype(np.int64),
            heat_pump_w=np.rint(hp_w).astype(np.int64),
            indoor_c=indoor,
            curtail_w=s.curtail_w,
            breach_wh=s.breach_wh,
            cost_p=s.cost_p,
            peak_import_w=int(net.clip(0).max()),
            seconds=time.perf_counter() - t0,
            status=s.status,
        ),
        unplaced,
    )
