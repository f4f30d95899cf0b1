"""Hourly shapes (8,760 values summing to 1) for demand, and heat pump COP.

- Electricity, homes: BDEW H25 standard household profile (demandlib), the
  best open profile that ships offline; it is German, with a winter-evening
  peak like Elexon profile class 1.  Non-domestic: BDEW G25.
- Space heat: heating degree-hours below 15.5 degC (the UK degree-day base)
  from the region's hourly temperature, weighted by an occupancy schedule
  (homes: full 06-09 and 16-23, set back otherwise; non-domestic: weekdays
  07-18).  Hot water: flat by season with morning and evening draws, 20 % of
  the heat of a home (the remainder is space heat).
- EV charging: 7 kW sessions after arrival; arrivals spread over 16:00-21:00
  (or all after midnight for smart charging), i.e. an after-diversity shape.
- Heat pump COP(T) from Staffell et al. (2012), per hour.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .reference import ASHP_COP_COEFFS, GSHP_COP_COEFFS
from .weather import HOURS, hour_of_day, hourly_temperature_c, month_of_hour, weekday_of_hour

HEATING_BASE_C = 15.5
DHW_SHARE_DOMESTIC = 0.20
DHW_SHARE_NON_DOMESTIC = 0.10


def _normalise(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    total = a.sum()
    out = a / total
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4)
def electricity_shape(domestic: bool) -> np.ndarray:
    from demandlib.bdew import G25, H25

    idx = pd.date_range("2025-01-01", periods=HOURS, freq="h")
    profile = H25(idx) if domestic else G25(idx)
    return _normalise(np.asarray(profile, dtype=float))


def _space_heat_weights(domestic: bool) -> np.ndarray:
    h = hour_of_day()
    if domestic:
        occupied = ((h >= 6) & (h < 9)) | ((h >= 16) & (h < 23))
        return np.where(occupied, 1.0, 0.35)
    weekday = weekday_of_hour() < 5
    occupied = weekday & (h >= 7) & (h < 18)
    return np.where(occupied, 1.0, 0.15)


def _dhw_weights(domestic: bool) -> np.ndarray:
    h = hour_of_day()
    month = month_of_hour()
    seasonal = 1.0 + 0.15 * np.cos(2 * np.pi * (month + 0.5) / 12.0)
    if domestic:
        daily = np.where((h >= 6) & (h < 9), 3.0, np.where((h >= 17) & (h < 22), 2.0, 0.4))
    else:
        daily = np.where((h >= 7) & (h < 18), 1.0, 0.1)
    return daily * seasonal


@lru_cache(maxsize=64)
def heat_shape(region: int, domestic: bool) -> np.ndarray:
    """Delivered heat (space + hot water) share of each hour."""
    temp = hourly_temperature_c(region)
    degree_hours = np.clip(HEATING_BASE_C - temp, 0.0, None) * _space_heat_weights(domestic)
    space = degree_hours / degree_hours.sum()
    dhw = _dhw_weights(domestic)
    dhw = dhw / dhw.sum()
    share = DHW_SHARE_DOMESTIC if domestic else DHW_SHARE_NON_DOMESTIC
    return _normalise((1 - share) * space + share * dhw)


def cop(delta_t_k: np.ndarray, coeffs: tuple[float, float, float]) -> np.ndarray:
    a, b, c = coeffs
    dt = np.clip(np.asarray(delta_t_k, dtype=float), 15.0, 80.0)
    return a + b * dt + c * dt * dt


@lru_cache(maxsize=64)
def ashp_cop(region: int, flow_temp_c: float) -> np.ndarray:
    out = cop(flow_temp_c - hourly_temperature_c(region), ASHP_COP_COEFFS)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def gshp_cop(ground_temp_c: float, flow_temp_c: float) -> np.ndarray:
    out = np.full(HOURS, float(cop(np.array([flow_temp_c - ground_temp_c]), GSHP_COP_COEFFS)[0]))
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def heat_pump_shape(
    region: int, domestic: bool, flow_temp_c: float, ground_temp_c: float | None
) -> tuple[np.ndarray, float]:
    """(electricity shape, seasonal COP) for one unit of delivered heat.

    The shape sums to 1/SCOP, so kWh_elec = heat_kWh * shape.
    """
    heat = heat_shape(region, domestic)
    c = ashp_cop(region, flow_temp_c) if ground_temp_c is None else gshp_cop(ground_temp_c, flow_temp_c)
    elec = heat / c
    scop = 1.0 / elec.sum()
    elec.setflags(write=False)
    return elec, float(scop)


@lru_cache(maxsize=8)
def ev_shape(charger_kw: float, daily_kwh: float, smart: bool) -> np.ndarray:
    """After-diversity charging shape of one EV (sums to 1)."""
    if smart:
        arrivals = {0: 0.5, 1: 0.5}
    else:
        arrivals = {16: 0.1, 17: 0.25, 18: 0.3, 19: 0.2, 20: 0.1, 21: 0.05}
    day = np.zeros(48)
    duration = daily_kwh / charger_kw  # hours at full power
    for start, weight in arrivals.items():
        remaining = duration
        h = start
        while remaining > 1e-9:
            step = min(1.0, remaining)
            day[h] += weight * step
            remaining -= step
            h += 1
    day = day[:24] + day[24:]
    return _normalise(np.tile(day, HOURS // 24))
