"""A private-wire estate under the controller, in simulation (no Django).

The same physics the simulator runs (``assets.domain.home``) and the same
controller code: ``domain.mpc`` re-planned every ``replan_every`` steps over 24 h,
``domain.corrective`` every step. Used by the demo (``demo.seed_history``: the
last week of the Orchard Road estate) and by ``bench.balancing`` (the estate's
avoided charges in £ per home per year, next to seed 002 C.8's ~£75).

Power in W, one row per step of ``step`` (5 minutes by default).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from assets.domain import kinds
from assets.domain.home import SimSite, SiteSpec, Weather
from assets.domain.payloads import Command
from assets.domain.profiles import INVERTER_EFFICIENCY, PvArray, household_demand_mean_w, pv_clearsky_dc_w
from vpp.balancing.domain import corrective, mpc
from vpp.balancing.domain import tariff as tariffs

LONDON = ZoneInfo("Europe/London")
MEAN_CLEARSKY_INDEX = 0.54  # as selectors.MEAN_CLEARSKY_INDEX (assets.domain.profiles.Cloudiness)
CAPACITY_GBP_PER_KW_YEAR = 50.0  # seed 002 C.8: TNUoS ~£50/kW p.a.


def estate_specs(
    homes: int = 20, *, seed: int = 11, latitude: float = 52.45, longitude: float = -1.93
) -> list[SiteSpec]:
    """Homes like the demo's Orchard Road estate: 3.2-4.4 kWp of PV, a 5 kW battery
    of 9.5 or 13.5 kWh with a 10-20 % reserve, 2,700 ± 600 kWh a year."""
    rng = np.random.default_rng(seed)
    out = []
    for h in range(homes):
        kwp = float(rng.choice([3.2, 3.6, 4.0, 4.4]))
        out.append(
            SiteSpec(
                key=f"home{h}",
                latitude=latitude,
                longitude=longitude,
                seed=1000 + h,
                annual_kwh=float(max(rng.normal(2700, 600), 1200)),
                pv=PvArray(
                    latitude=latitude,
                    longitude=longitude,
                    tilt_deg=35,
                    azimuth_deg=float(rng.choice([135, 180, 225])),
                    dc_w=int(kwp * 1000),
                    inverter_w=min(int(kwp * 900), 3680),
                ),
                battery=dict(
                    capacity_wh=int(rng.choice([9_500, 13_500])),
                    max_charge_w=5_000,
                    max_discharge_w=5_000,
                    round_trip_efficiency=0.9,
                    reserve_pct=float(rng.choice([10, 15, 20])),
                    soc_pct=50.0,
                ),
            )
        )
    return out


def forecasts(sims: list[SimSite], starts: list[datetime]) -> tuple[np.ndarray, np.ndarray]:
    """(load W, PV W) per step: each home's mean demand profile and clear-sky PV x the long-run index."""
    times = pd.DatetimeIndex([s + timedelta(minutes=7.5) for s in starts])
    load = np.zeros(len(starts))
    pv = np.zeros(len(starts))
    # PVWatts' DC output is proportional to the rating: one pvlib run per orientation, scaled
    # (the demo estate's 20 roofs: a few runs a re-plan, not 20)
    per_watt: dict[tuple, np.ndarray] = {}
    for sim in sims:
        spec = sim.spec
        load += np.array([household_demand_mean_w(t.to_pydatetime(), spec.annual_kwh) for t in times])
        if spec.pv is not None:
            a = spec.pv
            # as profiles.pv_clearsky_day: the sun's path per ~1 km cell (0.01°) and orientation
            cell = replace(a, latitude=round(a.latitude, 2), longitude=round(a.longitude, 2), dc_w=1000)
            key = (cell.latitude, cell.longitude, round(a.altitude_m, -1), a.tilt_deg, a.azimuth_deg)
            if key not in per_watt:
                per_watt[key] = pv_clearsky_dc_w(replace(cell, altitude_m=key[2]), times) / 1000.0
            pv += np.minimum(per_watt[key] * a.dc_w * MEAN_CLEARSKY_INDEX * INVERTER_EFFICIENCY, a.inverter_w)
    return load, pv


@dataclass
class Run:
    at: list[datetime]
    net_w: np.ndarray  # measured at the connection
    target_w: np.ndarray
    predicted_w: np.ndarray
    battery_w: np.ndarray
    pv_w: np.ndarray
    correction_w: np.ndarray
    at_limit: np.ndarray


def simulate(
    sims: list[SimSite],
    *,
    start: datetime,
    end: datetime,
    import_limit_w: int,
    export_limit_w: int,
    margin_w: int,
    objective: str = "cost",
    weather_seed: int = 99,
    step: timedelta = timedelta(minutes=5),
    replan_every: int = 36,
    control: bool = True,
) -> Run:
    """Step the estate from ``start`` to ``end``; with ``control`` False the batteries
    run their own self-consumption logic (the baseline)."""
    bats = [s.devices[kinds.BATTERY] for s in sims if kinds.BATTERY in s.devices]
    pvs = [s.devices[kinds.PV_INVERTER] for s in sims if kinds.PV_INVERTER in s.devices]
    weather = Weather(seed=weather_seed)
    imp, exp, margin = import_limit_w, export_limit_w, margin_w
    dt = step.total_seconds()
    rows: list[tuple] = []
    plan: mpc.Schedule | None = None
    plan_start = start
    t, k = start, 0
    billed_peak = 0.0
    quarter: list[int] = []
    while t < end:
        if control and k % replan_every == 0:
            q0 = t.replace(minute=t.minute - t.minute % 15, second=0, microsecond=0)
            starts = [q0 + i * timedelta(minutes=15) for i in range(96)]
            load, pv = forecasts(sims, starts)
            imp_p, exp_p, _ = tariffs.prices([s.astimezone(LONDON) for s in starts])
            problem = mpc.Problem(
                step_h=0.25,
                load_w=load,
                pv_w=pv,
                import_limit_w=np.full(96, float(imp - margin)),
                export_limit_w=np.full(96, float(exp - margin)),
                import_price_p=imp_p,
                export_price_p=exp_p,
                outdoor_c=np.full(96, 8.0),
                batteries=mpc.Batteries(
                    capacity_wh=np.array([b.capacity_wh for b in bats], float),
                    stored_wh=np.array([b.stored_wh for b in bats], float),
                    reserve_wh=np.array([b.reserve_wh for b in bats], float),
                    max_charge_w=np.array([b.max_charge_w for b in bats], float),
                    max_discharge_w=np.array([b.max_discharge_w for b in bats], float),
                    efficiency=np.array([b.eta for b in bats], float),
                ),
                objective=objective,
                # the year's capacity charge is set by its highest peak: import above the peak so far costs
                # the whole year's £/kW (services.schedule_inputs does the same from the control records)
                capacity_charge_p_per_kw=CAPACITY_GBP_PER_KW_YEAR * 100,
                billed_peak_w=billed_peak,
                peak_margin_w=mpc.PEAK_MARGIN_W,
            )
            plan, _ = mpc.solve_fleet(problem, groups=4, direct_limit=0)
            plan_start = q0
        t += step
        k += 1
        weather.step(t, dt)
        for sim in sims:
            sim.step(t, dt, weather)
        measured = int(sum(sim.meter.power_w for sim in sims))
        quarter = (quarter + [measured])[-int(900 // dt) or 1 :]
        billed_peak = max(billed_peak, float(np.mean(quarter)))  # quarter-hour average, as the KPIs measure
        target, predicted, correction, at_limit = measured, measured, 0, measured >= imp or -measured >= exp
        if control:
            i = min(int((t - plan_start).total_seconds() // 900), 95)
            target = int(plan.net_w[i]) if plan is not None else measured
            fleet = corrective.Fleet(
                setpoint_w=np.array([b.power_w for b in bats], float),
                max_charge_w=np.array([b.max_charge_w for b in bats], float),
                max_discharge_w=np.array([b.max_discharge_w for b in bats], float),
                stored_wh=np.array([b.stored_wh for b in bats], float),
                capacity_wh=np.array([b.capacity_wh for b in bats], float),
                reserve_wh=np.array([b.reserve_wh for b in bats], float),
                efficiency=np.array([b.eta for b in bats], float),
                available=np.ones(len(bats), bool),
            )
            r = corrective.correct(
                measured_net_w=measured,
                target_net_w=target,
                import_limit_w=imp,
                export_limit_w=exp,
                fleet=fleet,
                horizon_s=dt,
                margin_w=margin,
                deadband_w=500,
                peak_cap_w=billed_peak,
            )
            for b, new in zip(bats, r.setpoint_w.tolist(), strict=True):
                b.handle(Command(uuid.uuid4().hex, "set_power", {"power_w": int(new)}, t + 2 * step), t)
            target, predicted, correction, at_limit = r.target_w, r.predicted_net_w, r.correction_w, r.at_limit
        rows.append(
            (
                t,
                measured,
                target,
                predicted,
                int(sum(b.power_w for b in bats)),
                int(sum(max(-p.power_w, 0) for p in pvs)),
                correction,
                at_limit,
            )
        )
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 8
    return Run(
        at=list(cols[0]),
        net_w=np.array(cols[1], float),
        target_w=np.array(cols[2], float),
        predicted_w=np.array(cols[3], float),
        battery_w=np.array(cols[4], float),
        pv_w=np.array(cols[5], float),
        correction_w=np.array(cols[6], float),
        at_limit=np.array(cols[7], bool),
    )
