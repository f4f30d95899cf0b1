"""Prices a segment's schedule is optimised against (pure; local times in, arrays out).

Defaults: a two-rate time-of-use import tariff (night 00:30-07:30 local) plus the
DUoS red-band adder on weekdays 16:00-19:00 local (seed 002 C.8: "DUoS might be
10p/kWh at peak (red band) times"), and a flat export price. All in p/kWh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np


@dataclass(frozen=True)
class Tariff:
    day_p: Decimal = Decimal("24.50")
    night_p: Decimal = Decimal("12.00")
    export_p: Decimal = Decimal("5.50")
    duos_red_p: Decimal = Decimal("10.00")
    night_start_min: int = 30  # minutes after local midnight
    night_end_min: int = 7 * 60 + 30
    red_start_min: int = 16 * 60
    red_end_min: int = 19 * 60


def red_band(local_times: list[datetime], tariff: Tariff = Tariff()) -> np.ndarray:
    m = np.array([t.hour * 60 + t.minute for t in local_times])
    weekday = np.array([t.weekday() < 5 for t in local_times], dtype=bool)
    return weekday & (m >= tariff.red_start_min) & (m < tariff.red_end_min)


def prices(local_times: list[datetime], tariff: Tariff = Tariff()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(import p/kWh incl. red-band DUoS, export p/kWh, red-band mask) per step start."""
    m = np.array([t.hour * 60 + t.minute for t in local_times])
    night = (m >= tariff.night_start_min) & (m < tariff.night_end_min)
    red = red_band(local_times, tariff)
    imp = np.where(night, float(tariff.night_p), float(tariff.day_p)) + np.where(red, float(tariff.duos_red_p), 0.0)
    return imp, np.full(len(local_times), float(tariff.export_p)), red
