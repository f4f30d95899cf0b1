"""A typical weather year, hour by hour (8,760 h, non-leap, clock hours in UTC).

Temperature: SAP Table U1 monthly means for the region, interpolated between
mid-months, plus a diurnal swing (coolest 05:00, warmest 15:00) and a
day-to-day anomaly (AR(1), seeded) so that cold spells - what sets heat pump
peaks on a feeder - exist at all.  Wind: a Weibull(k=2) hub-height series with
winter/summer seasonality and hour-to-hour persistence.  Both deterministic for
a given seed.

Moved here from ``planning/domain/weather.py`` (which re-exports it) so the
planner and collective purchasing share one weather year.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

from .climate import DAYS_IN_MONTH, SAP_U1_TEMPERATURE_C

HOURS = 8760
DIURNAL_AMPLITUDE_C = 3.0
DAILY_ANOMALY_SD_C = 2.5
DAILY_ANOMALY_PERSISTENCE = 0.75


def month_of_hour() -> np.ndarray:
    """0-based month of each hour of the year."""
    return np.repeat(np.arange(12), np.array(DAYS_IN_MONTH) * 24)


def day_of_hour() -> np.ndarray:
    return np.arange(HOURS) // 24


def hour_of_day() -> np.ndarray:
    return np.arange(HOURS) % 24


def weekday_of_hour(first_weekday: int = 2) -> np.ndarray:
    """Monday=0; the model year starts on a Wednesday (as 2025 does)."""
    return (day_of_hour() + first_weekday) % 7


def _mid_month_interpolation(monthly: np.ndarray) -> np.ndarray:
    days = np.array(DAYS_IN_MONTH)
    starts = np.concatenate([[0], np.cumsum(days)[:-1]])
    mids = (starts + days / 2.0) * 24.0
    t = np.arange(HOURS) + 0.5
    # periodic interpolation across the year boundary
    xp = np.concatenate([[mids[-1] - HOURS], mids, [mids[0] + HOURS]])
    fp = np.concatenate([[monthly[-1]], monthly, [monthly[0]]])
    return np.interp(t, xp, fp)


@lru_cache(maxsize=32)
def hourly_temperature_c(region: int, seed: int = 2026) -> np.ndarray:
    monthly = np.array(SAP_U1_TEMPERATURE_C.get(region, SAP_U1_TEMPERATURE_C[0]), dtype=float)
    base = _mid_month_interpolation(monthly)
    h = hour_of_day()
    diurnal = DIURNAL_AMPLITUDE_C * np.cos(2 * np.pi * (h - 15) / 24.0)
    rng = np.random.default_rng(seed)
    n_days = HOURS // 24
    shocks = rng.normal(0.0, DAILY_ANOMALY_SD_C * np.sqrt(1 - DAILY_ANOMALY_PERSISTENCE**2), n_days)
    anomaly = np.empty(n_days)
    anomaly[0] = rng.normal(0.0, DAILY_ANOMALY_SD_C)
    for d in range(1, n_days):
        anomaly[d] = DAILY_ANOMALY_PERSISTENCE * anomaly[d - 1] + shocks[d]
    # keep the monthly means exactly as SAP states them
    months = month_of_hour()[::24]
    for m in range(12):
        sel = months == m
        anomaly[sel] -= anomaly[sel].mean()
    temp = base + diurnal + np.repeat(anomaly, 24)
    temp.setflags(write=False)
    return temp


@lru_cache(maxsize=32)
def hourly_wind_speed_ms(mean_speed_ms: float, seed: int = 2026) -> np.ndarray:
    """Hub-height wind speed with the given annual mean (Weibull k=2 marginals).

    Winter months windier than summer (UK: roughly +/-20 %), a small afternoon
    rise, and AR(1) persistence (phi=0.97/h: weather systems last a day or two).
    """
    if mean_speed_ms <= 0:
        raise ValueError("mean wind speed must be positive")
    rng = np.random.default_rng(seed)
    phi = 0.97
    z = np.empty(HOURS)
    z[0] = rng.normal()
    eps = rng.normal(0.0, np.sqrt(1 - phi**2), HOURS)
    for t in range(1, HOURS):
        z[t] = phi * z[t - 1] + eps[t]
    u = stats.norm.cdf(z)
    month = month_of_hour()
    seasonal = 1.0 + 0.2 * np.cos(2 * np.pi * (month + 0.5) / 12.0)  # peak in Dec/Jan
    diurnal = 1.0 + 0.05 * np.cos(2 * np.pi * (hour_of_day() - 15) / 24.0)
    k = 2.0
    weibull = stats.weibull_min.ppf(np.clip(u, 1e-9, 1 - 1e-9), k)
    speed = weibull * seasonal * diurnal
    speed *= mean_speed_ms / speed.mean()
    speed.setflags(write=False)
    return speed
