"""Simulated devices: physics, automatic behaviour and command handling.

Every device keeps cumulative energy counters (``import_wh`` taken,
``export_wh`` delivered; see `kinds` for the sign convention) and answers
commands with an ack status -- ``applied`` when it obeys, ``rejected`` with a
reason when the command is outside its limits, ``expired`` when its lease
(`valid_until`) has already passed. Commands are leases: when `valid_until`
passes the device returns to its automatic behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from . import kinds
from .payloads import Command

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class Reply:
    status: str  # applied | rejected | expired
    detail: str = ""


def _applied(detail: str = "") -> Reply:
    return Reply("applied", detail)


def _rejected(detail: str) -> Reply:
    return Reply("rejected", detail)


@dataclass
class Counters:
    import_wh: float = 0.0
    export_wh: float = 0.0

    def add(self, power_w: float, dt_s: float) -> None:
        e = power_w * dt_s / 3600.0
        if e >= 0:
            self.import_wh += e
        else:
            self.export_wh -= e


class SimDevice:
    kind = ""

    def __init__(self):
        self.counters = Counters()
        self.power_w = 0.0
        self.override: Command | None = None

    # -- commands ----------------------------------------------------------
    def handle(self, cmd: Command, now: datetime) -> Reply:
        if cmd.valid_until <= now:
            return Reply("expired", f"valid_until {cmd.valid_until.isoformat()} has passed")
        try:
            params = kinds.check_action(self.kind, cmd.action, cmd.params)
        except kinds.CommandError as exc:
            return _rejected(str(exc))
        return self.apply(cmd, params, now)

    def apply(self, cmd: Command, params: dict, now: datetime) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    def _lease(self, now: datetime) -> Command | None:
        if self.override is not None and self.override.valid_until <= now:
            self.override = None
        return self.override

    def _account(self, power_w: float, dt_s: float) -> None:
        self.power_w = power_w
        self.counters.add(power_w, dt_s)

    def telemetry(self) -> dict:
        return {
            "power_w": int(round(self.power_w)),
            "import_wh": int(self.counters.import_wh),
            "export_wh": int(self.counters.export_wh),
        }


# --------------------------------------------------------------------------
class Battery(SimDevice):
    """Home battery. Round-trip efficiency is split evenly between charging
    and discharging (sqrt each way). In automatic mode it does self-consumption:
    charge from surplus PV, discharge to cover the home's import, never below
    the household's reserve."""

    kind = kinds.BATTERY

    def __init__(
        self,
        *,
        capacity_wh=10_000,
        max_charge_w=5_000,
        max_discharge_w=5_000,
        round_trip_efficiency=0.90,
        reserve_pct=20.0,
        soc_pct=50.0,
    ):
        super().__init__()
        if not 0 < round_trip_efficiency <= 1:
            raise ValueError("round_trip_efficiency must be in (0, 1]")
        if not 0 <= reserve_pct <= 100:
            raise ValueError("reserve_pct must be within 0-100")
        self.capacity_wh = capacity_wh
        self.max_charge_w = max_charge_w
        self.max_discharge_w = max_discharge_w
        self.eta = math.sqrt(round_trip_efficiency)
        self.reserve_pct = reserve_pct
        self.stored_wh = capacity_wh * soc_pct / 100.0

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.stored_wh / self.capacity_wh

    @property
    def reserve_wh(self) -> float:
        return self.capacity_wh * self.reserve_pct / 100.0

    def apply(self, cmd, params, now):
        if cmd.action == "auto":
            self.override = None
            return _applied("back to self-consumption")
        p = params["power_w"]
        if p > self.max_charge_w:
            return _rejected(f"charge power {p} W exceeds the battery's {self.max_charge_w} W limit")
        if -p > self.max_discharge_w:
            return _rejected(f"discharge power {-p} W exceeds the battery's {self.max_discharge_w} W limit")
        if p < 0 and self.stored_wh <= self.reserve_wh + 1e-6:
            return _rejected(
                f"battery is at {self.soc_pct:.0f}%, at or below the household's {self.reserve_pct:.0f}% reserve"
            )
        if p > 0 and self.stored_wh >= self.capacity_wh - 1e-6:
            return _rejected("battery is full")
        self.override = cmd
        verb = "charging" if p > 0 else "discharging" if p < 0 else "holding"
        return _applied(f"{verb} at {abs(p)} W until {cmd.valid_until.isoformat()}")

    def feasible_power_w(self, request_w: float, dt_s: float) -> float:
        """Clamp a request (+charge / -discharge) to power and energy limits."""
        h = dt_s / 3600.0
        if request_w > 0:
            room_wh = max(self.capacity_wh - self.stored_wh, 0.0)
            return min(request_w, self.max_charge_w, room_wh / (self.eta * h) if h else request_w)
        if request_w < 0:
            avail_wh = max(self.stored_wh - self.reserve_wh, 0.0)
            return -min(-request_w, self.max_discharge_w, avail_wh * self.eta / h if h else -request_w)
        return 0.0

    def step(self, now: datetime, dt_s: float, *, home_net_w: float) -> float:
        """``home_net_w``: the home's net power without the battery (> 0 import)."""
        lease = self._lease(now)
        request = lease.params["power_w"] if lease is not None else -home_net_w
        p = self.feasible_power_w(request, dt_s)
        h = dt_s / 3600.0
        if p >= 0:
            self.stored_wh += p * h * self.eta
        else:
            self.stored_wh += p * h / self.eta
        self.stored_wh = min(max(self.stored_wh, 0.0), self.capacity_wh)
        self._account(p, dt_s)
        return p

    def telemetry(self):
        return {**super().telemetry(), "soc_pct": round(self.soc_pct, 1)}


# --------------------------------------------------------------------------
@dataclass
class Trip:
    depart: datetime
    arrive: datetime
    energy_wh: float


class EvCharger(SimDevice):
    """A 7.4 kW charger and the household's car. The car leaves on weekday
    mornings and comes back in the evening having used some energy; when
    plugged in it charges at full rate up to the target (dumb charging)
    unless commanded. Pausing is refused if the car could then no longer
    reach its target by the household's ready-by time."""

    kind = kinds.EV_CHARGER
    MIN_RATE_W = 1_400  # 6 A x 230 V: the lowest rate a charger can signal

    def __init__(
        self,
        *,
        seed: int,
        max_power_w=7_400,
        car_capacity_wh=60_000,
        target_pct=80.0,
        ready_by=time(7, 0),
        car_soc_pct=60.0,
        efficiency=0.92,
    ):
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.max_power_w = max_power_w
        self.car_capacity_wh = car_capacity_wh
        self.target_pct = target_pct
        self.ready_by = ready_by
        self.car_wh = car_capacity_wh * car_soc_pct / 100.0
        self.efficiency = efficiency
        self.plugged_in = True
        self.trip: Trip | None = None
        self._planned_day = None

    @property
    def car_soc_pct(self) -> float:
        return 100.0 * self.car_wh / self.car_capacity_wh

    def _plan_day(self, now: datetime) -> None:
        local = now.astimezone(LONDON)
        day = local.date()
        if self._planned_day == day:
            return
        self._planned_day = day
        self.trip = None
        p_trip = 0.85 if local.weekday() < 5 else 0.5
        if self.rng.random() < p_trip:
            dep_h = 7.0 + self.rng.random() * 2.0 if local.weekday() < 5 else 9.0 + self.rng.random() * 5.0
            dur_h = 8.5 + self.rng.standard_normal() * 1.0 if local.weekday() < 5 else 2.0 + self.rng.random() * 4.0
            km = float(np.clip(self.rng.lognormal(math.log(35), 0.5), 5, 250))
            base = datetime.combine(day, time(0, 0), tzinfo=LONDON)
            depart = base + timedelta(hours=dep_h)
            self.trip = Trip(depart, depart + timedelta(hours=max(dur_h, 0.5)), km * 170.0)  # 170 Wh/km

    def ready_by_after(self, now: datetime) -> datetime:
        local = now.astimezone(LONDON)
        rb = datetime.combine(local.date(), self.ready_by, tzinfo=LONDON)
        return rb if rb > local else rb + timedelta(days=1)

    def needed_wh(self) -> float:
        return max(self.car_capacity_wh * self.target_pct / 100.0 - self.car_wh, 0.0)

    def apply(self, cmd, params, now):
        if not self.plugged_in:
            return _rejected("no car is plugged in")
        if cmd.action == "resume":
            self.override = None
            return _applied("charging resumed")
        if cmd.action == "set_power":
            p = params["power_w"]
            if p > self.max_power_w:
                return _rejected(f"{p} W exceeds the charger's {self.max_power_w} W rating")
            if 0 < p < self.MIN_RATE_W:
                return _rejected(f"{p} W is below the lowest charging rate of {self.MIN_RATE_W} W (send 0 or pause)")
        rate = 0 if cmd.action == "pause" else params["power_w"]
        # Could the car still reach its target by ready-by?
        rb = self.ready_by_after(now)
        lease_end = min(cmd.valid_until, rb)
        hours_reduced = (lease_end - now).total_seconds() / 3600.0
        hours_full = max((rb - lease_end).total_seconds() / 3600.0, 0.0)
        reachable = (rate * hours_reduced + self.max_power_w * hours_full) * self.efficiency
        if reachable + 1e-6 < self.needed_wh():
            at = 100.0 * (self.car_wh + reachable) / self.car_capacity_wh
            return _rejected(
                f"the car would reach only {at:.0f}% by {rb.strftime('%H:%M')} "
                f"(household target {self.target_pct:.0f}%)"
            )
        self.override = cmd
        what = "paused" if rate == 0 else f"limited to {rate} W"
        return _applied(f"charging {what} until {cmd.valid_until.isoformat()}")

    def step(self, now: datetime, dt_s: float) -> float:
        self._plan_day(now)
        t = self.trip
        if t is not None and t.depart <= now < t.arrive:
            if self.plugged_in:
                self.plugged_in = False
                self.override = None
            self._account(0.0, dt_s)
            return 0.0
        if t is not None and now >= t.arrive and not self.plugged_in:
            self.car_wh = max(self.car_wh - t.energy_wh, self.car_capacity_wh * 0.05)
            self.plugged_in = True
            self.trip = None
        lease = self._lease(now)
        limit = self.max_power_w
        if lease is not None:
            limit = 0 if lease.action == "pause" else lease.params["power_w"]
        h = dt_s / 3600.0
        need = self.needed_wh()
        # the car's charge controller tapers the last few Wh below MIN_RATE_W
        p = min(limit, need / (self.efficiency * h)) if h and need > 0 else 0.0
        self.car_wh = min(self.car_wh + p * h * self.efficiency, self.car_capacity_wh)
        self._account(p, dt_s)
        return p

    def telemetry(self):
        out = {**super().telemetry(), "plugged_in": self.plugged_in}
        if self.plugged_in:
            out["ev_soc_pct"] = round(self.car_soc_pct, 1)
        return out


# --------------------------------------------------------------------------
class HeatPump(SimDevice):
    """Air-source heat pump heating a house modelled as one thermal resistance
    R (K/W, to outdoors) and one capacitance C (J/K):

        C dT/dt = (T_out - T) / R + Q_hp + Q_gains

    solved exactly over each step (so any step length is stable). The heat
    pump modulates between its minimum and rated electrical power to hold the
    setpoint; COP from 45 % of the Carnot COP at a 35 °C flow temperature,
    clamped to [1.5, 5.5]. Households set a comfort band; a setpoint shift
    outside it is refused."""

    kind = kinds.HEAT_PUMP

    def __init__(
        self,
        *,
        rated_w=3_000,
        min_w=600,
        r_k_per_w=1 / 180,
        c_j_per_k=1.2e7,
        comfort_min_c=18.0,
        comfort_max_c=22.0,
        setpoint_c=20.0,
        indoor_c=19.5,
        gains_w=300.0,
        flow_c=35.0,
    ):
        super().__init__()
        if not comfort_min_c <= setpoint_c <= comfort_max_c:
            raise ValueError("setpoint must lie within the comfort band")
        self.rated_w, self.min_w = rated_w, min_w
        self.r, self.c = r_k_per_w, c_j_per_k
        self.comfort_min_c, self.comfort_max_c = comfort_min_c, comfort_max_c
        self.base_setpoint_c = setpoint_c
        self.indoor_c = indoor_c
        self.gains_w = gains_w
        self.flow_c = flow_c
        self.outdoor_c = 10.0

    def cop(self, outdoor_c: float) -> float:
        lift = max(self.flow_c - outdoor_c, 5.0)
        return float(np.clip(0.45 * (self.flow_c + 273.15) / lift, 1.5, 5.5))

    def setpoint_c(self, now: datetime) -> float:
        lease = self._lease(now)
        if lease is not None:
            return self.base_setpoint_c + lease.params["delta_c"]
        return self.base_setpoint_c

    def apply(self, cmd, params, now):
        if cmd.action == "auto":
            self.override = None
            return _applied(f"setpoint back to {self.base_setpoint_c:.1f} °C")
        new = self.base_setpoint_c + params["delta_c"]
        if not self.comfort_min_c - 1e-9 <= new <= self.comfort_max_c + 1e-9:
            return _rejected(
                f"setpoint {new:.1f} °C is outside the household's comfort band "
                f"{self.comfort_min_c:.1f}-{self.comfort_max_c:.1f} °C"
            )
        self.override = cmd
        return _applied(f"setpoint {new:.1f} °C until {cmd.valid_until.isoformat()}")

    def step(self, now: datetime, dt_s: float, *, outdoor_c: float) -> float:
        self.outdoor_c = outdoor_c
        sp = self.setpoint_c(now)
        cop = self.cop(outdoor_c)
        tau = self.r * self.c
        a = math.exp(-dt_s / tau)
        # Heat that holds T at the setpoint at the end of the step:
        # T_end = T_eq + (T - T_eq) a  with  T_eq = T_out + R (Q + gains)
        t_eq_needed = (sp - self.indoor_c * a) / (1 - a)
        q_needed = (t_eq_needed - outdoor_c) / self.r - self.gains_w
        p = q_needed / cop
        p = 0.0 if p < self.min_w * 0.5 else float(np.clip(p, self.min_w, self.rated_w))
        t_eq = outdoor_c + self.r * (p * cop + self.gains_w)
        self.indoor_c = t_eq + (self.indoor_c - t_eq) * a
        self._account(p, dt_s)
        return p

    def telemetry(self):
        return {
            **super().telemetry(),
            "indoor_c": round(self.indoor_c, 2),
            "outdoor_c": round(self.outdoor_c, 1),
            "setpoint_c": round(self.base_setpoint_c, 1),
        }


# --------------------------------------------------------------------------
class Generator(SimDevice):
    """PV inverter or wind turbine: delivers what the weather gives, up to a
    curtailment limit when commanded."""

    def __init__(self, *, kind: str, rated_w: int):
        super().__init__()
        self.kind = kind
        self.rated_w = rated_w

    def apply(self, cmd, params, now):
        if cmd.action == "auto":
            self.override = None
            return _applied("curtailment lifted")
        self.override = cmd
        return _applied(f"output limited to {params['limit_w']} W until {cmd.valid_until.isoformat()}")

    def step(self, now: datetime, dt_s: float, *, available_w: float) -> float:
        lease = self._lease(now)
        out = min(max(available_w, 0.0), self.rated_w)
        if lease is not None:
            out = min(out, lease.params["limit_w"])
        self._account(-out, dt_s)
        return -out


# --------------------------------------------------------------------------
class ControllableLoad(SimDevice):
    """An immersion heater (or similar): needs ``daily_wh`` each day, runs at
    its rating from ``start`` local time until done. A pause defers the
    remaining energy; it is never lost."""

    kind = kinds.LOAD

    def __init__(self, *, rated_w=3_000, daily_wh=3_000, start=time(13, 0)):
        super().__init__()
        self.rated_w = rated_w
        self.daily_wh = daily_wh
        self.start = start
        self.remaining_wh = 0.0
        self._day = None

    def apply(self, cmd, params, now):
        if cmd.action == "resume":
            self.override = None
            return _applied("running as scheduled")
        self.override = cmd
        return _applied(f"paused until {cmd.valid_until.isoformat()} ({self.remaining_wh:.0f} Wh deferred)")

    def step(self, now: datetime, dt_s: float) -> float:
        local = now.astimezone(LONDON)
        if self._day != local.date() and local.time() >= self.start:
            self._day = local.date()
            self.remaining_wh += self.daily_wh
        lease = self._lease(now)
        p = 0.0
        if lease is None and self.remaining_wh > 0:
            h = dt_s / 3600.0
            p = min(self.rated_w, self.remaining_wh / h) if h else 0.0
            self.remaining_wh -= p * h
        self._account(p, dt_s)
        return p


# --------------------------------------------------------------------------
@dataclass
class Meter:
    """The site's import/export meter: the sum of everything behind it."""

    counters: Counters = field(default_factory=Counters)
    power_w: float = 0.0
    kind: str = kinds.SMART_METER

    def step(self, net_w: float, dt_s: float) -> None:
        self.power_w = net_w
        self.counters.add(net_w, dt_s)

    def telemetry(self):
        return {
            "power_w": int(round(self.power_w)),
            "import_wh": int(self.counters.import_wh),
            "export_wh": int(self.counters.export_wh),
        }
