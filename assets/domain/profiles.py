"""Weather, PV output and household demand for the simulator and forecasts.

- PV: pvlib clear-sky (Ineichen with the Linke turbidity climatology that ships
  with pvlib, so it works offline), transposed to the panel plane (Hay-Davies),
  PVWatts DC model with a Faiman cell temperature, 14 % system losses, a 96 %
  inverter clipped at its AC rating. Clouds scale the plane-of-array
  irradiance by a clear-sky index from a seeded AR(1) process. Clear-sky alone
  gives ~1,600 kWh/kWp a year in the English Midlands (shared/REFERENCES.md:
  1,645 for Birmingham 35° S, ≈1.9x real); the cloud process is calibrated so
  the annual mean lands in the real UK range of 780-990 kWh/kWp.
- Demand: the BDEW 2025 household standard load profile `H25` from demandlib
  (15-minute, dynamised through the year), evaluated in Europe/London local
  time and scaled so that the profile integrates to the home's annual use
  (UK typical: 2,700 kWh). A seeded multiplicative AR(1) noise with mean 1
  makes homes differ minute to minute without changing their annual total in
  expectation.
- Outdoor temperature: a UK-like seasonal + diurnal cycle (mean 10.5 °C,
  January ≈ 4.5 °C, July ≈ 16.5 °C) plus AR(1) weather noise.
- Wind: a seeded AR(1) in log wind speed (mean ≈ 7 m/s at hub height) and a
  generic power curve (cut-in 3 m/s, rated 12 m/s, cut-out 25 m/s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

LONDON = "Europe/London"
_LONDON_TZ = ZoneInfo(LONDON)
SYSTEM_LOSSES = 0.14  # PVWatts default
INVERTER_EFFICIENCY = 0.96
GAMMA_PDC = -0.004  # per K, crystalline silicon


# --------------------------------------------------------------------------
# Seeded AR(1) processes
# --------------------------------------------------------------------------
class Ar1:
    """Ornstein-Uhlenbeck process sampled at arbitrary steps: stationary
    N(0, 1), correlation time ``tau_s``. Deterministic for a given seed and
    sequence of steps."""

    def __init__(self, *, tau_s: float, seed: int, start: float | None = None):
        self.tau_s = tau_s
        self.rng = np.random.default_rng(seed)
        self.z = float(self.rng.standard_normal()) if start is None else start

    def step(self, dt_s: float) -> float:
        phi = math.exp(-dt_s / self.tau_s)
        self.z = phi * self.z + math.sqrt(1.0 - phi * phi) * float(self.rng.standard_normal())
        return self.z

    def series(self, n: int, dt_s: float) -> np.ndarray:
        return np.array([self.step(dt_s) for _ in range(n)])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Cloudiness:
    """Clear-sky index k in [0.08, 1]: the fraction of clear-sky irradiance
    that reaches the panels. Mean ≈ 0.54, spells of cloud ~1.5 h."""

    K_MIN = 0.08
    OFFSET = 0.0
    SCALE = 1.8

    def __init__(self, *, seed: int, tau_s: float = 5400.0):
        self.process = Ar1(tau_s=tau_s, seed=seed)

    @classmethod
    def index(cls, z):
        return cls.K_MIN + (1.0 - cls.K_MIN) * _sigmoid(cls.OFFSET + cls.SCALE * np.asarray(z))

    def step(self, dt_s: float) -> float:
        return float(self.index(self.process.step(dt_s)))

    def series(self, n: int, dt_s: float) -> np.ndarray:
        return self.index(self.process.series(n, dt_s))


def outdoor_temp_mean_c(ts: datetime) -> float:
    """Seasonal + diurnal UK mean temperature (no noise)."""
    local = ts.astimezone(UTC)
    doy = local.timetuple().tm_yday
    hour = local.hour + local.minute / 60
    seasonal = 10.5 - 6.0 * math.cos(2 * math.pi * (doy - 20) / 365.25)
    diurnal = -3.0 * math.cos(2 * math.pi * (hour - 3) / 24)  # coldest ~03:00, warmest ~15:00
    return seasonal + diurnal


class OutdoorTemperature:
    def __init__(self, *, seed: int):
        self.noise = Ar1(tau_s=12 * 3600, seed=seed)

    def step(self, ts: datetime, dt_s: float) -> float:
        return outdoor_temp_mean_c(ts) + 2.5 * self.noise.step(dt_s)


class Wind:
    """Hub-height wind speed, m/s (log-normal-ish, mean ≈ 7)."""

    def __init__(self, *, seed: int, mean_ms: float = 7.0):
        self.noise = Ar1(tau_s=6 * 3600, seed=seed)
        self.mu = math.log(mean_ms) - 0.5 * 0.5**2

    def step(self, dt_s: float) -> float:
        return float(math.exp(self.mu + 0.5 * self.noise.step(dt_s)))


def wind_power_w(speed_ms: float, rated_w: int, *, cut_in=3.0, rated_ms=12.0, cut_out=25.0) -> int:
    if speed_ms < cut_in or speed_ms >= cut_out:
        return 0
    if speed_ms >= rated_ms:
        return rated_w
    frac = (speed_ms**3 - cut_in**3) / (rated_ms**3 - cut_in**3)
    return int(rated_w * frac)


# --------------------------------------------------------------------------
# PV
# --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PvArray:
    latitude: float
    longitude: float
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0  # 180 = south
    dc_w: int = 4000  # kWp * 1000
    inverter_w: int = 3680  # AC rating (UK G98 single-phase limit 3.68 kW)
    altitude_m: float = 100.0


def _pvlib():
    import pvlib  # imported lazily: 0.5 s

    return pvlib


def pv_clearsky_dc_w(array: PvArray, times: pd.DatetimeIndex, temp_air_c=12.0) -> np.ndarray:
    """DC output (after system losses) under clear sky, W, for UTC ``times``."""
    pvlib = _pvlib()
    loc = pvlib.location.Location(array.latitude, array.longitude, tz="UTC", altitude=array.altitude_m)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=sp)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    poa = (
        pvlib.irradiance.get_total_irradiance(
            array.tilt_deg,
            array.azimuth_deg,
            sp["apparent_zenith"],
            sp["azimuth"],
            cs["dni"],
            cs["ghi"],
            cs["dhi"],
            dni_extra=dni_extra,
            model="haydavies",
        )["poa_global"]
        .fillna(0.0)
        .clip(lower=0.0)
    )
    temp_cell = pvlib.temperature.faiman(poa, temp_air_c, wind_speed=2.0)
    dc = pvlib.pvsystem.pvwatts_dc(poa, temp_cell, array.dc_w, GAMMA_PDC)
    return np.clip(np.asarray(dc, dtype=float) * (1.0 - SYSTEM_LOSSES), 0.0, None)


def pv_ac_w(array: PvArray, dc_clearsky_w, clearsky_index) -> np.ndarray:
    """AC output, W (integer, >= 0), for clear-sky DC output and a clear-sky index."""
    ac = np.asarray(dc_clearsky_w) * np.asarray(clearsky_index) * INVERTER_EFFICIENCY
    return np.minimum(ac, array.inverter_w).astype(int)


@lru_cache(maxsize=512)
def _clearsky_day_per_watt(lat: float, lon: float, altitude_m: float, tilt: float, azimuth: float, day: date):
    times = pd.date_range(datetime(day.year, day.month, day.day, tzinfo=UTC), periods=1440, freq="1min")
    unit = PvArray(latitude=lat, longitude=lon, altitude_m=altitude_m, tilt_deg=tilt, azimuth_deg=azimuth, dc_w=1000)
    out = pv_clearsky_dc_w(unit, times) / 1000.0
    out.flags.writeable = False
    return out


def pv_clearsky_day(array: PvArray, day: date) -> np.ndarray:
    """Clear-sky DC output at 1-minute resolution for a UTC day (1,440 values).

    PVWatts' DC output is proportional to the array's rating, and the sun's path
    barely differs across a neighbourhood, so one curve per watt is computed per
    orientation and ~1 km cell (0.01°) and day, and scaled: the demo's 60 roofs cost
    a handful of pvlib runs a day, not sixty."""
    return _unit_day(array, day) * array.dc_w


def _unit_day(array: PvArray, day: date) -> np.ndarray:
    return _clearsky_day_per_watt(
        round(array.latitude, 2),
        round(array.longitude, 2),
        round(array.altitude_m, -1),
        float(array.tilt_deg),
        float(array.azimuth_deg),
        day,
    )


def pv_clearsky_at(array: PvArray, ts: datetime) -> float:
    ts = ts.astimezone(UTC)
    minute = ts.hour * 60 + ts.minute
    return float(_unit_day(array, ts.date())[minute]) * array.dc_w


# --------------------------------------------------------------------------
# Household demand (BDEW H25)
# --------------------------------------------------------------------------
UK_TYPICAL_ANNUAL_KWH = 2700


PROFILES = ("H25", "G25")  # BDEW household, BDEW commercial (for the school)


@lru_cache(maxsize=8)
def _slp_year(profile: str, year: int) -> tuple[datetime, np.ndarray]:
    """(UTC start, W per kWh/year at 15-min resolution) for a London calendar year.

    BDEW 2025 raw values are kW for 1 GWh/year. We normalise by the year's own
    integral so a site's annual total is exact for that year."""
    from demandlib import bdew

    if profile not in PROFILES:
        raise ValueError(f"unknown load profile {profile!r}; use one of {', '.join(PROFILES)}")
    idx = pd.date_range(
        pd.Timestamp(year, 1, 1, tz=LONDON), pd.Timestamp(year + 1, 1, 1, tz=LONDON), freq="15min", inclusive="left"
    )
    kw = np.asarray(getattr(bdew, profile)(idx), dtype=float)
    integral_kwh = kw.sum() * 0.25
    w_per_annual_kwh = kw * 1000.0 / integral_kwh
    w_per_annual_kwh.setflags(write=False)  # shared by every caller through the cache: nobody may change it
    return idx[0].tz_convert("UTC").to_pydatetime(), w_per_annual_kwh


def household_demand_mean_w(ts: datetime, annual_kwh: float, profile: str = "H25") -> float:
    """Expected demand, W, at ``ts`` for a site using ``annual_kwh`` a year."""
    local_year = ts.astimezone(_LONDON_TZ).year
    start, values = _slp_year(profile, local_year)
    slot = int((ts - start).total_seconds() // 900)
    slot = min(max(slot, 0), values.size - 1)
    return float(values[slot] * annual_kwh)


def household_demand_series_w(times: pd.DatetimeIndex, annual_kwh: float, profile: str = "H25") -> np.ndarray:
    return np.array([household_demand_mean_w(t.to_pydatetime(), annual_kwh, profile) for t in times])


class DemandNoise:
    """Multiplicative log-normal AR(1) noise with mean exactly 1."""

    def __init__(self, *, seed: int, sigma: float = 0.35, tau_s: float = 1200.0):
        self.sigma = sigma
        self.process = Ar1(tau_s=tau_s, seed=seed)

    def step(self, dt_s: float) -> float:
        return math.exp(self.sigma * self.process.step(dt_s) - 0.5 * self.sigma**2)


def daterange_utc(start: datetime, days: int, step: timedelta) -> pd.DatetimeIndex:
    n = int(days * 86400 // step.total_seconds())
    return pd.date_range(start, periods=n, freq=pd.Timedelta(step))
