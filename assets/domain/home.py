"""A simulated site: its devices behind one import/export meter.

The order of a step mirrors the physics: weather -> base demand and
generation -> flexible loads (heat pump, EV, controllable load) -> the
battery responds to what is left (self-consumption) -> the meter sees the
sum. Everything random comes from seeds, so a run is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import kinds
from .devices import Battery, ControllableLoad, EvCharger, Generator, HeatPump, Meter, Reply, SimDevice
from .payloads import Command
from .profiles import (
    INVERTER_EFFICIENCY,
    Cloudiness,
    DemandNoise,
    OutdoorTemperature,
    PvArray,
    Wind,
    household_demand_mean_w,
    pv_clearsky_at,
    wind_power_w,
)


class Weather:
    """One weather for the whole neighbourhood (homes are a few hundred metres
    apart: they see the same clouds)."""

    def __init__(self, *, seed: int):
        self.cloud = Cloudiness(seed=seed)
        self.temperature = OutdoorTemperature(seed=seed + 1)
        self.wind = Wind(seed=seed + 2)
        self.clearsky_index = 0.5
        self.outdoor_c = 10.0
        self.wind_ms = 6.0

    def step(self, now: datetime, dt_s: float) -> None:
        self.clearsky_index = self.cloud.step(dt_s)
        self.outdoor_c = self.temperature.step(now, dt_s)
        self.wind_ms = self.wind.step(dt_s)


@dataclass(frozen=True)
class SiteSpec:
    """What a site has. Device options are keyword arguments for the device
    classes in `devices` (e.g. ``battery={"capacity_wh": 13500}``)."""

    key: str
    latitude: float
    longitude: float
    seed: int
    annual_kwh: float = 2700.0
    profile: str = "H25"
    pv: PvArray | None = None
    wind_rated_w: int | None = None
    battery: dict | None = None
    ev: dict | None = None
    heat_pump: dict | None = None
    load: dict | None = None
    roles: tuple = field(default=())


class SimSite:
    def __init__(self, spec: SiteSpec):
        self.spec = spec
        self.noise = DemandNoise(seed=spec.seed)
        self.devices: dict[str, SimDevice] = {}
        if spec.pv is not None:
            self.devices[kinds.PV_INVERTER] = Generator(kind=kinds.PV_INVERTER, rated_w=spec.pv.inverter_w)
        if spec.wind_rated_w:
            self.devices[kinds.WIND_TURBINE] = Generator(kind=kinds.WIND_TURBINE, rated_w=spec.wind_rated_w)
        if spec.battery is not None:
            self.devices[kinds.BATTERY] = Battery(**spec.battery)
        if spec.ev is not None:
            self.devices[kinds.EV_CHARGER] = EvCharger(seed=spec.seed + 7, **spec.ev)
        if spec.heat_pump is not None:
            self.devices[kinds.HEAT_PUMP] = HeatPump(**spec.heat_pump)
        if spec.load is not None:
            self.devices[kinds.LOAD] = ControllableLoad(**spec.load)
        self.meter = Meter()
        self.base_w = 0.0
        self.wind_ms = 0.0

    def kinds(self) -> list[str]:
        return [kinds.SMART_METER, *self.devices]

    def step(self, now: datetime, dt_s: float, weather: Weather) -> None:
        spec = self.spec
        base = 0.0
        if spec.annual_kwh:
            base = household_demand_mean_w(now, spec.annual_kwh, spec.profile) * self.noise.step(dt_s)
        self.base_w = base
        net = base
        d = self.devices
        if kinds.HEAT_PUMP in d:
            net += d[kinds.HEAT_PUMP].step(now, dt_s, outdoor_c=weather.outdoor_c)
        if kinds.EV_CHARGER in d:
            net += d[kinds.EV_CHARGER].step(now, dt_s)
        if kinds.LOAD in d:
            net += d[kinds.LOAD].step(now, dt_s)
        if kinds.PV_INVERTER in d:
            avail = 0.0
            if spec.pv is not None:
                avail = pv_clearsky_at(spec.pv, now) * weather.clearsky_index * INVERTER_EFFICIENCY
            net += d[kinds.PV_INVERTER].step(now, dt_s, available_w=avail)
        self.wind_ms = weather.wind_ms
        if kinds.WIND_TURBINE in d:
            avail = wind_power_w(weather.wind_ms, spec.wind_rated_w or 0)
            net += d[kinds.WIND_TURBINE].step(now, dt_s, available_w=avail)
        if kinds.BATTERY in d:
            net += d[kinds.BATTERY].step(now, dt_s, home_net_w=net)
        self.meter.step(net, dt_s)

    def telemetry(self, kind: str) -> dict:
        if kind == kinds.SMART_METER:
            return self.meter.telemetry()
        out = self.devices[kind].telemetry()
        if kind == kinds.WIND_TURBINE:
            out["wind_ms"] = round(self.wind_ms, 1)
        return {k: v for k, v in out.items() if v is not None}

    def handle(self, kind: str, cmd: Command, now: datetime) -> Reply:
        if kind == kinds.SMART_METER:
            return Reply("rejected", "a smart meter accepts no commands")
        device = self.devices.get(kind)
        if device is None:
            return Reply("rejected", f"this site has no {kind}")
        return device.handle(cmd, now)
