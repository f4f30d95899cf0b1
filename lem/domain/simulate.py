"""Synthetic half-hourly meter data for demos and benchmarks (pure, seeded).

A home's load: a base load plus morning and evening peaks with noise; homes
with PV generate a clear-sky bell between sunrise and sunset scaled by a
per-day cloudiness; a wind turbine follows a generic power curve (cut-in 3
m/s, rated 12 m/s) of a wind speed that drifts by the hour around a
per-day mean. Net per period -> (import_wh, export_wh). Deterministic
for the same seed, site and time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Home:
    key: int  # stable id (seeds the noise)
    annual_kwh: int = 3100
    pv_kwp: float = 0.0
    wind_kw: float = 0.0  # a community turbine's rating


def homes(n: int, seed: int = 7, pv_share: float = 0.4) -> list[Home]:
    rng = np.random.default_rng(seed)
    return [
        Home(
            key=i,
            annual_kwh=int(rng.integers(1800, 4800)),
            pv_kwp=float(rng.choice([3.0, 3.6, 4.0, 5.0])) if rng.random() < pv_share else 0.0,
        )
        for i in range(n)
    ]


def _load_shape(hour: float) -> float:
    """Relative load by local hour (mean ~1)."""
    return 0.55 + 0.5 * math.exp(-((hour - 7.5) ** 2) / 2.0) + 1.1 * math.exp(-((hour - 18.5) ** 2) / 4.5)


_MEAN_SHAPE = sum(_load_shape(h / 2 + 0.25) for h in range(48)) / 48


def period_energy(home: Home, start_utc: datetime, minutes: int = 30, *, seed: int = 7) -> tuple[int, int]:
    """(import_wh, export_wh) of one home in [start, start + minutes)."""
    hour = start_utc.hour + start_utc.minute / 60 + minutes / 120 + 1  # ~UK summer time
    day = start_utc.toordinal()
    rng = np.random.default_rng([seed, home.key, day, start_utc.hour * 60 + start_utc.minute])
    mean_w = home.annual_kwh * 1000 / 8760
    load_wh = mean_w * _load_shape(hour) / _MEAN_SHAPE * minutes / 60 * float(rng.uniform(0.7, 1.3))
    pv_wh = 0.0
    if home.pv_kwp:
        cloud = float(np.random.default_rng([seed, home.key % 3, day]).uniform(0.35, 1.0))
        if 5.5 < hour < 21:
            pv_wh = home.pv_kwp * 1000 * 0.8 * math.sin(math.pi * (hour - 5.5) / 15.5) ** 1.5 * cloud * minutes / 60
    wind_wh = 0.0
    if home.wind_kw:
        day_mean = float(np.random.default_rng([seed, 41, day]).lognormal(math.log(6.5), 0.45))
        hourly = float(np.random.default_rng([seed, 43, day, start_utc.hour]).normal(0.0, 0.15))
        v = day_mean * math.exp(hourly)
        frac = 0.0 if v < 3.0 or v >= 25.0 else min(max((v**3 - 27.0) / (12.0**3 - 27.0), 0.0), 1.0)
        wind_wh = home.wind_kw * 1000 * frac * minutes / 60
    net = load_wh - pv_wh - wind_wh
    return (int(round(net)), 0) if net >= 0 else (0, int(round(-net)))
