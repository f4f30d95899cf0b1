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
  ``T[t+1] = T[t] + step_s / C (cop[t] P[t] - (T[t] - T_out[t]) / R)``, with the
  indoor temperature kept inside ``[comfort_min, comfort_max]``; the outdoor
  temperature and the COP follow the weather forecast step by step (a cold
  night plans more heat); below the household's own setpoint costs
  ``PREFERENCE_P`` per K-hour, so the plan pre-heats and coasts around expensive
  hours instead of keeping the home at the bottom of its band; a home left below
  its setpoint when the horizon ends is charged the heat to warm it back;
- the connection: ``grid_in <= import_limit[t]``, ``grid_out <= export_limit[t]``
  (from the segment's own limits and the DSO's constraint statements in force).
  A limit that cannot be met whatever the devices do (a cold evening with no
  battery left) is met as closely as possible: the overshoot is a slack variable
  priced far above any tariff, reported in ``breach_wh``, never silently dropped.

Commitments (issue 11: the market trades first, the VPP's accepted events are
commitments, the controller balances what remains):
- a battery's power committed to a VPP event (``Batteries.fixed_w``) is held in
  those steps; the plan keeps the energy the event needs and never reuses it;
- a site's traded net position (``SiteCommitments``): a site that sold energy for
  a step exports at least that much (its own load, PV and the controller's use of
  its devices together), a site that bought imports at least that much.
Missing a commitment costs ``COMMITMENT_PENALTY_P`` per kWh: above any tariff
(the market before the community's objective), below a comfort miss and far
below a limit breach (safety and comfort, then the network, then the market).

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
COMMITMENT_PENALTY_P = 200.0  # p/kWh of a trade or VPP event not kept (only when nothing else can keep it)
PEAK_MARGIN_W = 1_000  # the controller's plan keeps this far under the billed peak (services, estate_sim)
PREFERENCE_P = 2.0  # p per K-hour below the household's setpoint (a degree for an hour ~ 0.5 p of heat at 25 p/kWh)


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
    fixed_w: np.ndarray | None = None  # (batteries, steps): power committed to a VPP event; NaN where free

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
    cop: np.ndarray  # (heat pumps,) or (heat pumps, steps): the COP at each step's outdoor temperature
    setpoint_c: np.ndarray | None = None  # the household's own setpoint (inside the band): below it costs a little

    @classmethod
    def empty(cls) -> HeatPumps:
        z = np.zeros(0)
        return cls(z, z, z, z, z, z, z)

    def __len__(self) -> int:
        return len(self.rated_w)


@dataclass(frozen=True)
class SiteCommitments:
    """Sites' traded net positions the schedule keeps to (one row per committed site).

    ``committed_w`` > 0: the site bought, so it must import at least that much;
    < 0: it sold, so it must export at least that much; NaN or 0: no commitment.
    ``uncontrolled_w``: the site's own forecast load - PV (W). The index tuples
    name the site's devices in ``Problem.batteries`` / ``evs`` / ``heat_pumps``."""

    committed_w: np.ndarray  # (sites, steps)
    uncontrolled_w: np.ndarray  # (sites, steps)
    batteries: tuple[np.ndarray, ...]
    evs: tuple[np.ndarray, ...]
    heat_pumps: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return len(self.committed_w)


def heat_pump_cop(outdoor_c, flow_c: float = 35.0):
    """COP of an air-source heat pump: 45 % of Carnot at a 35 °C flow, clamped to [1.5, 5.5]
    (the simulator's model, ``assets.domain.devices.HeatPump.cop``)."""
    lift = np.maximum(flow_c - np.asarray(outdoor_c, float), 5.0)
    return np.clip(0.45 * (flow_c + 273.15) / lift, 1.5, 5.5)


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
    commitments: SiteCommitments | None = None
    # the peak import already billed this charging year (W): a capacity charge is set by the year's highest
    # peak, so only import above it costs ``capacity_charge_p_per_kw`` (then the full annual £/kW, in p)
    billed_peak_w: float | None = None
    # what the plan keeps below the billed peak for the demand it cannot foresee: a plan that imports exactly
    # the billed peak is exceeded by the first kettle, and each excess becomes next year's bill (PEAK_MARGIN_W)
    peak_margin_w: float = 0.0

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
    commitment_miss_wh: int = 0  # traded or VPP-committed energy the plan could not keep


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
    if np.ndim(h.cop) == 2 and np.shape(h.cop) != (len(h), T):
        raise ScheduleError(f"heat-pump COP has shape {np.shape(h.cop)} for {len(h)} heat pumps x {T} steps")
    if (np.asarray(h.cop) <= 0).any():
        raise ScheduleError("a heat pump's COP must be above zero")
    if b.fixed_w is not None and np.shape(b.fixed_w) != (len(b), T):
        raise ScheduleError(
            f"committed battery power has shape {np.shape(b.fixed_w)} for {len(b)} batteries x {T} steps"
        )
    c = p.commitments
    if c is not None:
        for name in ("committed_w", "uncontrolled_w"):
            if np.shape(getattr(c, name)) != (len(c), T):
                raise ScheduleError(f"site commitments' {name} has shape {np.shape(getattr(c, name))}")
        for name, n_ in (("batteries", len(b)), ("evs", len(e)), ("heat_pumps", len(h))):
            idx = getattr(c, name)
            if len(idx) != len(c) or any(len(i) and (np.min(i) < 0 or np.max(i) >= n_) for i in idx):
                raise ScheduleError(f"site commitments name {name} that are not in the problem")


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
    b_fixed = np.zeros((0, 2), dtype=np.int64)
    if nb and p.batteries.fixed_w is not None:
        b_fixed = np.argwhere(np.isfinite(np.asarray(p.batteries.fixed_w, float)))
    nf = len(b_fixed)
    fu = alloc("fixed_up", nf)  # deviation from a VPP-committed battery power, each way
    fd = alloc("fixed_down", nf)
    com = p.commitments
    c_pairs = np.zeros((0, 2), dtype=np.int64)
    if com is not None and len(com):
        cw = np.asarray(com.committed_w, float)
        c_pairs = np.argwhere(np.isfinite(cw) & (np.abs(cw) >= 1.0))
    nc = len(c_pairs)
    cm = alloc("commit_miss", nc)
    has_sp = bool(nh) and p.heat_pumps.setpoint_c is not None
    hb = alloc("below_setpoint", nh * T if has_sp else 0)

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
    if p.billed_peak_w is not None:
        # import up to the billed peak (less the margin for what the forecast misses) is already paid for
        lo[pk] = max(float(p.billed_peak_w) - max(float(p.peak_margin_w), 0.0), 0.0)
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
        if has_sp:
            c[hb : hb + nh * T] = PREFERENCE_P * dt
            # a home left below its setpoint at the end of the horizon must be heated back afterwards:
            # C / 3.6e6 kWh of heat per K, at the last step's COP, at the mean import price (as the batteries' end value)
            cop_end = np.broadcast_to(np.asarray(h.cop, float).reshape(nh, -1), (nh, T))[:, -1]
            c[hb + np.arange(nh) * T + (T - 1)] += h.c_j_per_k / 3.6e6 / cop_end * float(imp_price.mean())
    c[fu : fu + nf] = COMMITMENT_PENALTY_P * kwh
    c[fd : fd + nf] = COMMITMENT_PENALTY_P * kwh
    c[cm : cm + nc] = COMMITMENT_PENALTY_P * kwh

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
        cop = np.broadcast_to(np.asarray(h.cop, float).reshape(nh, -1), (nh, T))
        g = dts * cop / h.c_j_per_k[:, None]
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
        if has_sp:
            # T + below_setpoint >= the household's setpoint (held inside the band)
            row = r + ki * T + tt
            add(row, ht + ki * T + tt, 1.0)
            add(row, hb + ki * T + tt, 1.0)
            rlo.append(np.repeat(np.clip(h.setpoint_c, h.comfort_min_c, h.comfort_max_c), T))
            rhi.append(np.full(nh * T, np.inf))
            r += nh * T
    if nf:
        # a VPP event's battery power: charge - discharge + up - down = committed
        i_, t_ = b_fixed[:, 0], b_fixed[:, 1]
        row = r + np.arange(nf)
        add(row, bc + i_ * T + t_, 1.0)
        add(row, bd + i_ * T + t_, -1.0)
        add(row, fu + np.arange(nf), 1.0)
        add(row, fd + np.arange(nf), -1.0)
        fixed = np.asarray(p.batteries.fixed_w, float)[i_, t_]
        rlo.append(fixed)
        rhi.append(fixed)
        r += nf
    if nc:
        # a site's traded position: sold -> load - PV + its devices - miss <= committed (exports at least that);
        # bought -> load - PV + its devices + miss >= committed (imports at least that)
        s_, t_ = c_pairs[:, 0], c_pairs[:, 1]
        committed = cw[s_, t_]
        want = committed - np.asarray(com.uncontrolled_w, float)[s_, t_]
        sold = committed < 0
        rows0 = r + np.arange(nc)
        add(rows0, cm + np.arange(nc), np.where(sold, -1.0, 1.0))
        for site in np.unique(s_):
            k = np.flatnonzero(s_ == site)
            rk, tk = rows0[k], t_[k]
            for b_ in com.batteries[site]:
                add(rk, bc + int(b_) * T + tk, 1.0)
                add(rk, bd + int(b_) * T + tk, -1.0)
            for e_ in com.evs[site]:
                add(rk, ev + int(e_) * T + tk, 1.0)
            for h_ in com.heat_pumps[site]:
                add(rk, hp + int(h_) * T + tk, 1.0)
        rlo.append(np.where(sold, -np.inf, want))
        rhi.append(np.where(sold, want, np.inf))
        r += nc

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
    miss = (part("fixed_up", nf).sum() + part("fixed_down", nf).sum() + part("commit_miss", nc).sum()) * dt
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
        commitment_miss_wh=int(math.floor(miss + 0.5)) if miss > 0.5 else 0,
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


def _groups(key: np.ndarray, k: int, single: np.ndarray | None = None) -> list[np.ndarray]:
    """Split indices into at most ``k`` groups of similar ``key`` (quantile bins);
    the indices marked ``single`` (committed devices) each get a group of their own."""
    if len(key) == 0:
        return []
    single = np.zeros(len(key), dtype=bool) if single is None else np.asarray(single, dtype=bool)
    out = [np.array([i]) for i in np.flatnonzero(single)]
    rest = np.flatnonzero(~single)
    if len(rest):
        order = rest[np.argsort(np.asarray(key)[rest], kind="stable")]
        out.extend(g for g in np.array_split(order, min(k, len(order))) if len(g))
    return out


def _battery_groups(b: Batteries, k: int, single=None) -> tuple[Batteries, list[np.ndarray]]:
    frac = (b.stored_wh - b.reserve_wh) / np.maximum(b.capacity_wh, 1.0)
    groups = _groups(frac, k, single)
    fixed = None
    if b.fixed_w is not None:  # committed batteries are singletons: their group carries their commitment
        fixed = np.array([b.fixed_w[g[0]] if len(g) == 1 else np.full(b.fixed_w.shape[1], np.nan) for g in groups])
    agg = Batteries(
        capacity_wh=np.array([b.capacity_wh[g].sum() for g in groups]),
        stored_wh=np.array([b.stored_wh[g].sum() for g in groups]),
        reserve_wh=np.array([np.minimum(b.reserve_wh[g], b.stored_wh[g]).sum() for g in groups]),
        max_charge_w=np.array([b.max_charge_w[g].sum() for g in groups]),
        max_discharge_w=np.array([b.max_discharge_w[g].sum() for g in groups]),
        efficiency=np.array([np.average(b.efficiency[g], weights=b.capacity_wh[g] + 1e-9) for g in groups]),
        fixed_w=fixed,
    )
    return agg, groups


def _ev_groups(e: EVs, k: int, single=None) -> tuple[EVs, list[np.ndarray]]:
    single = np.zeros(len(e), dtype=bool) if single is None else np.asarray(single, dtype=bool)
    groups = [np.array([i]) for i in np.flatnonzero(single)]
    for step in np.unique(e.ready_step[~single]):
        same = np.flatnonzero((e.ready_step == step) & ~single)
        groups.extend(same[g] for g in _groups(e.need_wh[same] / np.maximum(e.max_w[same], 1.0), k))
    agg = EVs(
        max_w=np.array([e.max_w[g].sum() for g in groups]),
        need_wh=np.array([e.need_wh[g].sum() for g in groups]),
        ready_step=np.array([int(e.ready_step[g[0]]) for g in groups], dtype=int),
    )
    return agg, groups


def _hp_groups(h: HeatPumps, k: int, single=None) -> tuple[HeatPumps, list[np.ndarray]]:
    pos = (h.indoor_c - h.comfort_min_c) / np.maximum(h.comfort_max_c - h.comfort_min_c, 0.1)
    groups = _groups(pos, k, single)

    def wmean(x, g):
        return np.average(np.asarray(x)[g], axis=0, weights=h.c_j_per_k[g])

    agg = HeatPumps(
        rated_w=np.array([h.rated_w[g].sum() for g in groups]),
        indoor_c=np.array([wmean(h.indoor_c, g) for g in groups]),
        comfort_min_c=np.array([wmean(h.comfort_min_c, g) for g in groups]),
        comfort_max_c=np.array([wmean(h.comfort_max_c, g) for g in groups]),
        r_k_per_w=np.array([1.0 / (1.0 / h.r_k_per_w[g]).sum() for g in groups]),
        c_j_per_k=np.array([h.c_j_per_k[g].sum() for g in groups]),
        cop=np.array([wmean(h.cop, g) for g in groups]),
        setpoint_c=None if h.setpoint_c is None else np.array([wmean(h.setpoint_c, g) for g in groups]),
    )
    return agg, groups


def _committed(p: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the batteries, EVs and heat pumps the plan must keep individual:
    batteries with a VPP commitment and every device of a site with a traded position."""
    nb, ne, nh = len(p.batteries), len(p.evs), len(p.heat_pumps)
    mb, me, mh = np.zeros(nb, bool), np.zeros(ne, bool), np.zeros(nh, bool)
    if nb and p.batteries.fixed_w is not None:
        mb |= np.isfinite(np.asarray(p.batteries.fixed_w, float)).any(axis=1)
    c = p.commitments
    if c is not None and len(c):
        active = (np.isfinite(c.committed_w) & (np.abs(np.nan_to_num(c.committed_w)) >= 1.0)).any(axis=1)
        for site in np.flatnonzero(active):
            mb[np.asarray(c.batteries[site], dtype=int)] = True
            me[np.asarray(c.evs[site], dtype=int)] = True
            mh[np.asarray(c.heat_pumps[site], dtype=int)] = True
    return mb, me, mh


def _regroup(c: SiteCommitments | None, b_groups, e_groups, h_groups) -> SiteCommitments | None:
    """Site commitments with device indices mapped onto the groups (committed devices are singletons)."""
    if c is None:
        return None

    def mapper(groups):
        where = {int(g[0]): gi for gi, g in enumerate(groups) if len(g) == 1}
        return lambda idx: np.array([where[int(i)] for i in idx if int(i) in where], dtype=int)

    mb, me, mh = mapper(b_groups), mapper(e_groups), mapper(h_groups)
    return SiteCommitments(
        committed_w=c.committed_w,
        uncontrolled_w=c.uncontrolled_w,
        batteries=tuple(mb(i) for i in c.batteries),
        evs=tuple(me(i) for i in c.evs),
        heat_pumps=tuple(mh(i) for i in c.heat_pumps),
    )


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
    mb, me, mh = _committed(p)
    b_agg, b_groups = _battery_groups(p.batteries, groups, mb)
    e_agg, e_groups = _ev_groups(p.evs, groups, me) if ne else (EVs.empty(), [])
    h_agg, h_groups = _hp_groups(p.heat_pumps, groups, mh) if nh else (HeatPumps.empty(), [])
    agg = Problem(
        **{
            **{f: getattr(p, f) for f in p.__dataclass_fields__},
            "batteries": b_agg if nb else Batteries.empty(),
            "evs": e_agg,
            "heat_pumps": h_agg,
            "commitments": _regroup(p.commitments, b_groups, e_groups, h_groups),
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
            commitment_miss_wh=s.commitment_miss_wh,
        ),
        unplaced,
    )
